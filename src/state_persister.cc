#include "state_persister.h"

#include "api_feedback.h"
#include "log.h"

namespace esim {

StatePersister::StatePersister(const StorageDir& dir, std::string file_name,
                               std::chrono::milliseconds interval, Encode encode)
    : dir_(dir),
      file_name_(std::move(file_name)),
      interval_(std::max(interval, std::chrono::milliseconds(100))),
      encode_(std::move(encode)) {}

StatePersister::~StatePersister() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void StatePersister::Start() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (thread_.joinable()) return;
  stopping_ = false;
  thread_ = std::thread([this] { Loop(); });
}

void StatePersister::Stop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
  WriteNow();
}

bool StatePersister::WriteNow() {
  std::lock_guard<std::mutex> lock(write_mutex_);
  std::string error;
  error = dir_.WriteAtomically(file_name_, encode_);
  if (!error.empty()) {
    failures_.fetch_add(1);
    if (!failing_) LogError("cannot write the durable state", {{"error", error}});
    failing_ = true;
    return false;
  }
  if (failing_) LogInfo("the durable state is written again", {{"file", dir_.File(file_name_)}});
  failing_ = false;
  last_success_.store(WallNow());
  return true;
}

void StatePersister::Loop() {
  std::unique_lock<std::mutex> lock(mutex_);
  while (!stopping_) {
    if (wake_.wait_for(lock, interval_, [this] { return stopping_; })) break;
    lock.unlock();
    WriteNow();
    lock.lock();
  }
}

}  // namespace esim
