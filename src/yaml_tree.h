// A compact, read-only YAML tree built from yaml-cpp's event stream, for files too large for
// yaml-cpp's own node tree (which costs ~55 bytes of heap per byte of YAML: a config listing
// 100,000 eSIMs needed ~280 MiB). A node here is 24 bytes plus 4 per reference from its parent,
// and scalars live in one buffer.
//
// It mirrors what YAML::LoadAll gives (the same events, paired the way yaml-cpp's NodeBuilder
// pairs them): the same types, scalars, tags ("!" for a quoted scalar, "?" for a plain one) and
// marks; an alias is the anchored node itself (its mark included); map entries keep their order
// and duplicates. YamlNode has the part of YAML::Node's interface the readers use.
#pragma once

#include <yaml-cpp/mark.h>
#include <yaml-cpp/node/type.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace esim {

class YamlTree;

// One node of a YamlTree (a handle: cheap to copy, valid while the tree lives). A default one
// is a null node without a position, like YAML::Node().
class YamlNode {
 public:
  YamlNode() = default;

  YAML::NodeType::value Type() const;
  bool IsNull() const { return Type() == YAML::NodeType::Null; }
  bool IsScalar() const { return Type() == YAML::NodeType::Scalar; }
  bool IsSequence() const { return Type() == YAML::NodeType::Sequence; }
  bool IsMap() const { return Type() == YAML::NodeType::Map; }

  // The text of a scalar; empty for other nodes.
  std::string Scalar() const;
  // "!" for a quoted scalar, "?" for a plain one, or the explicit tag; empty for a null.
  const std::string& Tag() const;
  YAML::Mark Mark() const;
  // Items of a list, entries of a map; 0 for other nodes.
  size_t size() const;

  // What iterating gives, as with yaml-cpp: for a list the item itself, for a map an entry with
  // `first` (the key) and `second` (the value).
  struct Item;
  class const_iterator;
  const_iterator begin() const;
  const_iterator end() const;

 private:
  friend class YamlTree;
  YamlNode(const YamlTree* tree, uint32_t index) : tree_(tree), index_(index) {}

  const YamlTree* tree_ = nullptr;
  uint32_t index_ = 0;
};

struct YamlNode::Item : YamlNode {
  YamlNode first;
  YamlNode second;
};

class YamlNode::const_iterator {
 public:
  const Item& operator*() const { return item_; }
  const Item* operator->() const { return &item_; }
  const_iterator& operator++();
  bool operator==(const const_iterator& other) const { return position_ == other.position_; }

 private:
  friend class YamlNode;
  const_iterator(const YamlNode& node, size_t position);
  void Load();

  YamlNode node_;
  size_t position_;  // index of the child (of the key, for a map) in the tree's child list
  Item item_;
};

class YamlTree {
 public:
  // Parses every document of `text`. Throws YAML::Exception (YAML::ParserException) as
  // YAML::LoadAll does. yaml-cpp 0.7 can report the same empty document forever on some invalid
  // input (a stray "," at the start of a line, upstream issue #1040): parsing stops there and
  // stuck() gives its mark.
  explicit YamlTree(const std::string& text);
  YamlTree(const YamlTree&) = delete;
  YamlTree& operator=(const YamlTree&) = delete;

  // The root of each document (a null node for an empty one), in order.
  std::vector<YamlNode> Documents() const;
  const std::optional<YAML::Mark>& stuck() const { return stuck_; }

 private:
  friend class YamlNode;
  friend class YamlTreeBuilder;

  struct Data {
    YAML::Mark mark;  // 12 bytes
    uint8_t type;     // YAML::NodeType::value
    uint16_t tag;     // index into tags_
    uint32_t begin;   // scalar: offset into text_; list or map: into children_
    uint32_t count;   // scalar: length; list or map: children (keys and values for a map)
  };

  std::vector<Data> nodes_;
  std::vector<uint32_t> children_;
  std::string text_;               // every scalar, one after the other
  std::vector<std::string> tags_;  // distinct tags; tags_[0] is ""
  std::vector<uint32_t> documents_;
  std::optional<YAML::Mark> stuck_;
};

}  // namespace esim
