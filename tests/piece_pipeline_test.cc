#include "piece_pipeline.h"

#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>

namespace esim {
namespace {

TEST(PiecePipelineTest, PiecesArriveWholeAndInOrderAcrossThreads) {
  PiecePipeline pipeline(2);
  std::string expected;
  for (int i = 0; i < 5000; ++i) expected += "piece " + std::to_string(i) + "\n";
  std::thread producer([&] {
    for (int i = 0; i < 5000; ++i) {
      std::string piece = "piece " + std::to_string(i) + "\n";
      ASSERT_TRUE(pipeline.Put(piece));
    }
    pipeline.Close();
  });
  std::string received, piece;
  while (pipeline.Take(piece)) received += piece;
  producer.join();
  EXPECT_EQ(received, expected);
  EXPECT_FALSE(pipeline.Take(piece));  // closed and drained stays so
}

TEST(PiecePipelineTest, TheProducerWaitsWhileDepthPiecesWait) {
  PiecePipeline pipeline(3);
  std::atomic<int> put{0};
  std::thread producer([&] {
    for (int i = 0; i < 10; ++i) {
      std::string piece = "x";
      if (!pipeline.Put(piece)) break;
      ++put;
    }
    pipeline.Close();
  });
  // Nothing is taken: the producer gets three pieces in and then waits.
  for (int i = 0; i < 200 && put < 3; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_EQ(put.load(), 3);
  std::string piece;
  int taken = 0;
  while (pipeline.Take(piece)) ++taken;
  producer.join();
  EXPECT_EQ(taken, 10);
  EXPECT_EQ(put.load(), 10);
}

TEST(PiecePipelineTest, StoppingReleasesAWaitingProducerAndRefusesMore) {
  PiecePipeline pipeline(1);
  std::string first = "first", second = "second", third = "third";
  ASSERT_TRUE(pipeline.Put(first));
  std::atomic<bool> second_put_result{true};
  std::thread producer([&] { second_put_result = pipeline.Put(second); });  // waits: full
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  pipeline.Stop();
  producer.join();
  EXPECT_FALSE(second_put_result.load());
  EXPECT_FALSE(pipeline.Put(third));
}

// The producer's buffers go round: handed over, not copied, and given back to write in again.
TEST(PiecePipelineTest, BuffersGoRoundWithoutACopy) {
  PiecePipeline pipeline(1);
  std::string written(100000, 'a'), taken;
  const char* first_buffer = written.data();
  ASSERT_TRUE(pipeline.Put(written));
  EXPECT_TRUE(written.empty());  // no spare yet: the producer makes its next buffer
  ASSERT_TRUE(pipeline.Take(taken));
  EXPECT_EQ(taken.data(), first_buffer);
  EXPECT_EQ(taken, std::string(100000, 'a'));
  written.assign(100000, 'b');
  ASSERT_TRUE(pipeline.Put(written));
  ASSERT_TRUE(pipeline.Take(taken));  // gives the first buffer back, gets the second
  written.assign(10, 'c');
  ASSERT_TRUE(pipeline.Put(written));  // leaves the producer the first buffer, given back above
  EXPECT_EQ(written.data(), first_buffer);
  EXPECT_EQ(written.size(), 100000u) << "as it was given back: the producer writes over it";
}

}  // namespace
}  // namespace esim
