#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "poll_schedule.h"

namespace esim {

// Each eSIM's poll progress as a state file gives it, held until the whole file is accepted.
// The keys lie back to back in one buffer: ~50 bytes an eSIM where a map of strings took ~130,
// which was 13 MB at the memory peak of a restart of 100,000 eSIMs.
class SavedProgress {
 public:
  void Add(std::string_view key, const PollSchedule::Progress& progress) {
    keys_.append(key);
    key_ends_.push_back(keys_.size());
    progress_.push_back(progress);
  }

  size_t size() const { return progress_.size(); }
  std::string_view KeyAt(size_t index) const {
    const size_t begin = index == 0 ? 0 : key_ends_[index - 1];
    return std::string_view(keys_).substr(begin, key_ends_[index] - begin);
  }
  const PollSchedule::Progress& ProgressAt(size_t index) const { return progress_[index]; }

 private:
  std::string keys_;
  std::vector<size_t> key_ends_;  // KeyAt(i) ends at key_ends_[i]
  std::vector<PollSchedule::Progress> progress_;
};

}  // namespace esim
