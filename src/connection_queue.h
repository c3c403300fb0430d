// How the HTTP server runs its connections: a thread per connection being served, reused when
// idle, up to max_workers; past that, connections wait in line, up to max_waiting; past that,
// they are refused (the caller closes them). A fixed pool of a few threads lets a handful of
// clients that open connections and never finish a request starve every real scrape; a thread
// each keeps a scrape answered while many such connections hang, and both caps bound memory,
// file descriptors and tasks (the systemd unit's TasksMax).
// When the system refuses a new thread (std::system_error: EAGAIN under TasksMax or
// `ulimit -u`), the connection waits for a running worker, or is refused when there is none:
// the server degrades, it never aborts.
// Independent of cpp-httplib (web.cc adapts it to httplib::TaskQueue), so that it is tested alone.
// Thread safe (Enqueue from the accept loop, Shutdown from the server's stop).
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace esim {

// Starts a thread running `work`; throws std::system_error when the system has none to give.
using ThreadFactory = std::function<std::thread(std::function<void()> work)>;

class ConnectionQueue {
 public:
  ConnectionQueue(size_t max_workers, size_t max_waiting, ThreadFactory thread_factory = {});
  ~ConnectionQueue() { Shutdown(); }
  ConnectionQueue(const ConnectionQueue&) = delete;
  ConnectionQueue& operator=(const ConnectionQueue&) = delete;

  // Queues a connection. False when refused (the line is full, no worker could be started and
  // none runs, or shutting down): `connection` is then not kept, the caller closes the socket.
  bool Enqueue(std::function<void()> connection);
  // Runs what is queued, then joins every thread. Later Enqueue calls are refused.
  void Shutdown();

  size_t threads() const;
  uint64_t refused() const;
  uint64_t thread_failures() const;
  // Connections waiting for a worker (every worker is busy); lock-free, for the workers to
  // shorten their own patience while others wait.
  size_t waiting() const { return waiting_.load(std::memory_order_relaxed); }

 private:
  void Work();
  void UpdateWaiting();  // with mutex_ held

  const size_t max_workers_;
  const size_t max_waiting_;
  const ThreadFactory thread_factory_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::function<void()>> queue_;  // guarded by mutex_
  std::vector<std::thread> threads_;         // guarded by mutex_
  size_t busy_ = 0;                          // workers running a connection; guarded by mutex_
  bool shutting_down_ = false;               // guarded by mutex_
  uint64_t refused_ = 0;                     // guarded by mutex_
  uint64_t thread_failures_ = 0;             // guarded by mutex_
  std::atomic<size_t> waiting_{0};           // written with mutex_ held
};

}  // namespace esim
