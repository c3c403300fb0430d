// A fresh directory under the system's temporary directory for the files a test writes (secrets
// need exact permission bits, which a checkout does not keep); removed with everything in it
// when the test ends. Shared by unit and integration tests.
#pragma once

#include <filesystem>
#include <string>

namespace esim_test {

class TempDir {
 public:
  TempDir();  // throws std::runtime_error when no directory can be made
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  // path()/name.
  std::string Path(const std::string& name) const;
  // Writes `content` to path()/name with `mode` (default 0600) and returns the full path.
  std::string Write(const std::string& name, const std::string& content,
                    std::filesystem::perms mode = std::filesystem::perms::owner_read |
                                                  std::filesystem::perms::owner_write) const;

 private:
  std::string path_;
};

}  // namespace esim_test
