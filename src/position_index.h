// A hash index from keys to positions (in a caller's vector) that stores no keys: the caller's
// items hold them already, so a lookup confirms each candidate against the item itself. A
// std::map<std::string, size_t> held a node and a copy of the key (~100 bytes) per item; this
// holds 8 bytes per slot, 1.25 to 2.5 slots per item. Several items may share a key: a lookup
// finds the one inserted first.
// Not thread safe (its owner guards it).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

namespace esim {

class PositionIndex {
 public:
  // The hash of a string key; any 64-bit hash of an integer key will do too.
  static uint64_t HashOf(std::string_view key);

  // Forgets every position; room for `expected` of them without growing.
  void Reset(size_t expected = 0);
  // Adds `position` (< 2^32 - 1) under `hash`; an earlier one with an equal key stays first.
  void Insert(uint64_t hash, size_t position);

  // The first inserted position under `hash` for which `is_match(position)` holds, i.e. whose
  // item really has the key: a hash collision never gives a wrong item.
  template <typename IsMatch>
  std::optional<size_t> Find(uint64_t hash, IsMatch&& is_match) const {
    if (slots_.empty()) return std::nullopt;
    const uint32_t tag = TagOf(hash);
    for (size_t at = tag & Mask();; at = (at + 1) & Mask()) {
      const Slot& slot = slots_[at];
      if (slot.position == kEmpty) return std::nullopt;
      if (slot.tag == tag && is_match(static_cast<size_t>(slot.position))) return slot.position;
    }
  }

  size_t size() const { return size_; }
  size_t capacity() const { return slots_.size(); }  // slots, for tests and measurements

 private:
  static constexpr uint32_t kEmpty = UINT32_MAX;
  struct Slot {
    // 32 bits of the mixed hash: the home slot (its low bits) on growing, without the key, and
    // a check that spares most mismatches the call of is_match.
    uint32_t tag = 0;
    uint32_t position = kEmpty;
  };
  // Mixed first: std::hash of an integer is the integer itself.
  static uint32_t TagOf(uint64_t hash);
  size_t Mask() const { return slots_.size() - 1; }
  static size_t SlotsFor(size_t count);
  void Grow();
  void Place(Slot slot);

  std::vector<Slot> slots_;  // open addressing, linear probing; 0 or 2^k (k <= 32) slots
  size_t size_ = 0;
};

}  // namespace esim
