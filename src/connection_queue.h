// How the HTTP server runs its connections: one thread per connection, reused when idle, up to
// a cap; past the cap connections wait in line. A fixed pool of a few threads lets a handful of
// clients that open connections and never send a request (each holding a thread until the read
// timeout) starve every real scrape; a thread each keeps a scrape answered at once while
// hundreds of such connections hang, and the cap bounds memory.
// Thread safe (cpp-httplib calls enqueue from its accept loop, shutdown from stop).
#pragma once

#include <httplib.h>

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace esim {

class ConnectionQueue : public httplib::TaskQueue {
 public:
  explicit ConnectionQueue(size_t max_threads) : max_threads_(max_threads) {}
  ~ConnectionQueue() override { shutdown(); }

  void enqueue(std::function<void()> connection) override;
  void shutdown() override;  // runs what is queued, then joins every thread

  size_t threads() const;

 private:
  void Work();

  const size_t max_threads_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::function<void()>> queue_;  // guarded by mutex_
  std::vector<std::thread> threads_;         // guarded by mutex_
  size_t idle_ = 0;                          // guarded by mutex_
  bool shutting_down_ = false;               // guarded by mutex_
};

}  // namespace esim
