// The directory of --storage.path: created if missing, locked for this process (flock on
// DIR/lock, held until the process ends: a second exporter on the same directory is refused),
// checked writable, and the atomic file replacement every file in it goes through. Once locked,
// it clears what earlier processes left: temporary files of interrupted writes, and all but the
// newest moved-aside files of each state file.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>

#include "byte_stream.h"

namespace esim {

class StorageDir {
 public:
  // Creates `path` (and missing parents, mode 0750), takes the lock and checks that a file can
  // be written there. Throws std::runtime_error naming the directory when any of it fails,
  // including when another process holds the lock.
  explicit StorageDir(std::string path);
  ~StorageDir();
  StorageDir(const StorageDir&) = delete;
  StorageDir& operator=(const StorageDir&) = delete;

  const std::string& path() const { return path_; }
  std::string File(const std::string& name) const { return path_ + "/" + name; }

  // Replaces DIR/name with `content` atomically: a temporary file in DIR, fsync, rename, fsync
  // of DIR. A crash at any point leaves either the old file or the new one. Returns an empty
  // string on success, else what failed.
  std::string WriteAtomically(const std::string& name, const std::string& content) const;
  // The same, with the content streamed: `write` appends it to the temporary file through a
  // fixed buffer (a large state is never whole in memory). When `write` throws, the old file
  // stays and the temporary one is removed; the error says what `write` said.
  using Writer = std::function<void(ByteSink&)>;
  std::string WriteAtomically(const std::string& name, const Writer& write) const;

  // Bytes buffered before the temporary file is written to.
  static constexpr size_t kWriteBufferBytes = 1 << 20;

  // Moves DIR/name aside as DIR/name.bad-<unix seconds>; returns the new path ("" on failure).
  // Only the newest kKeptMovedAside of DIR/name.bad-* stay; older ones are removed.
  std::string MoveAside(const std::string& name, long long now) const;

  static constexpr size_t kKeptMovedAside = 3;

 private:
  // Removes temporary files of interrupted writes and prunes every name's moved-aside files.
  void RemoveLeftovers() const;
  // Keeps the newest kKeptMovedAside of DIR/name.bad-*, removing (and logging) the others.
  void PruneMovedAside(const std::string& name) const;

  std::string path_;
  int lock_fd_ = -1;
};

// A file opened for reading at any offset (the durable state, read twice without being held in
// memory); it stays the same file while open, even if it is replaced meanwhile.
class FileSource final : public ByteSource {
 public:
  FileSource() = default;
  ~FileSource() override;
  FileSource(const FileSource&) = delete;
  FileSource& operator=(const FileSource&) = delete;

  // False when it does not exist or cannot be opened (`error` says which).
  bool Open(const std::string& path, std::string& error, bool& missing);
  uint64_t Size() const override { return size_; }
  size_t ReadAt(uint64_t offset, char* buffer, size_t size) const override;

 private:
  std::string path_;
  int fd_ = -1;
  uint64_t size_ = 0;
};

// Reads a whole file; false when it does not exist or cannot be read (`error` says which).
bool ReadWholeFile(const std::string& path, std::string& content, std::string& error,
                   bool& missing);

}  // namespace esim
