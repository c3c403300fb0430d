#include "local_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <system_error>

#include "text.h"

namespace esim {

namespace {

const char* FileKind(mode_t mode) {
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISFIFO(mode)) return "a FIFO (named pipe)";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISSOCK(mode)) return "a socket";
  return "not a plain file";
}

// Closes the descriptor on every way out.
class Descriptor {
 public:
  explicit Descriptor(int fd) : fd_(fd) {}
  ~Descriptor() {
    if (fd_ >= 0) ::close(fd_);
  }
  Descriptor(const Descriptor&) = delete;
  Descriptor& operator=(const Descriptor&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

}  // namespace

std::optional<LocalFile> ReadLocalFile(const std::string& path, size_t max_bytes,
                                       std::string& error) {
  // O_NONBLOCK: opening a FIFO without a writer (or a tty, or some devices) would otherwise
  // wait forever, holding up a reload and shutdown. Regular files ignore the flag.
  const Descriptor fd(::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY));
  if (fd.get() < 0) {
    error = ErrnoText(errno);
    return std::nullopt;
  }
  struct stat info {};
  if (::fstat(fd.get(), &info) != 0) {
    error = ErrnoText(errno);
    return std::nullopt;
  }
  if (!S_ISREG(info.st_mode)) {
    error = std::string("not a regular file but ") + FileKind(info.st_mode);
    return std::nullopt;
  }
  const std::string too_large = "larger than " + std::to_string(max_bytes) + " bytes";
  if (info.st_size > 0 && static_cast<unsigned long long>(info.st_size) > max_bytes) {
    error = too_large;
    return std::nullopt;
  }
  LocalFile file;
  file.mode = info.st_mode;
  // st_size is only a hint (a file may grow, /proc files say 0): read up to one byte past the
  // cap, so that a larger file is noticed without reading all of it.
  const size_t limit = max_bytes + 1;
  file.content.resize(std::min(limit, static_cast<size_t>(info.st_size) + 1));
  size_t used = 0;
  while (used < limit) {
    if (used == file.content.size()) file.content.resize(std::min(limit, used * 2 + 4096));
    const ssize_t n = ::read(fd.get(), file.content.data() + used, file.content.size() - used);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      error = ErrnoText(errno);
      return std::nullopt;
    }
    if (n == 0) break;
    used += static_cast<size_t>(n);
  }
  if (used > max_bytes) {
    error = too_large;
    return std::nullopt;
  }
  file.content.resize(used);
  return file;
}

}  // namespace esim
