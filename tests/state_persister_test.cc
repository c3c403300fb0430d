#include "state_persister.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <thread>

#include "state_file.h"
#include "storage_dir.h"
#include "temp_dir.h"

namespace esim {
namespace {

class StatePersisterTest : public ::testing::Test {
 protected:
  esim_test::TempDir dir_;
  const std::string root_ = dir_.path();
};

std::string Read(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

TEST_F(StatePersisterTest, WritesPeriodicallyAndOnStopWhileTheStateChanges) {
  StorageDir dir(root_);
  std::atomic<int> version{0};
  StatePersister persister(dir, "state.jsonl", std::chrono::milliseconds(100), [&](ByteSink& out) {
    out.Append("v" + std::to_string(version.load()) + "\n");
  });
  persister.Start();
  std::thread writer([&] {
    for (int i = 1; i <= 50; ++i) {
      version = i;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  });
  writer.join();
  std::this_thread::sleep_for(std::chrono::milliseconds(250));
  EXPECT_GT(persister.last_success_time(), 0);
  EXPECT_EQ(Read(dir.File("state.jsonl")), "v50\n");
  version = 51;
  persister.Stop();  // the clean-stop write
  EXPECT_EQ(Read(dir.File("state.jsonl")), "v51\n");
  EXPECT_EQ(persister.failures(), 0);
}

TEST_F(StatePersisterTest, FailuresAreCountedAndTheWriterKeepsTrying) {
  StorageDir dir(root_);
  std::atomic<bool> fail{true};
  StatePersister persister(dir, "state.jsonl", std::chrono::milliseconds(100), [&](ByteSink& out) {
    if (fail) throw std::runtime_error("boom");
    out.Append("ok\n");
  });
  EXPECT_FALSE(persister.WriteNow());
  EXPECT_FALSE(persister.WriteNow());
  EXPECT_EQ(persister.failures(), 2);
  EXPECT_EQ(persister.last_success_time(), 0);
  fail = false;
  EXPECT_TRUE(persister.WriteNow());
  EXPECT_GT(persister.last_success_time(), 0);
}

TEST_F(StatePersisterTest, ConcurrentWritesLeaveOneWholeFile) {
  StorageDir dir(root_);
  const std::string big(1 << 20, 'x');
  StatePersister persister(dir, "state.jsonl", std::chrono::milliseconds(100),
                           [&](ByteSink& out) { out.Append(big); });
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&] {
      for (int j = 0; j < 5; ++j) persister.WriteNow();
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(Read(dir.File("state.jsonl")).size(), big.size());
  EXPECT_EQ(persister.failures(), 0);
}

}  // namespace
}  // namespace esim
