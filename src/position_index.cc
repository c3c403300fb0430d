#include "position_index.h"

#include <algorithm>
#include <functional>
#include <stdexcept>

namespace esim {
namespace {

// Filled at most to 4/5: probes stay short (~3 slots per hit on average) while a fleet just
// above a power of two does not take twice the room.
constexpr size_t kLoadNumerator = 4, kLoadDenominator = 5;

}  // namespace

uint64_t PositionIndex::HashOf(std::string_view key) { return std::hash<std::string_view>{}(key); }

uint32_t PositionIndex::TagOf(uint64_t hash) {
  // splitmix64's finalizer.
  hash ^= hash >> 30;
  hash *= 0xbf58476d1ce4e5b9ULL;
  hash ^= hash >> 27;
  hash *= 0x94d049bb133111ebULL;
  hash ^= hash >> 31;
  return static_cast<uint32_t>(hash);
}

size_t PositionIndex::SlotsFor(size_t count) {
  size_t slots = 8;
  while (slots * kLoadNumerator < count * kLoadDenominator) slots *= 2;
  return slots;
}

void PositionIndex::Reset(size_t expected) {
  const size_t slots = expected == 0 ? 0 : SlotsFor(expected);
  if (slots == slots_.size()) {
    std::fill(slots_.begin(), slots_.end(), Slot{});
  } else {
    std::vector<Slot>(slots).swap(slots_);  // not assigned: that would keep a larger capacity
  }
  size_ = 0;
}

void PositionIndex::Insert(uint64_t hash, size_t position) {
  if (position >= kEmpty) throw std::length_error("PositionIndex: position out of range");
  if (SlotsFor(size_ + 1) > slots_.size()) Grow();
  Place(Slot{TagOf(hash), static_cast<uint32_t>(position)});
  ++size_;
}

void PositionIndex::Grow() {
  std::vector<Slot> old(SlotsFor(size_ + 1));
  old.swap(slots_);
  // Equal keys must keep their order: each run of full slots is re-placed from its start (the
  // slot after an empty one), where the first inserted of equal keys comes first.
  const auto empty = std::find_if(old.begin(), old.end(),
                                  [](const Slot& slot) { return slot.position == kEmpty; });
  const size_t start = static_cast<size_t>(empty - old.begin());
  for (size_t i = 0; i < old.size(); ++i) {
    const Slot& slot = old[(start + i) % old.size()];
    if (slot.position != kEmpty) Place(slot);
  }
}

void PositionIndex::Place(Slot slot) {
  size_t at = slot.tag & Mask();
  while (slots_[at].position != kEmpty) at = (at + 1) & Mask();
  slots_[at] = slot;
}

}  // namespace esim
