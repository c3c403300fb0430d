// Where a state file's bytes go and come from, a piece at a time: the durable state of a large
// fleet is tens of MB, and neither the writer nor the reader should hold all of it in memory.
// A file (StorageDir) and a string (tests, the fuzzer, the small ledger) are both such places.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace esim {

// Receives bytes in order. Both calls throw std::runtime_error when the bytes cannot be kept
// (a full disk): the writer stops there.
class ByteSink {
 public:
  virtual ~ByteSink() = default;
  virtual void Append(std::string_view data) = 0;
  // Replaces bytes already appended, at `offset` (a header filled in once the body is known).
  virtual void Overwrite(uint64_t offset, std::string_view data) = 0;
};

class StringSink final : public ByteSink {
 public:
  explicit StringSink(std::string& out) : out_(out) {}
  void Append(std::string_view data) override { out_.append(data); }
  void Overwrite(uint64_t offset, std::string_view data) override {
    out_.replace(static_cast<size_t>(offset), data.size(), data);
  }

 private:
  std::string& out_;
};

// Bytes that can be read at any offset, more than once (the reader checks the whole file before
// it takes anything from it).
class ByteSource {
 public:
  virtual ~ByteSource() = default;
  virtual uint64_t Size() const = 0;
  // Copies up to `size` bytes from `offset` into `buffer`; returns how many (0 at the end).
  // Throws std::runtime_error when the bytes cannot be read.
  virtual size_t ReadAt(uint64_t offset, char* buffer, size_t size) const = 0;
};

class StringSource final : public ByteSource {
 public:
  explicit StringSource(std::string_view data) : data_(data) {}
  uint64_t Size() const override { return data_.size(); }
  size_t ReadAt(uint64_t offset, char* buffer, size_t size) const override {
    if (offset >= data_.size()) return 0;
    const size_t count = std::min<size_t>(size, data_.size() - static_cast<size_t>(offset));
    std::memcpy(buffer, data_.data() + offset, count);
    return count;
  }

 private:
  std::string_view data_;
};

}  // namespace esim
