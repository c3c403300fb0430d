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
      const std::string piece = "piece " + std::to_string(i) + "\n";
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
      if (!pipeline.Put("x")) break;
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
  ASSERT_TRUE(pipeline.Put("first"));
  std::atomic<bool> second_put_result{true};
  std::thread producer([&] { second_put_result = pipeline.Put("second"); });  // waits: full
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  pipeline.Stop();
  producer.join();
  EXPECT_FALSE(second_put_result.load());
  EXPECT_FALSE(pipeline.Put("third"));
}

TEST(PiecePipelineTest, BuffersGivenBackAreReused) {
  PiecePipeline pipeline(1);
  std::string piece;
  ASSERT_TRUE(pipeline.Put(std::string(100000, 'a')));
  ASSERT_TRUE(pipeline.Take(piece));
  const char* first_buffer = piece.data();
  ASSERT_TRUE(pipeline.Put(std::string(100000, 'b')));
  ASSERT_TRUE(pipeline.Take(piece));  // gives the first buffer back, gets the second
  ASSERT_TRUE(pipeline.Put(std::string(100000, 'c')));  // written into the first buffer
  ASSERT_TRUE(pipeline.Take(piece));
  EXPECT_EQ(piece.data(), first_buffer);
  EXPECT_EQ(piece, std::string(100000, 'c'));
}

TEST(PiecePipelineTest, APieceComesWithTheRoomAskedForAroundIt) {
  PiecePipeline pipeline(1);
  ASSERT_TRUE(pipeline.Put("text", 18, 2));
  std::string piece;
  ASSERT_TRUE(pipeline.Take(piece));
  ASSERT_EQ(piece.size(), 18u + 4 + 2);
  EXPECT_EQ(piece.substr(18, 4), "text");
}

}  // namespace
}  // namespace esim
