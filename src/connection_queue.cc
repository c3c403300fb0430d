#include "connection_queue.h"

#include <exception>
#include <string>
#include <utility>

#include "log.h"

namespace esim {
namespace {

std::thread StartThread(std::function<void()> work) { return std::thread(std::move(work)); }

// 1, 2, 4, 8, ...: a flood of failures logs a few lines, not one per connection.
bool PowerOfTwo(uint64_t n) { return n != 0 && (n & (n - 1)) == 0; }

}  // namespace

ConnectionQueue::ConnectionQueue(size_t max_workers, size_t max_waiting,
                                 ThreadFactory thread_factory)
    : max_workers_(max_workers),
      max_waiting_(max_waiting),
      thread_factory_(thread_factory ? std::move(thread_factory) : ThreadFactory(StartThread)) {}

bool ConnectionQueue::Enqueue(std::function<void()> connection) {
  std::string failure;
  uint64_t failures = 0;
  bool accepted = false;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (shutting_down_) {
      ++refused_;
      return false;
    }
    queue_.push_back(std::move(connection));
    // Workers not busy with a connection (idle, or still starting) take queued ones first.
    const size_t free_workers = threads_.size() - busy_;
    if (queue_.size() <= free_workers) {
      wake_.notify_one();
      return true;
    }
    if (threads_.size() < max_workers_) {
      try {
        threads_.push_back(thread_factory_([this] { Work(); }));
        UpdateWaiting();
        return true;
      } catch (const std::exception& e) {
        // EAGAIN under TasksMax / RLIMIT_NPROC, or no memory for a stack: never fatal.
        failure = e.what();
        failures = ++thread_failures_;
      }
    }
    // No new worker: wait for a running one, when there is one and the line has room.
    accepted = !threads_.empty() && queue_.size() - (threads_.size() - busy_) <= max_waiting_;
    if (!accepted) {
      queue_.pop_back();
      ++refused_;
    }
    UpdateWaiting();
  }
  if (!failure.empty() && PowerOfTwo(failures)) {
    LogWarn("cannot start a thread for an HTTP connection; it waits for a busy one or is refused",
            {{"error", failure}, {"failures", std::to_string(failures)}});
  }
  return accepted;
}

void ConnectionQueue::Work() {
  std::unique_lock<std::mutex> lock(mutex_);
  for (;;) {
    wake_.wait(lock, [this] { return shutting_down_ || !queue_.empty(); });
    if (queue_.empty()) return;  // shutting down with nothing left
    std::function<void()> connection = std::move(queue_.front());
    queue_.pop_front();
    ++busy_;
    UpdateWaiting();
    lock.unlock();
    connection();  // serves the connection and closes its socket
    connection = nullptr;
    lock.lock();
    --busy_;
    UpdateWaiting();
  }
}

void ConnectionQueue::UpdateWaiting() {
  const size_t free_workers = threads_.size() - busy_;
  waiting_.store(queue_.size() > free_workers ? queue_.size() - free_workers : 0,
                 std::memory_order_relaxed);
}

void ConnectionQueue::Shutdown() {
  std::vector<std::thread> threads;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    shutting_down_ = true;
    threads.swap(threads_);
  }
  wake_.notify_all();
  for (auto& thread : threads) thread.join();
}

size_t ConnectionQueue::threads() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return threads_.size();
}

uint64_t ConnectionQueue::refused() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return refused_;
}

uint64_t ConnectionQueue::thread_failures() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return thread_failures_;
}

}  // namespace esim
