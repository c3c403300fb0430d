// The periodic writer of the durable state: a thread of its own that, every interval and once
// more on Stop, has the file's content streamed (from immutable snapshots, so scrapes never
// wait for it) into a file that replaces the old one atomically in the storage directory.
// Thread safe.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "storage_dir.h"

namespace esim {

class StatePersister {
 public:
  // Writes the file's content to the sink, piece by piece; runs on the persister thread (or the
  // caller of WriteNow). Throwing fails the write (the old file stays).
  using Encode = StorageDir::Writer;

  StatePersister(const StorageDir& dir, std::string file_name, std::chrono::milliseconds interval,
                 Encode encode);
  ~StatePersister();

  void Start();
  // Stops the thread, then writes once more (the clean-stop write).
  void Stop();
  // Encodes and writes now, on the calling thread; false (logged, counted) on failure.
  bool WriteNow();

  double last_success_time() const { return last_success_.load(); }  // Unix s; 0: none
  int64_t failures() const { return failures_.load(); }
  // A write of another file of the directory failed (the budget ledger): counted here too.
  void CountFailure() { failures_.fetch_add(1); }

 private:
  void Loop();

  const StorageDir& dir_;
  const std::string file_name_;
  const std::chrono::milliseconds interval_;
  Encode encode_;
  std::mutex write_mutex_;  // one write at a time
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;  // guarded by mutex_
  bool failing_ = false;   // guarded by write_mutex_: log once per change
  std::atomic<double> last_success_{0};
  std::atomic<int64_t> failures_{0};
  std::thread thread_;
};

}  // namespace esim
