#include "storage_dir.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <optional>
#include <set>
#include <stdexcept>
#include <string_view>
#include <tuple>
#include <vector>

#include "log.h"
#include "text.h"

namespace esim {
namespace {

// Writes all of `data` to `fd`, retrying short writes and EINTR.
bool WriteAll(int fd, const char* data, size_t size) {
  while (size > 0) {
    const ssize_t written = ::write(fd, data, size);
    if (written < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    data += written;
    size -= static_cast<size_t>(written);
  }
  return true;
}

bool FsyncDir(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return false;
  const bool ok = ::fsync(fd) == 0;
  ::close(fd);
  return ok;
}

bool AllDigits(std::string_view text) {
  return !text.empty() &&
         std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// WriteAtomically's temporary files: ".<name>.tmp-<pid>-<n>".
bool IsTempFileName(std::string_view file) {
  const size_t tmp = file.rfind(".tmp-");
  if (file.empty() || file[0] != '.' || tmp == std::string_view::npos || tmp < 2) return false;
  const std::string_view numbers = file.substr(tmp + 5);
  const size_t dash = numbers.find('-');
  return dash != std::string_view::npos && AllDigits(numbers.substr(0, dash)) &&
         AllDigits(numbers.substr(dash + 1));
}

// A file MoveAside made: "<name>.bad-<seconds>" or "<name>.bad-<seconds>-<i>".
struct MovedAsideFile {
  std::string name;  // the state file it was
  long long seconds = 0;
  long long index = 0;
  std::string path;
};

std::optional<MovedAsideFile> ParseMovedAside(const std::string& file, const std::string& path) {
  const size_t bad = file.rfind(".bad-");
  if (bad == std::string::npos || bad == 0) return std::nullopt;
  const std::string suffix = file.substr(bad + 5);
  const size_t dash = suffix.find('-');
  const std::string seconds = suffix.substr(0, dash);
  const std::string index = dash == std::string::npos ? "0" : suffix.substr(dash + 1);
  if (!AllDigits(seconds) || !AllDigits(index) || seconds.size() > 18 || index.size() > 18) {
    return std::nullopt;
  }
  return MovedAsideFile{file.substr(0, bad), std::stoll(seconds), std::stoll(index), path};
}

}  // namespace

StorageDir::StorageDir(std::string path) : path_(std::move(path)) {
  while (path_.size() > 1 && path_.back() == '/') path_.pop_back();
  const std::string where = "storage directory " + path_ + ": ";
  if (path_.empty()) throw std::runtime_error("--storage.path is empty");
  std::error_code error;
  std::filesystem::create_directories(path_, error);
  if (error) throw std::runtime_error(where + "cannot create it: " + error.message());
  if (!std::filesystem::is_directory(path_, error)) {
    throw std::runtime_error(where + "exists but is not a directory");
  }
  ::chmod(path_.c_str(), 0750);  // best effort: a directory made by systemd/the image stays
  const std::string lock_path = File("lock");
  lock_fd_ = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0640);
  if (lock_fd_ < 0) {
    throw std::runtime_error(where + "cannot open its lock file " + lock_path + ": " +
                             ErrnoText(errno));
  }
  if (::flock(lock_fd_, LOCK_EX | LOCK_NB) != 0) {
    const bool busy = errno == EWOULDBLOCK;
    const std::string text = ErrnoText(errno);
    ::close(lock_fd_);
    lock_fd_ = -1;
    if (busy) {
      throw std::runtime_error(where + "another esim_exporter process uses it (lock held on " +
                               lock_path + "); give each exporter a directory of its own");
    }
    throw std::runtime_error(where + "cannot lock " + lock_path + ": " + text);
  }
  // The lock file says who holds it, for an operator who wonders.
  const std::string pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(lock_fd_, 0) == 0) (void)!::pwrite(lock_fd_, pid.data(), pid.size(), 0);
  RemoveLeftovers();
  // Writable: the same path every state write takes.
  if (const std::string failed = WriteAtomically(".write-check", "ok\n"); !failed.empty()) {
    ::close(lock_fd_);
    lock_fd_ = -1;
    throw std::runtime_error(where + "not writable: " + failed);
  }
  std::filesystem::remove(File(".write-check"), error);
}

StorageDir::~StorageDir() {
  if (lock_fd_ >= 0) ::close(lock_fd_);  // releases the flock
}

namespace {

// The temporary file of a write, through a fixed buffer.
class TempFileSink final : public ByteSink {
 public:
  TempFileSink(int fd, const std::string& path) : fd_(fd), path_(path) {
    buffer_.reserve(StorageDir::kWriteBufferBytes);
  }
  void Append(std::string_view data) override {
    if (buffer_.size() + data.size() > StorageDir::kWriteBufferBytes) Flush();
    if (data.size() >= StorageDir::kWriteBufferBytes) {
      Write(data.data(), data.size());
    } else {
      buffer_.append(data);
    }
  }
  void Overwrite(uint64_t offset, std::string_view data) override {
    Flush();
    const char* at = data.data();
    size_t left = data.size();
    while (left > 0) {
      const ssize_t written = ::pwrite(fd_, at, left, static_cast<off_t>(offset));
      if (written < 0) {
        if (errno == EINTR) continue;
        Fail();
      }
      at += written;
      offset += static_cast<uint64_t>(written);
      left -= static_cast<size_t>(written);
    }
  }
  void Flush() {
    Write(buffer_.data(), buffer_.size());
    buffer_.clear();
  }

