#include "yaml_reader.h"

#include <sys/stat.h>
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/parser.h>

#include <algorithm>
#include <cstdio>
#include <optional>
#include <sstream>
#include <utility>

#include "text.h"

namespace esim {

using YAML::Mark;
using YAML::Node;

namespace {

template <class N>
std::string KindOfNode(const N& node) {
  switch (node.Type()) {
    case YAML::NodeType::Map:
      return "a map";
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Scalar:
      return "a single value";
    default:
      return "no value";
  }
}

}  // namespace

std::string KindOf(const Node& node) { return KindOfNode(node); }
std::string KindOf(const YamlNode& node) { return KindOfNode(node); }

std::string Quoted(std::string_view text) { return "\"" + std::string(text) + "\""; }

size_t EditDistance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

std::string Within(const std::string& path) {
  return path.empty() ? "at the top level" : "in " + path;
}

std::string Join(const std::string& path, std::string_view key) {
  return path.empty() ? std::string(key) : path + "." + std::string(key);
}

std::string UnknownKeyMessage(const std::string& name, const std::string& path,
                              const std::vector<std::string_view>& allowed) {
  std::string names;
  std::string_view suggestion;
  size_t best = 3;  // suggest only close matches: a typo, not a different word
  for (const std::string_view candidate : allowed) {
    if (!names.empty()) names += ", ";
    names += candidate;
    const size_t distance = EditDistance(AsciiLower(name), candidate);
    if (distance < best && distance <= candidate.size() / 2) {
      best = distance;
      suggestion = candidate;
    }
  }
  std::string message = "unknown key " + Quoted(name) + " " + Within(path) + "; ";
  if (!suggestion.empty()) message += "did you mean " + Quoted(suggestion) + "? ";
  return message + "allowed keys: " + names;
}

YamlReader::YamlReader(std::string path, std::string key_example)
    : path_(std::move(path)),
      base_dir_(std::filesystem::path(path_).parent_path()),
      key_example_(std::move(key_example)) {}

std::string YamlReader::At(const Mark& mark) const {
  if (mark.is_null()) return path_;
  return path_ + ":" + std::to_string(mark.line + 1) + ":" + std::to_string(mark.column + 1);
}

std::string YamlReader::ResolvePath(const std::string& path) const {
  if (path.empty() || path.front() == '/' || base_dir_.empty()) return path;
  return (base_dir_ / path).string();
}

void YamlReader::Fail(const Mark& mark, const std::string& message) const {
  std::rethrow_exception(MakeError(At(mark) + ": " + message));
}

void YamlReader::Warn(const Mark& mark, const std::string& message) {
  warnings_.push_back(At(mark) + ": " + message);
}

namespace {

// Records where each document starts and nothing else (a first pass over the events).
class DocumentStarts : public YAML::EventHandler {
 public:
  Mark start;
  void OnDocumentStart(const Mark& mark) override { start = mark; }
  void OnDocumentEnd() override {}
  void OnNull(const Mark&, YAML::anchor_t) override {}
  void OnAlias(const Mark&, YAML::anchor_t) override {}
  void OnScalar(const Mark&, const std::string&, YAML::anchor_t, const std::string&) override {}
  void OnSequenceStart(const Mark&, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {}
  void OnSequenceEnd() override {}
  void OnMapStart(const Mark&, const std::string&, YAML::anchor_t,
                  YAML::EmitterStyle::value) override {}
  void OnMapEnd() override {}
};

// yaml-cpp 0.7's LoadAll never ends on some invalid input (a stray "," at the start of a line,
// upstream issue #1040): the parser reports the same empty document again and again without
// consuming the token, and LoadAll collects them until memory runs out. Returns the mark of
// such a token, found without building any node, so LoadAll only sees text on which it ends.
std::optional<Mark> FindStuckDocument(const std::string& text) {
  std::istringstream stream(text);
  YAML::Parser parser(stream);
  DocumentStarts starts;
  std::optional<int> previous_start;
  while (parser.HandleNextDocument(starts)) {
    if (previous_start && starts.start.pos <= *previous_start) return starts.start;
    previous_start = starts.start.pos;
  }
  return std::nullopt;
}

constexpr char kStuckMessage[] =
    "YAML syntax error: unexpected character; a \",\" or other flow character outside [...] or "
    "{...}? Quote the value if it is text";

}  // namespace

void YamlReader::CheckUtf8(const std::string& text) const {
  // YAML is UTF-8; yaml-cpp 0.7 can allocate without bound on some invalid byte sequences
  // (found by tests/fuzz/fuzz_config.cc), so such files never reach it.
  if (const size_t bad = FirstInvalidUtf8(text); bad != std::string::npos) {
    Mark mark;
    mark.line = static_cast<int>(
        std::count(text.begin(), text.begin() + static_cast<std::ptrdiff_t>(bad), '\n'));
    const size_t line_start = text.rfind('\n', bad == 0 ? 0 : bad - 1);
    mark.column =
        static_cast<int>(bad - (line_start == std::string::npos || bad == 0 ? 0 : line_start + 1));
    char hex[8];
    std::snprintf(hex, sizeof hex, "0x%02X",
                  static_cast<unsigned>(static_cast<unsigned char>(text[bad])));
    Fail(mark,
         std::string("the file is not valid UTF-8 (byte ") + hex + "); save it as UTF-8 text");
  }
}

void YamlReader::FailSecondDocument(const Mark& mark) const {
  Fail(mark,
       "a second YAML document starts here; keep only one document in the file (remove the "
       "\"---\" line above and merge the two)");
}

void YamlReader::FailSyntax(const YAML::Exception& e) const {
  Fail(e.mark, "YAML syntax error: " + e.msg +
                   "; check the indentation (spaces, not tabs), colons and quotes here or just "
                   "above");
}

void YamlReader::ParseYaml(const std::string& text, const std::function<void(const Node&)>& parse) {
  CheckUtf8(text);
  try {
    if (const std::optional<Mark> stuck = FindStuckDocument(text)) {
      Fail(*stuck, kStuckMessage);
    }
    const std::vector<Node> documents = YAML::LoadAll(text);
    const Node* root = nullptr;
    for (const Node& document : documents) {
      if (document.IsNull()) continue;  // a stray "---" is harmless
      if (root != nullptr) FailSecondDocument(document.Mark());
      root = &document;
    }
    parse(root != nullptr ? *root : Node());
  } catch (const YAML::Exception& e) {
    // Parse errors; also a safety net for anything else yaml-cpp may throw.
    FailSyntax(e);
  }
}

void YamlReader::ParseYamlTree(const std::string& text,
                               const std::function<void(const YamlNode&)>& parse) {
  CheckUtf8(text);
  try {
    // One pass over the events, which also finds the document the parser gets stuck on (see
    // FindStuckDocument) and stops there.
    const YamlTree tree(text);
    if (tree.stuck()) Fail(*tree.stuck(), kStuckMessage);
    std::optional<YamlNode> root;
    for (const YamlNode& document : tree.Documents()) {
      if (document.IsNull()) continue;  // a stray "---" is harmless
      if (root) FailSecondDocument(document.Mark());
      root = document;
    }
    parse(root.value_or(YamlNode()));
  } catch (const YAML::Exception& e) {
    FailSyntax(e);
  }
}

void YamlReader::WarnIfReadableByOthers(const std::string& path, const std::string& what,
                                        const Mark& mark) {
  struct stat info;
  if (::stat(path.c_str(), &info) != 0) return;
  if ((info.st_mode & (S_IRGRP | S_IROTH)) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(info.st_mode & 07777));
    Warn(mark, what + " " + Quoted(path) + " is readable by group or others (mode " + mode +
                   "); restrict it with chmod 600");
  }
}

template <class N>
bool YamlReader::ExpectMapOf(const N& key, const N& value, const std::string& path) {
  if (value.IsNull()) return false;
  if (!value.IsMap()) {
    Fail(value.Mark(), path + " must be a map, got " + KindOf(value) +
                           "; write indented \"key: value\" lines under \"" + key.Scalar() + ":\"");
  }
  return true;
}

bool YamlReader::ExpectMap(const Node& key, const Node& value, const std::string& path) {
  return ExpectMapOf(key, value, path);
}

bool YamlReader::ExpectMap(const YamlNode& key, const YamlNode& value, const std::string& path) {
  return ExpectMapOf(key, value, path);
}

template <class N, class Visit>
void YamlReader::ForEachEntryOf(const N& map, const std::string& path, const Visit& visit) {
  std::map<std::string, int> first_line;
  for (const auto& entry : map) {
    const N& key = entry.first;
    const N& value = entry.second;
    if (!key.IsScalar()) {
      Fail(key.Mark(), "a key " + Within(path) + " is " + KindOf(key) +
                           "; keys must be plain names" +
                           (key_example_.empty() ? "" : " like " + Quoted(key_example_)));
    }
    const std::string& name = key.Scalar();
    const auto [it, inserted] = first_line.emplace(name, key.Mark().line + 1);
    if (!inserted) {
      Fail(key.Mark(), "duplicate key " + Quoted(name) + " " + Within(path) + " (first at line " +
                           std::to_string(it->second) + "); keep only one");
    }
    visit(name, key, value);
  }
}

void YamlReader::ForEachEntry(
    const Node& map, const std::string& path,
    const std::function<void(const std::string&, const Node&, const Node&)>& visit) {
  ForEachEntryOf(map, path, visit);
}

void YamlReader::ForEachEntry(
    const YamlNode& map, const std::string& path,
    const std::function<void(const std::string&, const YamlNode&, const YamlNode&)>& visit) {
  ForEachEntryOf(map, path, visit);
}

template <class N, class F>
void YamlReader::ForEachFieldOf(const N& map, const std::string& path, const std::vector<F>& fields,
                                const std::map<std::string, std::string>& refused) {
  ForEachEntryOf(map, path, [&](const std::string& name, const N& key, const N& value) {
    const auto field =
        std::find_if(fields.begin(), fields.end(), [&](const F& f) { return f.name == name; });
    if (field != fields.end()) {
      field->parse(key, value);
      return;
    }
    if (const auto it = refused.find(name); it != refused.end()) {
      Fail(key.Mark(), Join(path, name) + " " + it->second);
    }
    std::vector<std::string_view> allowed;
    allowed.reserve(fields.size());
    for (const F& f : fields) allowed.push_back(f.name);
    Fail(key.Mark(), UnknownKeyMessage(name, path, allowed));
  });
}

void YamlReader::ForEachField(const Node& map, const std::string& path,
                              const std::vector<Field>& fields,
                              const std::map<std::string, std::string>& refused) {
  ForEachFieldOf(map, path, fields, refused);
}

void YamlReader::ForEachField(const YamlNode& map, const std::string& path,
                              const std::vector<TreeField>& fields,
                              const std::map<std::string, std::string>& refused) {
  ForEachFieldOf(map, path, fields, refused);
}

// A reference to the node's text for a YAML::Node, a copy for a YamlNode.
template <class N>
decltype(auto) YamlReader::TextOf(const N& key, const N& value, const std::string& path) {
  if (value.IsNull()) {
    Fail(key.Mark(),
         path + " has no value; write one after \"" + key.Scalar() + ":\" or remove the line");
  }
  if (!value.IsScalar()) {
    Fail(value.Mark(), path + " must be a single value, got " + KindOf(value) +
                           "; write one value after \"" + key.Scalar() + ":\"");
  }
  return value.Scalar();
}

const std::string& YamlReader::Text(const Node& key, const Node& value, const std::string& path) {
  return TextOf(key, value, path);
}

std::string YamlReader::Text(const YamlNode& key, const YamlNode& value, const std::string& path) {
  return TextOf(key, value, path);
}

template <class N>
std::string YamlReader::PathValueOf(const N& key, const N& value, const std::string& path) {
  const auto& text = TextOf(key, value, path);
  if (text.empty()) Fail(value.Mark(), path + " is empty; give a file path or remove the key");
  return ResolvePath(text);
}

std::string YamlReader::PathValue(const Node& key, const Node& value, const std::string& path) {
  return PathValueOf(key, value, path);
}

std::string YamlReader::PathValue(const YamlNode& key, const YamlNode& value,
                                  const std::string& path) {
  return PathValueOf(key, value, path);
}

}  // namespace esim
