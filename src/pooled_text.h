// An optional string that every holder of the same text shares: one pooled copy per distinct
// value, a pointer per holder. For the status texts a fleet repeats (operator, country, MCC,
// device model, SM-DP+ state, ...): eleven std::optional<std::string> cost 440 bytes in every
// record, and a record is copied on every poll.
// Reads like std::optional<std::string>. Thread safe like std::shared_ptr: copies on different
// threads are fine; a copy lives on while any holder does, and a value nobody holds any more
// leaves the pool.
#pragma once

#include <optional>
#include <ostream>
#include <string>
#include <string_view>

namespace esim {

class PooledText {
 public:
  PooledText() = default;
  PooledText(std::nullopt_t) {}  // NOLINT(google-explicit-constructor): reads like an optional
  // Implicit, so that parsers and tests assign strings and optionals as to an optional.
  PooledText(std::string_view text);  // NOLINT(google-explicit-constructor)
  PooledText(const std::string& text) : PooledText(std::string_view(text)) {}  // NOLINT
  PooledText(const char* text) : PooledText(std::string_view(text)) {}         // NOLINT
  PooledText(const std::optional<std::string>& text);  // NOLINT(google-explicit-constructor)
  PooledText(const PooledText& other) noexcept;
  PooledText(PooledText&& other) noexcept : entry_(other.entry_) { other.entry_ = nullptr; }
  PooledText& operator=(const PooledText& other) noexcept;
  PooledText& operator=(PooledText&& other) noexcept;
  ~PooledText() { reset(); }

  bool has_value() const { return entry_ != nullptr; }
  explicit operator bool() const { return has_value(); }
  const std::string& operator*() const { return value(); }
  const std::string* operator->() const { return &value(); }
  // Throws std::bad_optional_access when empty, like std::optional.
  const std::string& value() const;
  std::string value_or(std::string_view fallback) const {
    return has_value() ? value() : std::string(fallback);
  }
  std::optional<std::string> ToOptional() const {
    return has_value() ? std::optional<std::string>(value()) : std::nullopt;
  }
  void reset() noexcept;

  // The pool holds one entry per distinct text, so equal texts are the same entry.
  friend bool operator==(const PooledText& a, const PooledText& b) { return a.entry_ == b.entry_; }
  friend bool operator==(const PooledText& a, std::nullopt_t) { return !a.has_value(); }
  friend bool operator==(const PooledText& a, std::string_view b) {
    return a.has_value() && a.value() == b;
  }
  friend bool operator==(const PooledText& a, const std::string& b) {
    return a == std::string_view(b);
  }
  friend bool operator==(const PooledText& a, const char* b) { return a == std::string_view(b); }
  friend bool operator==(const PooledText& a, const std::optional<std::string>& b) {
    return b ? a == std::string_view(*b) : !a.has_value();
  }
  // For test failure messages, like gtest prints an optional.
  friend std::ostream& operator<<(std::ostream& out, const PooledText& text) {
    return text.has_value() ? out << '"' << text.value() << '"' : out << "(nullopt)";
  }

  // How many distinct texts are held: for tests.
  static size_t PoolSize();

  struct Entry;

 private:
  Entry* entry_ = nullptr;  // null: no value
};

}  // namespace esim
