#include "connection_queue.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>

namespace esim {
namespace {

TEST(ConnectionQueueTest, AHangingConnectionDoesNotDelayTheNextOne) {
  ConnectionQueue queue(64);
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  // 40 connections that hang (as clients that never send a request would).
  for (int i = 0; i < 40; ++i) queue.enqueue([released] { released.wait(); });
  std::promise<void> served;
  auto served_future = served.get_future();
  queue.enqueue([&served] { served.set_value(); });
  EXPECT_EQ(served_future.wait_for(std::chrono::seconds(5)), std::future_status::ready);
  EXPECT_EQ(queue.threads(), 41u);
  release.set_value();
  queue.shutdown();
}

TEST(ConnectionQueueTest, ThreadsAreCappedAndTheRestWaitInLine) {
  ConnectionQueue queue(4);
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::atomic<int> done{0};
  for (int i = 0; i < 20; ++i) {
    queue.enqueue([released, &done] {
      released.wait();
      ++done;
    });
  }
  EXPECT_EQ(queue.threads(), 4u);
  release.set_value();
  queue.shutdown();  // runs everything queued before joining
  EXPECT_EQ(done.load(), 20);
}

TEST(ConnectionQueueTest, IdleThreadsAreReused) {
  ConnectionQueue queue(64);
  for (int i = 0; i < 10; ++i) {
    std::promise<void> finished;
    auto future = finished.get_future();
    queue.enqueue([&finished] { finished.set_value(); });
    future.wait();
    // Give the worker a moment to become idle again before the next connection.
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_LE(queue.threads(), 2u);
  queue.shutdown();
}

}  // namespace
}  // namespace esim
