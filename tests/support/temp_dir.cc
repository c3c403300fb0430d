#include "temp_dir.h"

#include <stdlib.h>

#include <fstream>
#include <stdexcept>
#include <system_error>

namespace esim_test {

TempDir::TempDir() {
  std::string pattern = (std::filesystem::temp_directory_path() / "esim_test_XXXXXX").string();
  if (mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  path_ = pattern;
}

TempDir::~TempDir() {
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

std::string TempDir::Path(const std::string& name) const { return path_ + "/" + name; }

std::string TempDir::Write(const std::string& name, const std::string& content,
                           std::filesystem::perms mode) const {
  const std::string file = Path(name);
  std::ofstream(file, std::ios::binary | std::ios::trunc) << content;
  std::filesystem::permissions(file, mode);
  return file;
}

}  // namespace esim_test