 private:
  void Write(const char* data, size_t size) {
    if (!WriteAll(fd_, data, size)) Fail();
  }
  [[noreturn]] void Fail() const {
    throw std::runtime_error("cannot write " + path_ + ": " + ErrnoText(errno));
  }

  int fd_;
  const std::string& path_;
  std::string buffer_;
};

}  // namespace

std::string StorageDir::WriteAtomically(const std::string& name, const std::string& content) const {
  return WriteAtomically(name, [&content](ByteSink& out) { out.Append(content); });
}

std::string StorageDir::WriteAtomically(const std::string& name, const Writer& write) const {
  static std::atomic<unsigned> counter{0};
  const std::string target = File(name);
  const std::string temp = File("." + name + ".tmp-" + std::to_string(::getpid()) + "-" +
                                std::to_string(counter.fetch_add(1)));
  const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
  if (fd < 0) return "cannot create " + temp + ": " + ErrnoText(errno);
  try {
    TempFileSink sink(fd, temp);
    write(sink);
    sink.Flush();
  } catch (const std::exception& e) {
    ::close(fd);
    ::unlink(temp.c_str());
    const std::string what = e.what();
    // The sink's own errors name the file already; the writer's say what it was doing.
    return what.rfind("cannot write " + temp, 0) == 0 ? what : "cannot write " + temp + ": " + what;
  }
  if (::fsync(fd) != 0) {
    const std::string text = ErrnoText(errno);
    ::close(fd);
    ::unlink(temp.c_str());
    return "cannot fsync " + temp + ": " + text;
  }
  if (::close(fd) != 0) {
    const std::string text = ErrnoText(errno);
    ::unlink(temp.c_str());
    return "cannot close " + temp + ": " + text;
  }
  if (::rename(temp.c_str(), target.c_str()) != 0) {
    const std::string text = ErrnoText(errno);
    ::unlink(temp.c_str());
    return "cannot rename " + temp + " to " + target + ": " + text;
  }
  if (!FsyncDir(path_)) return "cannot fsync directory " + path_ + ": " + ErrnoText(errno);
  return "";
}

std::string StorageDir::MoveAside(const std::string& name, long long now) const {
  const std::string from = File(name);
  std::string to = from + ".bad-" + std::to_string(now);
  for (int i = 1; std::filesystem::exists(to) && i < 100; ++i) {
    to = from + ".bad-" + std::to_string(now) + "-" + std::to_string(i);
  }
  if (::rename(from.c_str(), to.c_str()) != 0) return "";
  PruneMovedAside(name);
  FsyncDir(path_);
  return to;
}

void StorageDir::RemoveLeftovers() const {
  // Under the lock no other process writes here: every temporary file is one a killed process
  // left mid-write, never to be renamed.
  std::error_code error;
  std::vector<std::string> temp_files;
  std::set<std::string> moved_aside_names;
  for (std::filesystem::directory_iterator it(path_, error), end; !error && it != end;
       it.increment(error)) {
    const std::string file = it->path().filename().string();
    if (IsTempFileName(file)) {
      temp_files.push_back(it->path().string());
    } else if (const auto aside = ParseMovedAside(file, it->path().string())) {
      moved_aside_names.insert(aside->name);
    }
  }
  for (const std::string& temp : temp_files) {
    std::error_code removed;
    if (std::filesystem::remove(temp, removed)) {
      LogInfo("removed a temporary file a killed process left in the storage directory",
              {{"file", temp}});
    }
  }
  for (const std::string& name : moved_aside_names) PruneMovedAside(name);
}

void StorageDir::PruneMovedAside(const std::string& name) const {
  std::vector<MovedAsideFile> files;
  std::error_code error;
  for (std::filesystem::directory_iterator it(path_, error), end; !error && it != end;
       it.increment(error)) {
    auto aside = ParseMovedAside(it->path().filename().string(), it->path().string());
    if (aside && aside->name == name) files.push_back(std::move(*aside));
  }
  if (files.size() <= kKeptMovedAside) return;
  // Newest first; each can be tens of MiB, and the volume may be a small emptyDir.
  std::sort(files.begin(), files.end(), [](const MovedAsideFile& a, const MovedAsideFile& b) {
    return std::tie(a.seconds, a.index) > std::tie(b.seconds, b.index);
  });
  for (size_t i = kKeptMovedAside; i < files.size(); ++i) {
    std::error_code removed;
    if (std::filesystem::remove(files[i].path, removed)) {
      LogInfo("removed an old moved-aside state file: only the newest are kept",
              {{"file", files[i].path}, {"kept", std::to_string(kKeptMovedAside)}});
    }
  }
}

FileSource::~FileSource() {
  if (fd_ >= 0) ::close(fd_);
}

bool FileSource::Open(const std::string& path, std::string& error, bool& missing) {
  missing = false;
  path_ = path;
  fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd_ < 0) {
    missing = errno == ENOENT;
    error = "cannot open " + path + ": " + ErrnoText(errno);
    return false;
  }
  struct stat info {};
  if (::fstat(fd_, &info) != 0) {
    error = "cannot read " + path + ": " + ErrnoText(errno);
    return false;
  }
  size_ = static_cast<uint64_t>(info.st_size);
  return true;
}

size_t FileSource::ReadAt(uint64_t offset, char* buffer, size_t size) const {
  for (;;) {
    const ssize_t got = ::pread(fd_, buffer, size, static_cast<off_t>(offset));
    if (got >= 0) return static_cast<size_t>(got);
    if (errno != EINTR) throw std::runtime_error("cannot read " + path_ + ": " + ErrnoText(errno));
  }
}

bool ReadWholeFile(const std::string& path, std::string& content, std::string& error,
                   bool& missing) {
  missing = false;
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    missing = errno == ENOENT;
    error = "cannot open " + path + ": " + ErrnoText(errno);
    return false;
  }
  content.clear();
  struct stat info {};
  if (::fstat(fd, &info) == 0 && info.st_size > 0)
    content.reserve(static_cast<size_t>(info.st_size));
  char buffer[1 << 16];
  for (;;) {
    const ssize_t got = ::read(fd, buffer, sizeof buffer);
    if (got < 0) {
      if (errno == EINTR) continue;
      error = "cannot read " + path + ": " + ErrnoText(errno);
      ::close(fd);
      return false;
    }
    if (got == 0) break;
    content.append(buffer, static_cast<size_t>(got));
  }
  ::close(fd);
  return true;
}

}  // namespace esim
