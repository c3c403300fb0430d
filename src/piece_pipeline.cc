#include "piece_pipeline.h"

#include <utility>

namespace esim {

bool PiecePipeline::Put(std::string_view piece, size_t head_room, size_t tail_room) {
  std::string buffer;
  {
    std::unique_lock<std::mutex> lock(mutex_);
    changed_.wait(lock, [this] { return stopped_ || waiting_.size() < depth_; });
    if (stopped_) return false;
    if (!spare_.empty()) {
      buffer = std::move(spare_.back());
      spare_.pop_back();
    }
  }
  // Outside the lock: the consumer goes on meanwhile.
  buffer.assign(head_room, '\0');
  buffer.append(piece);
  buffer.append(tail_room, '\0');
  std::lock_guard<std::mutex> lock(mutex_);
  if (stopped_) return false;
  waiting_.push_back(std::move(buffer));
  changed_.notify_all();
  return true;
}

void PiecePipeline::Close() {
  std::lock_guard<std::mutex> lock(mutex_);
  closed_ = true;
  changed_.notify_all();
}

bool PiecePipeline::Take(std::string& piece) {
  std::unique_lock<std::mutex> lock(mutex_);
  // A buffer worth keeping: one a piece was taken into, not an empty string's inline one.
  if (piece.capacity() > std::string().capacity() && spare_.size() < depth_) {
    piece.clear();
    spare_.push_back(std::move(piece));
  }
  piece = std::string();
  changed_.wait(lock, [this] { return closed_ || !waiting_.empty(); });
  if (waiting_.empty()) return false;
  piece = std::move(waiting_.front());
  waiting_.pop_front();
  changed_.notify_all();
  return true;
}

void PiecePipeline::Stop() {
  std::lock_guard<std::mutex> lock(mutex_);
  stopped_ = true;
  waiting_.clear();
  spare_.clear();
  changed_.notify_all();
}

}  // namespace esim
