#include "connection_queue.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <system_error>

namespace esim {
namespace {

TEST(ConnectionQueueTest, AHangingConnectionDoesNotDelayTheNextOne) {
  ConnectionQueue queue(64, 16);
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  // 40 connections that hang (as clients that never finish a request would).
  for (int i = 0; i < 40; ++i) EXPECT_TRUE(queue.Enqueue([released] { released.wait(); }));
  std::promise<void> served;
  auto served_future = served.get_future();
  EXPECT_TRUE(queue.Enqueue([&served] { served.set_value(); }));
  EXPECT_EQ(served_future.wait_for(std::chrono::seconds(5)), std::future_status::ready);
  EXPECT_EQ(queue.threads(), 41u);
  release.set_value();
  queue.Shutdown();
}

TEST(ConnectionQueueTest, ThreadsAreCappedAndTheRestWaitInLine) {
  ConnectionQueue queue(4, 100);
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::atomic<int> done{0};
  for (int i = 0; i < 20; ++i) {
    EXPECT_TRUE(queue.Enqueue([released, &done] {
      released.wait();
      ++done;
    }));
  }
  EXPECT_EQ(queue.threads(), 4u);
  release.set_value();
  queue.Shutdown();  // runs everything queued before joining
  EXPECT_EQ(done.load(), 20);
}

TEST(ConnectionQueueTest, PastTheLineConnectionsAreRefused) {
  ConnectionQueue queue(2, 3);
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::atomic<int> done{0};
  int accepted = 0;
  for (int i = 0; i < 10; ++i) {
    accepted += queue.Enqueue([released, &done] {
      released.wait();
      ++done;
    });
  }
  EXPECT_EQ(accepted, 5) << "2 served, 3 waiting";
  EXPECT_EQ(queue.refused(), 5u);
  release.set_value();
  queue.Shutdown();
  EXPECT_EQ(done.load(), 5);
  EXPECT_FALSE(queue.Enqueue([] {})) << "refused after Shutdown";
}

TEST(ConnectionQueueTest, IdleThreadsAreReused) {
  ConnectionQueue queue(64, 16);
  for (int i = 0; i < 10; ++i) {
    std::promise<void> finished;
    auto future = finished.get_future();
    queue.Enqueue([&finished] { finished.set_value(); });
    future.wait();
    // Give the worker a moment to become idle again before the next connection.
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_LE(queue.threads(), 2u);
  queue.Shutdown();
}

// What TasksMax=256 or `ulimit -u` does to std::thread: the constructor throws.
ThreadFactory FailingAfter(int successes, std::atomic<int>& attempts) {
  return [successes, &attempts](std::function<void()> work) {
    if (attempts++ >= successes) {
      throw std::system_error(std::make_error_code(std::errc::resource_unavailable_try_again),
                              "thread creation refused");
    }
    return std::thread(std::move(work));
  };
}

TEST(ConnectionQueueTest, NoThreadAtAllRefusesInsteadOfAborting) {
  std::atomic<int> attempts{0};
  ConnectionQueue queue(8, 8, FailingAfter(0, attempts));
  bool ran = false;
  EXPECT_FALSE(queue.Enqueue([&ran] { ran = true; }));
  EXPECT_FALSE(queue.Enqueue([&ran] { ran = true; }));
  EXPECT_EQ(queue.thread_failures(), 2u);
  EXPECT_EQ(queue.refused(), 2u);
  EXPECT_EQ(queue.threads(), 0u);
  queue.Shutdown();
  EXPECT_FALSE(ran);
}

TEST(ConnectionQueueTest, WhenThreadsRunOutConnectionsWaitForTheRunningOnes) {
  std::atomic<int> attempts{0};
  ConnectionQueue queue(8, 3, FailingAfter(2, attempts));
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::atomic<int> done{0};
  int accepted = 0;
  for (int i = 0; i < 10; ++i) {
    accepted += queue.Enqueue([released, &done] {
      released.wait();
      ++done;
    });
  }
  EXPECT_EQ(queue.threads(), 2u);
  EXPECT_EQ(accepted, 5) << "2 on the threads that started, 3 in line";
  EXPECT_GE(queue.thread_failures(), 1u);
  release.set_value();
  queue.Shutdown();
  EXPECT_EQ(done.load(), 5);
}

}  // namespace
}  // namespace esim
