// A fresh directory for a unit test's files, removed with everything in it when the test ends.
#pragma once

#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <system_error>

namespace esim {

// A fresh directory for files a test writes (secrets need exact permission bits, which a checkout
// does not preserve); removed when the test ends.
class TempDir {
 public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "esim_test.XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  std::string Write(const std::string& name, const std::string& content,
                    std::filesystem::perms mode = std::filesystem::perms::owner_read |
                                                  std::filesystem::perms::owner_write) {
    const std::string file = Path(name);
    std::ofstream(file, std::ios::binary) << content;
    std::filesystem::permissions(file, mode);
    return file;
  }
  std::string Path(const std::string& name) const { return (path_ / name).string(); }
  std::string Dir() const { return path_.string(); }

 private:
  std::filesystem::path path_;
};

}  // namespace esim
