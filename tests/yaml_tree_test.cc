#include "yaml_tree.h"

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <string>
#include <vector>

namespace esim {
namespace {

std::string Where(const YAML::Mark& mark) {
  return std::to_string(mark.pos) + "@" + std::to_string(mark.line) + ":" +
         std::to_string(mark.column);
}

std::string Quote(const std::string& text) { return "\"" + text + "\""; }

// Describes a node the same way for both kinds, so that a test compares one string: type, tag,
// mark, scalar, children. `depth` bounds the walk (an alias can make a node its own child).
template <class N>
std::string Describe(const N& node, int depth = 8) {
  std::string out = std::to_string(static_cast<int>(node.Type())) + " " + Quote(node.Tag()) + " " +
                    Where(node.Mark());
  if (node.IsScalar()) out += " " + Quote(node.Scalar());
  if (depth == 0 || !(node.IsSequence() || node.IsMap())) return out;
  out += " size " + std::to_string(node.size()) + " [";
  for (const auto& item : node) {
    if (node.IsMap()) {
      out += "(" + Describe(item.first, depth - 1) + ": " + Describe(item.second, depth - 1) + ")";
    } else {
      out += "(" + Describe(static_cast<const N&>(item), depth - 1) + ")";
    }
  }
  return out + "]";
}

std::string DescribeTree(const std::string& text) {
  const YamlTree tree(text);
  std::string out;
  for (const YamlNode& document : tree.Documents()) out += Describe(document) + "\n";
  return out;
}

std::string DescribeYamlCpp(const std::string& text) {
  std::string out;
  for (const YAML::Node& document : YAML::LoadAll(text)) out += Describe(document) + "\n";
  return out;
}

TEST(YamlTreeTest, MatchesYamlCppNodeForNode) {
  const std::vector<std::string> texts = {
      "",
      "---\n",
      "a: 1\nb: \"2\"\nc: '3'\nd:\ne: ~\nf: null\ng: [1, \"x\", {h: i}]\n",
      "- a\n- \n- [b, c]\n- {}\n- []\n-\n  - nested\n",
      "a: 1\na: 2\n? [x, y]\n: z\n",
      "base: &b {x: 1, y: [2, 3]}\nuse: *b\nlist: &l [a, *b]\nagain: *l\n",
      "self: &s [*s, 1]\n",
      "tagged: !!str 12\nlocal: !thing x\nseq: !!seq [a]\nquoted_key: \"k\"\n'k2': v\n",
      "block: |\n  line one\n  line two\nfolded: >\n  a\n  b\n",
      "esims:\n  - iccid: \"8948010010036785060\"\n    name: x\n    labels: {a: b}\n",
      "a: 1\n---\nb: 2\n---\n",
      "%YAML 1.2\n---\nx: \"\\u00e9\\t\"\n...\n",
      "{a: 1, b: [c, d], e: {f: g}}\n",
      "- &a x\n- *a\n- &a y\n- *a\n",
  };
  for (const std::string& text : texts) {
    EXPECT_EQ(DescribeTree(text), DescribeYamlCpp(text)) << "for:\n" << text;
  }
}

TEST(YamlTreeTest, ThrowsYamlCppsSyntaxErrors) {
  for (const std::string text : {"a: [1, 2\n", "a: b: c\n", "a: *missing\n", "{a: 1\n"}) {
    std::string expected;
    try {
      YAML::LoadAll(text);
    } catch (const YAML::Exception& e) {
      expected = Where(e.mark) + " " + e.msg;
    }
    std::string got;
    try {
      const YamlTree tree(text);
    } catch (const YAML::Exception& e) {
      got = Where(e.mark) + " " + e.msg;
    }
    EXPECT_FALSE(expected.empty()) << text;
    EXPECT_EQ(got, expected) << text;
  }
}

TEST(YamlTreeTest, StopsWhereTheParserWouldRepeatADocumentForever) {
  const YamlTree tree("# pasted\n, router-2\n");
  ASSERT_TRUE(tree.stuck().has_value());
  EXPECT_EQ(tree.stuck()->line, 1);
}

TEST(YamlTreeTest, DefaultNodeIsNullWithoutPosition) {
  const YamlNode node;
  EXPECT_TRUE(node.IsNull());
  EXPECT_TRUE(node.Mark().is_null());
  EXPECT_EQ(node.Tag(), "");
  EXPECT_EQ(node.Scalar(), "");
  EXPECT_EQ(node.size(), 0u);
  EXPECT_TRUE(node.begin() == node.end());
}

}  // namespace
}  // namespace esim
