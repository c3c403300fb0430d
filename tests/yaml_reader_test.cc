#include "yaml_reader.h"

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace esim {
namespace {

// A reader of a YAML text, to reach the protected readers; throws std::runtime_error.
class TestReader : public YamlReader {
 public:
  explicit TestReader(std::string path) : YamlReader(std::move(path), "url") {}

  using YamlReader::ForEachField;
  using YamlReader::ParseYaml;
  using YamlReader::PathValue;
  using YamlReader::Text;

  // The message of the error that parsing `text` with `fields` at the top level throws.
  std::string ErrorOf(const std::string& text, const std::vector<Field>& fields) {
    try {
      ParseYaml(text, [&](const YAML::Node& root) { ForEachField(root, "", fields); });
    } catch (const std::runtime_error& e) {
      return e.what();
    }
    return "";
  }

 private:
  std::exception_ptr MakeError(const std::string& message) const override {
    return std::make_exception_ptr(std::runtime_error(message));
  }
};

TEST(YamlReaderTest, EditDistanceCountsEdits) {
  EXPECT_EQ(EditDistance("", ""), 0u);
  EXPECT_EQ(EditDistance("interval", "interval"), 0u);
  EXPECT_EQ(EditDistance("interva", "interval"), 1u);
  EXPECT_EQ(EditDistance("kitten", "sitting"), 3u);
  EXPECT_EQ(EditDistance("", "abc"), 3u);
}

TEST(YamlReaderTest, UnknownKeyMessageSuggestsOnlyCloseMatches) {
  EXPECT_EQ(UnknownKeyMessage("interva", "poll", {"interval", "stale_after"}),
            "unknown key \"interva\" in poll; did you mean \"interval\"? allowed keys: interval, "
            "stale_after");
  // Case is ignored for the suggestion, not for the key.
  EXPECT_EQ(UnknownKeyMessage("API", "", {"api", "poll"}),
            "unknown key \"API\" at the top level; did you mean \"api\"? allowed keys: api, poll");
  // A different word, or a short key more than half changed: no suggestion.
  EXPECT_EQ(UnknownKeyMessage("colour", "", {"api", "poll"}),
            "unknown key \"colour\" at the top level; allowed keys: api, poll");
  EXPECT_EQ(UnknownKeyMessage("ab", "x", {"api"}), "unknown key \"ab\" in x; allowed keys: api");
}

TEST(YamlReaderTest, ResolvesPathsAgainstTheFilesDirectory) {
  const TestReader reader("/etc/esim/config.yml");
  EXPECT_EQ(reader.ResolvePath("secret"), "/etc/esim/secret");
  EXPECT_EQ(reader.ResolvePath("keys/ca.pem"), "/etc/esim/keys/ca.pem");
  EXPECT_EQ(reader.ResolvePath("/abs/ca.pem"), "/abs/ca.pem");
  EXPECT_EQ(reader.ResolvePath(""), "");
  // A file in the working directory: relative paths stay as given.
  EXPECT_EQ(TestReader("config.yml").ResolvePath("secret"), "secret");
}

TEST(YamlReaderTest, ErrorsNameFileLineAndColumn) {
  TestReader reader("dir/f.yml");
  EXPECT_EQ(reader.At(YAML::Mark::null_mark()), "dir/f.yml");
  EXPECT_EQ(reader.At(YAML::Mark()), "dir/f.yml:1:1");
  const auto ignore = [](const YAML::Node&, const YAML::Node&) {};
  EXPECT_EQ(reader.ErrorOf("a: 1\nb: 2\n", {{"a", ignore}, {"bb", ignore}}),
            "dir/f.yml:2:1: unknown key \"b\" at the top level; did you mean \"bb\"? allowed "
            "keys: a, bb");
  EXPECT_EQ(reader.ErrorOf("a: 1\na: 2\n", {{"a", ignore}}),
            "dir/f.yml:2:1: duplicate key \"a\" at the top level (first at line 1); keep only one");
  EXPECT_EQ(reader.ErrorOf("[a]: 1\n", {{"a", ignore}}),
            "dir/f.yml:1:1: a key at the top level is a list; keys must be plain names like "
            "\"url\"");
  EXPECT_EQ(reader.ErrorOf("a: 1\n---\nb: 2\n", {{"a", ignore}}),
            "dir/f.yml:3:1: a second YAML document starts here; keep only one document in the "
            "file (remove the \"---\" line above and merge the two)");
  const auto path_value = [&](const YAML::Node& k, const YAML::Node& v) {
    EXPECT_EQ(reader.PathValue(k, v, "a"), "dir/ca.pem");
    reader.Text(k, YAML::Node(), "a");
  };
  EXPECT_EQ(reader.ErrorOf("a: ca.pem\n", {{"a", path_value}}),
            "dir/f.yml:1:1: a has no value; write one after \"a:\" or remove the line");
}

}  // namespace
}  // namespace esim
