// A binary min-heap of small integer ids (0 to n-1) that can also remove any id it holds: what a
// priority queue with arbitrary removal needs, in 8 bytes per id where a std::set node took ~56.
// The order comes from the caller at each call (`less(a, b)`: id a comes before id b), read
// from the caller's own data; that data must not change for an id while the heap holds it.
// Not thread safe (its owner guards it).
#pragma once

#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

namespace esim {

class IndexedHeap {
 public:
  // Empty, for ids below `ids`.
  void Reset(size_t ids) {
    heap_.clear();
    heap_.reserve(ids);
    position_.assign(ids, kAbsent);
  }

  // Room for ids below `ids` too, keeping what it holds.
  void Grow(size_t ids) {
    if (ids > position_.size()) position_.resize(ids, kAbsent);
  }

  bool empty() const { return heap_.empty(); }
  size_t size() const { return heap_.size(); }
  bool contains(uint32_t id) const { return position_[id] != kAbsent; }
  // The first id in the order; the heap must not be empty.
  uint32_t top() const { return heap_.front(); }

  // Adds `id`, which the heap must not hold already.
  template <typename Less>
  void Push(uint32_t id, const Less& less) {
    heap_.push_back(id);
    position_[id] = static_cast<uint32_t>(heap_.size() - 1);
    SiftUp(heap_.size() - 1, less);
  }

  // Removes `id` if the heap holds it.
  template <typename Less>
  void Erase(uint32_t id, const Less& less) {
    if (!contains(id)) return;
    const size_t at = position_[id];
    position_[id] = kAbsent;
    const uint32_t last = heap_.back();
    heap_.pop_back();
    if (at == heap_.size()) return;  // it was the last one
    heap_[at] = last;
    position_[last] = static_cast<uint32_t>(at);
    SiftUp(at, less);
    SiftDown(position_[last], less);
  }

  template <typename Less>
  void Pop(const Less& less) {
    Erase(top(), less);
  }

 private:
  static constexpr uint32_t kAbsent = UINT32_MAX;

  template <typename Less>
  void SiftUp(size_t at, const Less& less) {
    while (at > 0) {
      const size_t parent = (at - 1) / 2;
      if (!less(heap_[at], heap_[parent])) return;
      Swap(at, parent);
      at = parent;
    }
  }

  template <typename Less>
  void SiftDown(size_t at, const Less& less) {
    for (;;) {
      size_t first = at;
      for (const size_t child : {2 * at + 1, 2 * at + 2}) {
        if (child < heap_.size() && less(heap_[child], heap_[first])) first = child;
      }
      if (first == at) return;
      Swap(at, first);
      at = first;
    }
  }

  void Swap(size_t a, size_t b) {
    std::swap(heap_[a], heap_[b]);
    position_[heap_[a]] = static_cast<uint32_t>(a);
    position_[heap_[b]] = static_cast<uint32_t>(b);
  }

  std::vector<uint32_t> heap_;      // ids, heap-ordered
  std::vector<uint32_t> position_;  // each id's index in heap_; kAbsent when not held
};

}  // namespace esim
