#include "pooled_text.h"

#include <atomic>
#include <mutex>
#include <unordered_map>

namespace esim {

struct PooledText::Entry {
  explicit Entry(std::string_view value) : text(value) {}
  std::atomic<size_t> holders{1};
  const std::string text;
};

namespace {

// The distinct texts held, keyed by a view of each entry's own text. An entry is counted by its
// holders; the last one to let go removes it under the lock, so that a text looked up at the
// same moment either finds the entry still counted or makes a new one.
class Pool {
 public:
  PooledText::Entry* Acquire(std::string_view text) {
    const std::lock_guard lock(mutex_);
    const auto known = entries_.find(text);
    if (known != entries_.end()) {
      known->second->holders.fetch_add(1, std::memory_order_relaxed);
      return known->second;
    }
    auto* entry = new PooledText::Entry(text);
    entries_.emplace(entry->text, entry);
    return entry;
  }

  void Release(PooledText::Entry* entry) {
    // Not the last holder: no lock. The last holder's count can only rise again through
    // Acquire, which takes the lock: so the final decrement is made under it.
    size_t holders = entry->holders.load(std::memory_order_relaxed);
    while (holders > 1) {
      if (entry->holders.compare_exchange_weak(holders, holders - 1, std::memory_order_acq_rel)) {
        return;
      }
    }
    const std::lock_guard lock(mutex_);
    if (entry->holders.fetch_sub(1, std::memory_order_acq_rel) != 1) return;
    entries_.erase(entry->text);
    delete entry;
  }

  size_t Size() {
    const std::lock_guard lock(mutex_);
    return entries_.size();
  }

 private:
  std::mutex mutex_;
  std::unordered_map<std::string_view, PooledText::Entry*> entries_;
};

// Never destroyed: texts held by statics (and records still alive at exit) outlive any
// destruction order.
Pool& TheTextPool() {
  static auto* pool = new Pool();
  return *pool;
}

}  // namespace

PooledText::PooledText(std::string_view text) : entry_(TheTextPool().Acquire(text)) {}

PooledText::PooledText(const std::optional<std::string>& text)
    : entry_(text ? TheTextPool().Acquire(*text) : nullptr) {}

PooledText::PooledText(const PooledText& other) noexcept : entry_(other.entry_) {
  if (entry_ != nullptr) entry_->holders.fetch_add(1, std::memory_order_relaxed);
}

PooledText& PooledText::operator=(const PooledText& other) noexcept {
  if (entry_ == other.entry_) return *this;
  PooledText copy(other);
  std::swap(entry_, copy.entry_);
  return *this;
}

PooledText& PooledText::operator=(PooledText&& other) noexcept {
  if (this != &other) {
    reset();
    std::swap(entry_, other.entry_);
  }
  return *this;
}

const std::string& PooledText::value() const {
  if (entry_ == nullptr) throw std::bad_optional_access();
  return entry_->text;
}

void PooledText::reset() noexcept {
  if (entry_ == nullptr) return;
  TheTextPool().Release(entry_);
  entry_ = nullptr;
}

size_t PooledText::PoolSize() { return TheTextPool().Size(); }

}  // namespace esim
