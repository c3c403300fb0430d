#include "storage_dir.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <set>
#include <stdexcept>

#include "temp_dir.h"

namespace esim {
namespace {

using ::testing::HasSubstr;

class StorageDirTest : public ::testing::Test {
 protected:
  esim_test::TempDir dir_;
  const std::string root_ = dir_.path();
};

std::string Read(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

TEST_F(StorageDirTest, CreatesMissingDirectoriesAndWritesAtomically) {
  StorageDir dir(root_ + "/a/b/state/");
  EXPECT_EQ(dir.path(), root_ + "/a/b/state");
  EXPECT_TRUE(std::filesystem::is_directory(dir.path()));
  EXPECT_EQ(dir.WriteAtomically("x", "one"), "");
  EXPECT_EQ(Read(dir.File("x")), "one");
  EXPECT_EQ(dir.WriteAtomically("x", "two"), "");
  EXPECT_EQ(Read(dir.File("x")), "two");
  // No temporary file is left behind.
  size_t files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir.path())) {
    (void)entry;
    ++files;
  }
  EXPECT_EQ(files, 2u);  // lock, x
}

TEST_F(StorageDirTest, SecondHolderIsRefusedWithTheDirectoryNamed) {
  StorageDir first(root_);
  try {
    StorageDir second(root_);
    FAIL() << "a second lock on the same directory was granted";
  } catch (const std::runtime_error& e) {
    EXPECT_THAT(std::string(e.what()), HasSubstr(root_)) << e.what();
    EXPECT_THAT(std::string(e.what()), HasSubstr("another esim_exporter")) << e.what();
  }
}

TEST_F(StorageDirTest, LockIsReleasedWithTheObject) {
  { StorageDir first(root_); }
  EXPECT_NO_THROW(StorageDir second(root_));
}

TEST_F(StorageDirTest, PathUnderARegularFileIsAStartupErrorNamingIt) {
  std::ofstream(root_ + "/file") << "x";
  const std::string path = root_ + "/file/state";
  try {
    StorageDir dir(path);
    FAIL();
  } catch (const std::runtime_error& e) {
    EXPECT_THAT(std::string(e.what()), HasSubstr(path)) << e.what();
  }
  try {
    StorageDir dir(root_ + "/file");
    FAIL();
  } catch (const std::runtime_error& e) {
    EXPECT_THAT(std::string(e.what()), HasSubstr(root_ + "/file")) << e.what();
  }
}

TEST_F(StorageDirTest, UnwritableDirectoryIsRefused) {
  EXPECT_THROW(StorageDir("/proc/esim_exporter_state"), std::runtime_error);
}

TEST_F(StorageDirTest, MoveAsideKeepsTheFileUnderANewName) {
  StorageDir dir(root_);
  ASSERT_EQ(dir.WriteAtomically("state.jsonl", "bad"), "");
  const std::string aside = dir.MoveAside("state.jsonl", 1764547200);
  EXPECT_EQ(aside, dir.File("state.jsonl.bad-1764547200"));
  EXPECT_EQ(Read(aside), "bad");
  EXPECT_FALSE(std::filesystem::exists(dir.File("state.jsonl")));
  ASSERT_EQ(dir.WriteAtomically("state.jsonl", "bad again"), "");
  EXPECT_EQ(dir.MoveAside("state.jsonl", 1764547200), dir.File("state.jsonl.bad-1764547200-1"));
}

std::set<std::string> FileNames(const std::string& dir) {
  std::set<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    names.insert(entry.path().filename().string());
  }
  return names;
}

TEST_F(StorageDirTest, TemporaryFilesAKilledProcessLeftAreRemovedOnceLocked) {
  for (const char* name :
       {".state.jsonl.tmp-4242-0", ".budget-ops.jsonl.tmp-17-12", "..write-check.tmp-9-3",
        "state.jsonl", ".hidden", "notes.tmp-1-2", ".x.tmp-abc", ".y.tmp-1-"}) {
    std::ofstream(root_ + "/" + name) << "x";
  }
  testing::internal::CaptureStderr();
  { StorageDir dir(root_); }
  const std::string log = testing::internal::GetCapturedStderr();
  EXPECT_THAT(log, HasSubstr(".state.jsonl.tmp-4242-0"));
  // Only our own naming scheme goes: what an operator put there stays.
  EXPECT_EQ(FileNames(root_), (std::set<std::string>{"lock", "state.jsonl", ".hidden",
                                                     "notes.tmp-1-2", ".x.tmp-abc", ".y.tmp-1-"}));
}

TEST_F(StorageDirTest, OnlyTheNewestMovedAsideFilesOfEachNameAreKept) {
  for (const char* name :
       {"state.jsonl.bad-100", "state.jsonl.bad-200", "state.jsonl.bad-300",
        "state.jsonl.bad-300-1", "state.jsonl.bad-50", "budget.jsonl.bad-1", "state.jsonl.bad-x"}) {
    std::ofstream(root_ + "/" + name) << "x";
  }
  testing::internal::CaptureStderr();
  StorageDir dir(root_);
  const std::string log = testing::internal::GetCapturedStderr();
  EXPECT_THAT(log, HasSubstr("state.jsonl.bad-100"));
  EXPECT_THAT(log, HasSubstr("state.jsonl.bad-50"));
  EXPECT_EQ(FileNames(root_), (std::set<std::string>{"lock", "state.jsonl.bad-200",
                                                     "state.jsonl.bad-300", "state.jsonl.bad-300-1",
                                                     "budget.jsonl.bad-1", "state.jsonl.bad-x"}));

  // Each new one pushes the oldest out.
  ASSERT_EQ(dir.WriteAtomically("state.jsonl", "bad"), "");
  EXPECT_EQ(dir.MoveAside("state.jsonl", 400), dir.File("state.jsonl.bad-400"));
  EXPECT_EQ(FileNames(root_), (std::set<std::string>{"lock", "state.jsonl.bad-300",
                                                     "state.jsonl.bad-300-1", "state.jsonl.bad-400",
                                                     "budget.jsonl.bad-1", "state.jsonl.bad-x"}));
}

