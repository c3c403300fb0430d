#include "local_file.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <future>
#include <string>

#include "temp_dir.h"

namespace esim {
namespace {

class LocalFileTest : public ::testing::Test {
 protected:
  std::string Write(const std::string& name, const std::string& content) const {
    const std::string path = dir_ + "/" + name;
    std::ofstream(path, std::ios::binary) << content;
    return path;
  }

  esim_test::TempDir temp_;
  const std::string dir_ = temp_.path();
};

TEST_F(LocalFileTest, ReadsARegularFileWithItsMode) {
  const std::string path = Write("config.yml", std::string("a: 1\n\0b", 7));
  ASSERT_EQ(::chmod(path.c_str(), 0640), 0);
  std::string error;
  const std::optional<LocalFile> file = ReadLocalFile(path, 1024, error);
  ASSERT_TRUE(file) << error;
  EXPECT_EQ(file->content, std::string("a: 1\n\0b", 7));
  EXPECT_EQ(file->mode & 07777, 0640u);
}

TEST_F(LocalFileTest, ReadsAnEmptyFile) {
  std::string error;
  const std::optional<LocalFile> file = ReadLocalFile(Write("empty", ""), 1024, error);
  ASSERT_TRUE(file) << error;
  EXPECT_EQ(file->content, "");
}

TEST_F(LocalFileTest, ReadsAFileOfExactlyTheCapAndRefusesOneByteMore) {
  std::string error;
  const std::optional<LocalFile> at_cap =
      ReadLocalFile(Write("at", std::string(5000, 'x')), 5000, error);
  ASSERT_TRUE(at_cap) << error;
  EXPECT_EQ(at_cap->content.size(), 5000u);
  const std::string secret = "s3cr3t-" + std::string(5000, 'y');
  EXPECT_FALSE(ReadLocalFile(Write("over", secret), 5000, error));
  EXPECT_EQ(error, "larger than 5000 bytes");
}

TEST_F(LocalFileTest, RefusesDevZeroWithoutReadingIt) {
  std::string error;
  const auto start = std::chrono::steady_clock::now();
  EXPECT_FALSE(ReadLocalFile("/dev/zero", 1 << 20, error));
  EXPECT_EQ(error, "not a regular file but a character device");
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(1));
}

// A FIFO nobody writes to: a blocking open or read would never return. The read runs on another
// thread so that a hang fails the test instead of hanging it; a writer then unblocks it.
TEST_F(LocalFileTest, RefusesAFifoWithoutWaitingForAWriter) {
  const std::string path = dir_ + "/fifo";
  ASSERT_EQ(::mkfifo(path.c_str(), 0600), 0);
  auto result = std::async(std::launch::async, [&path] {
    std::string error;
    const bool read = ReadLocalFile(path, 1024, error).has_value();
    return std::make_pair(read, error);
  });
  if (result.wait_for(std::chrono::seconds(10)) != std::future_status::ready) {
    // Let the blocked reader go (and reach EOF) so the test can finish, then fail.
    const int writer = ::open(path.c_str(), O_WRONLY | O_NONBLOCK);
    if (writer >= 0) ::close(writer);
    FAIL() << "ReadLocalFile blocked on a FIFO without a writer";
  }
  const auto [read, error] = result.get();
  EXPECT_FALSE(read);
  EXPECT_EQ(error, "not a regular file but a FIFO (named pipe)");
}

TEST_F(LocalFileTest, RefusesADirectory) {
  std::string error;
  EXPECT_FALSE(ReadLocalFile(dir_, 1024, error));
  EXPECT_EQ(error, "not a regular file but a directory");
}

TEST_F(LocalFileTest, ReportsAMissingFile) {
  std::string error;
  EXPECT_FALSE(ReadLocalFile(dir_ + "/absent", 1024, error));
  EXPECT_EQ(error, "No such file or directory");
}

// A path through a file: the errno text, whoever runs the test (root reads every file).
TEST_F(LocalFileTest, ReportsAPathThroughAFile) {
  std::string error;
  EXPECT_FALSE(ReadLocalFile(Write("plain", "x") + "/child", 1024, error));
  EXPECT_EQ(error, "Not a directory");
}

TEST_F(LocalFileTest, ReportsAFileItMayNotRead) {
  if (::geteuid() == 0) GTEST_SKIP() << "root reads every file";
  const std::string path = Write("locked", "x");
  ASSERT_EQ(::chmod(path.c_str(), 0000), 0);
  std::string error;
  EXPECT_FALSE(ReadLocalFile(path, 1024, error));
  EXPECT_EQ(error, "Permission denied");
}

TEST_F(LocalFileTest, FollowsASymlinkToARegularFile) {
  const std::string target = Write("target", "value\n");
  const std::string link = dir_ + "/link";
  ASSERT_EQ(::symlink(target.c_str(), link.c_str()), 0);
  std::string error;
  const std::optional<LocalFile> file = ReadLocalFile(link, 1024, error);
  ASSERT_TRUE(file) << error;
  EXPECT_EQ(file->content, "value\n");
}

TEST_F(LocalFileTest, RefusesASymlinkToAFifo) {
  const std::string fifo = dir_ + "/fifo";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  const std::string link = dir_ + "/link";
  ASSERT_EQ(::symlink(fifo.c_str(), link.c_str()), 0);
  std::string error;
  EXPECT_FALSE(ReadLocalFile(link, 1024, error));
  EXPECT_EQ(error, "not a regular file but a FIFO (named pipe)");
}

}  // namespace
}  // namespace esim
