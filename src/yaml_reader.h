// Reading one of the exporter's YAML files (the config, the web config) with errors that point at
// FILE:LINE:COL: the helpers, key checks and value readers both files share.
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstddef>
#include <exception>
#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "yaml_tree.h"

namespace esim {

// What a node is, for messages: "a map", "a list", "a single value" or "no value".
std::string KindOf(const YAML::Node& node);
std::string KindOf(const YamlNode& node);

// `text` in double quotes.
std::string Quoted(std::string_view text);

// The Levenshtein distance between `a` and `b`.
size_t EditDistance(std::string_view a, std::string_view b);

// Where a key sits, for the messages: "in api", "at the top level".
std::string Within(const std::string& path);

// The path of `key` under `path`: "api.url", or "api" at the top level.
std::string Join(const std::string& path, std::string_view key);

// "unknown key "X" in PATH; did you mean "Y"? allowed keys: A, B": the suggestion only for a
// close match of `name` (a typo, not a different word).
std::string UnknownKeyMessage(const std::string& name, const std::string& path,
                              const std::vector<std::string_view>& allowed);

// The base of a one-file reader. A subclass picks the exception type (MakeError) and parses the
// root node with ForEachField and the value readers; every error names FILE:LINE:COL. Each reader
// exists for yaml-cpp's nodes (ParseYaml) and for the compact YamlTree (ParseYamlTree, for files
// that may be large: the config), with the same checks and messages.
class YamlReader {
 public:
  virtual ~YamlReader() = default;

  const std::string& path() const { return path_; }

  // "FILE:LINE:COL" (1-based), or just "FILE" for a null mark.
  std::string At(const YAML::Mark& mark) const;

  // Relative paths in the file are relative to the file's directory, as in Prometheus.
  std::string ResolvePath(const std::string& path) const;

 protected:
  using Handler = std::function<void(const YAML::Node& key, const YAML::Node& value)>;
  struct Field {
    std::string_view name;
    Handler parse;
  };
  using TreeHandler = std::function<void(const YamlNode& key, const YamlNode& value)>;
  struct TreeField {
    std::string_view name;
    TreeHandler parse;
  };

  // `key_example`: a key the message about a non-text key shows as an example ("" for none).
  YamlReader(std::string path, std::string key_example);

  // The reader's exception, of its own type, with `message` as what().
  virtual std::exception_ptr MakeError(const std::string& message) const = 0;

  // Throws MakeError("FILE:LINE:COL: message").
  [[noreturn]] void Fail(const YAML::Mark& mark, const std::string& message) const;

  // Records "FILE:LINE:COL: message" for TakeWarnings.
  void Warn(const YAML::Mark& mark, const std::string& message);
  std::vector<std::string> TakeWarnings() { return std::move(warnings_); }

  // Warns when the file holding a secret (API key, TLS private key) is readable by group or
  // others; `what` names the key that gives the path.
  void WarnIfReadableByOthers(const std::string& path, const std::string& what,
                              const YAML::Mark& mark);

  // Parses `text` as one YAML document and calls `parse` with its root (a null node when the
  // file is empty). yaml-cpp's errors, also those thrown in `parse`, fail as syntax errors.
  void ParseYaml(const std::string& text, const std::function<void(const YAML::Node&)>& parse);
  // The same, reading the document into a YamlTree (a fraction of yaml-cpp's memory).
  void ParseYamlTree(const std::string& text, const std::function<void(const YamlNode&)>& parse);

  // False for an empty (null) section, which keeps every default; fails unless a map.
  bool ExpectMap(const YAML::Node& key, const YAML::Node& value, const std::string& path);
  bool ExpectMap(const YamlNode& key, const YamlNode& value, const std::string& path);

  // Calls `visit` for each key of `map`, rejecting non-text and duplicate keys (yaml-cpp would
  // silently keep both).
  void ForEachEntry(
      const YAML::Node& map, const std::string& path,
      const std::function<void(const std::string&, const YAML::Node&, const YAML::Node&)>& visit);
  void ForEachEntry(
      const YamlNode& map, const std::string& path,
      const std::function<void(const std::string&, const YamlNode&, const YamlNode&)>& visit);

  // Hands each key of `map` to its field; fails on unknown keys. `refused`: keys that fail with
  // Join(path, key) + " " + their message instead (not listed as allowed).
  void ForEachField(const YAML::Node& map, const std::string& path,
                    const std::vector<Field>& fields,
                    const std::map<std::string, std::string>& refused = {});
  void ForEachField(const YamlNode& map, const std::string& path,
                    const std::vector<TreeField>& fields,
                    const std::map<std::string, std::string>& refused = {});

  // The text of a single value. Never echoes the value: it may be a secret.
  const std::string& Text(const YAML::Node& key, const YAML::Node& value, const std::string& path);
  std::string Text(const YamlNode& key, const YamlNode& value, const std::string& path);

  // A file path: non-empty, resolved against the file's directory.
  std::string PathValue(const YAML::Node& key, const YAML::Node& value, const std::string& path);
  std::string PathValue(const YamlNode& key, const YamlNode& value, const std::string& path);

 private:
  // The readers above, for either kind of node (YAML::Node or YamlNode).
  void CheckUtf8(const std::string& text) const;
  [[noreturn]] void FailSecondDocument(const YAML::Mark& mark) const;
  [[noreturn]] void FailSyntax(const YAML::Exception& e) const;
  template <class N>
  bool ExpectMapOf(const N& key, const N& value, const std::string& path);
  template <class N, class Visit>
  void ForEachEntryOf(const N& map, const std::string& path, const Visit& visit);
  template <class N, class F>
  void ForEachFieldOf(const N& map, const std::string& path, const std::vector<F>& fields,
                      const std::map<std::string, std::string>& refused);
  template <class N>
  decltype(auto) TextOf(const N& key, const N& value, const std::string& path);
  template <class N>
  std::string PathValueOf(const N& key, const N& value, const std::string& path);

  std::string path_;
  std::filesystem::path base_dir_;
  std::string key_example_;
  std::vector<std::string> warnings_;
};

}  // namespace esim