size_t FilesIn(const std::string& path) {
  size_t files = 0;
  for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator(path)) ++files;
  return files;
}

TEST_F(StorageDirTest, StreamedWriteGoesThroughTheBufferAndFillsInTheHeaderLast) {
  StorageDir dir(root_);
  std::string expected = "HEADER\n";
  const std::string piece(1000, 'p');
  for (int i = 0; i < 3000; ++i) expected += piece;  // ~3 buffers
  ASSERT_EQ(dir.WriteAtomically("state.jsonl",
                                [&piece](ByteSink& out) {
                                  out.Append("......\n");
                                  for (int i = 0; i < 3000; ++i) out.Append(piece);
                                  out.Append(std::string(StorageDir::kWriteBufferBytes + 5, 'q'));
                                  out.Overwrite(0, "HEADER");
                                }),
            "");
  expected += std::string(StorageDir::kWriteBufferBytes + 5, 'q');
  EXPECT_TRUE(Read(dir.File("state.jsonl")) == expected);
  EXPECT_EQ(FilesIn(root_), 2u);  // the lock and the file: no temporary file left
}

TEST_F(StorageDirTest, StreamedWriteThatThrowsMidwayLeavesTheOldFileAndNoTemporaryFile) {
  StorageDir dir(root_);
  ASSERT_EQ(dir.WriteAtomically("state.jsonl", "old\n"), "");
  const std::string error = dir.WriteAtomically("state.jsonl", [](ByteSink& out) {
    for (int i = 0; i < 3000; ++i) out.Append(std::string(1000, 'n'));  // some reached the disk
    throw std::runtime_error("encoder failed");
  });
  EXPECT_THAT(error, HasSubstr("encoder failed"));
  EXPECT_EQ(Read(dir.File("state.jsonl")), "old\n");
  EXPECT_EQ(FilesIn(root_), 2u);
}

// A disk that fills up midway (here: a file size limit, which fails write() as a full disk does).
TEST_F(StorageDirTest, StreamedWriteThatCannotBeStoredLeavesTheOldFileAndNoTemporaryFile) {
  StorageDir dir(root_);
  ASSERT_EQ(dir.WriteAtomically("state.jsonl", "old\n"), "");
  rlimit before{};
  ASSERT_EQ(::getrlimit(RLIMIT_FSIZE, &before), 0);
  const auto old_handler = std::signal(SIGXFSZ, SIG_IGN);
  rlimit limited = before;
  limited.rlim_cur = 2 * StorageDir::kWriteBufferBytes;
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &limited), 0);
  bool appended_all = false;
  const std::string error = dir.WriteAtomically("state.jsonl", [&](ByteSink& out) {
    for (int i = 0; i < 5000; ++i) out.Append(std::string(1000, 'n'));
    appended_all = true;
  });
  ::setrlimit(RLIMIT_FSIZE, &before);
  std::signal(SIGXFSZ, old_handler);
  EXPECT_FALSE(appended_all);  // the failing write stopped the writer
  EXPECT_THAT(error, HasSubstr("cannot write"));
  EXPECT_EQ(Read(dir.File("state.jsonl")), "old\n");
  EXPECT_EQ(FilesIn(root_), 2u);
}

TEST_F(StorageDirTest, FileSourceReadsAtAnyOffset) {
  StorageDir dir(root_);
  ASSERT_EQ(dir.WriteAtomically("f", "0123456789"), "");
  FileSource file;
  std::string error;
  bool missing = true;
  ASSERT_TRUE(file.Open(dir.File("f"), error, missing)) << error;
  EXPECT_FALSE(missing);
  EXPECT_EQ(file.Size(), 10u);
  char buffer[8] = {};
  EXPECT_EQ(file.ReadAt(7, buffer, sizeof buffer), 3u);
  EXPECT_EQ(std::string(buffer, 3), "789");
  EXPECT_EQ(file.ReadAt(10, buffer, sizeof buffer), 0u);
  FileSource none;
  EXPECT_FALSE(none.Open(dir.File("none"), error, missing));
  EXPECT_TRUE(missing);
}

TEST_F(StorageDirTest, ReadWholeFileTellsMissingFromUnreadable) {
  std::string content, error;
  bool missing = false;
  EXPECT_FALSE(ReadWholeFile(root_ + "/none", content, error, missing));
  EXPECT_TRUE(missing);
  std::ofstream(root_ + "/some") << "data";
  EXPECT_TRUE(ReadWholeFile(root_ + "/some", content, error, missing));
  EXPECT_EQ(content, "data");
}

}  // namespace
}  // namespace esim
