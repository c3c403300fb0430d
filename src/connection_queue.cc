#include "connection_queue.h"

namespace esim {

void ConnectionQueue::enqueue(std::function<void()> connection) {
  std::lock_guard<std::mutex> lock(mutex_);
  queue_.push_back(std::move(connection));
  // A new thread only when the idle ones cannot take every waiting connection: threads stay
  // for later connections.
  if (queue_.size() > idle_ && threads_.size() < max_threads_ && !shutting_down_) {
    threads_.emplace_back([this] { Work(); });
  } else {
    wake_.notify_one();
  }
}

void ConnectionQueue::Work() {
  std::unique_lock<std::mutex> lock(mutex_);
  for (;;) {
    ++idle_;
    wake_.wait(lock, [this] { return shutting_down_ || !queue_.empty(); });
    --idle_;
    if (queue_.empty()) return;  // shutting down with nothing left
    std::function<void()> connection = std::move(queue_.front());
    queue_.pop_front();
    lock.unlock();
    connection();  // cpp-httplib serves the connection and closes its socket
    lock.lock();
  }
}

void ConnectionQueue::shutdown() {
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

}  // namespace esim
