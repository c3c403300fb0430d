#include "yaml_tree.h"

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/parser.h>

#include <cstddef>
#include <istream>
#include <limits>
#include <stdexcept>
#include <streambuf>

namespace esim {

namespace {
constexpr uint32_t kNoNode = std::numeric_limits<uint32_t>::max();
const std::string kEmpty;
}  // namespace

// --- YamlNode ------------------------------------------------------------------------------------

YAML::NodeType::value YamlNode::Type() const {
  if (tree_ == nullptr) return YAML::NodeType::Null;
  return static_cast<YAML::NodeType::value>(tree_->nodes_[index_].type);
}

std::string YamlNode::Scalar() const {
  if (!IsScalar()) return {};
  const YamlTree::Data& data = tree_->nodes_[index_];
  return tree_->text_.substr(data.begin, data.count);
}

const std::string& YamlNode::Tag() const {
  if (tree_ == nullptr) return kEmpty;
  return tree_->tags_[tree_->nodes_[index_].tag];
}

YAML::Mark YamlNode::Mark() const {
  if (tree_ == nullptr) return YAML::Mark::null_mark();
  return tree_->nodes_[index_].mark;
}

size_t YamlNode::size() const {
  switch (Type()) {
    case YAML::NodeType::Sequence:
      return tree_->nodes_[index_].count;
    case YAML::NodeType::Map:
      return tree_->nodes_[index_].count / 2;
    default:
      return 0;
  }
}

YamlNode::const_iterator YamlNode::begin() const { return const_iterator(*this, 0); }

YamlNode::const_iterator YamlNode::end() const {
  const bool container = IsSequence() || IsMap();
  return const_iterator(*this, container ? tree_->nodes_[index_].count : 0);
}

YamlNode::const_iterator::const_iterator(const YamlNode& node, size_t position)
    : node_(node), position_(position) {
  Load();
}

YamlNode::const_iterator& YamlNode::const_iterator::operator++() {
  position_ += node_.IsMap() ? 2 : 1;
  Load();
  return *this;
}

void YamlNode::const_iterator::Load() {
  if (!node_.IsSequence() && !node_.IsMap()) return;
  const YamlTree& tree = *node_.tree_;
  const YamlTree::Data& data = tree.nodes_[node_.index_];
  if (position_ >= data.count) return;
  const uint32_t* child = &tree.children_[data.begin + position_];
  if (node_.IsSequence()) {
    static_cast<YamlNode&>(item_) = YamlNode(&tree, child[0]);
  } else {
    item_.first = YamlNode(&tree, child[0]);
    item_.second = YamlNode(&tree, child[1]);
  }
}

// --- YamlTree ------------------------------------------------------------------------------------

// Builds the tree from the parser's events as yaml-cpp's NodeBuilder builds nodes: a node is
// created (and its anchor registered) when it starts; an alias pushes the anchored node again;
// a finished node becomes the next child of the collection around it (for a map, alternately a
// key and a value) or the document's root.
class YamlTreeBuilder : public YAML::EventHandler {
 public:
  explicit YamlTreeBuilder(YamlTree& tree) : tree_(tree) {}

  void OnDocumentStart(const YAML::Mark& mark) override {
    start = mark;
    root_ = kNoNode;
    anchors_.assign(1, kNoNode);  // anchors count from 1, per document
  }
  void OnDocumentEnd() override { tree_.documents_.push_back(root_); }

  void OnNull(const YAML::Mark& mark, YAML::anchor_t anchor) override {
    Finish(Create(mark, YAML::NodeType::Null, kEmpty, anchor));
  }
  void OnAlias(const YAML::Mark&, YAML::anchor_t anchor) override {
    // The parser refuses an alias to an unknown anchor before reporting it.
    Finish(anchor < anchors_.size() ? anchors_[anchor] : kNoNode);
  }
  void OnScalar(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t anchor,
                const std::string& value) override {
    const uint32_t index = Create(mark, YAML::NodeType::Scalar, tag, anchor);
    YamlTree::Data& data = tree_.nodes_[index];
    data.begin = Checked(tree_.text_.size());
    data.count = Checked(value.size());
    tree_.text_ += value;
    Finish(index);
  }
  void OnSequenceStart(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t anchor,
                       YAML::EmitterStyle::value) override {
    Open(Create(mark, YAML::NodeType::Sequence, tag, anchor));
  }
  void OnSequenceEnd() override { Close(); }
  void OnMapStart(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t anchor,
                  YAML::EmitterStyle::value) override {
    Open(Create(mark, YAML::NodeType::Map, tag, anchor));
  }
  void OnMapEnd() override { Close(); }

  YAML::Mark start;  // of the last document

 private:
  static uint32_t Checked(size_t n) {
    if (n >= kNoNode) throw std::length_error("YAML document too large");
    return static_cast<uint32_t>(n);
  }

  uint16_t TagIndex(const std::string& tag) {
    // Few distinct tags ever occur ("", "?", "!" and the odd explicit one); the last is cached.
    if (tree_.tags_[last_tag_] == tag) return last_tag_;
    for (size_t i = 0; i < tree_.tags_.size(); ++i) {
      if (tree_.tags_[i] == tag) return last_tag_ = static_cast<uint16_t>(i);
    }
    if (tree_.tags_.size() > std::numeric_limits<uint16_t>::max()) {
      throw std::length_error("too many distinct YAML tags");
    }
    tree_.tags_.push_back(tag);
    return last_tag_ = static_cast<uint16_t>(tree_.tags_.size() - 1);
  }

  uint32_t Create(const YAML::Mark& mark, YAML::NodeType::value type, const std::string& tag,
                  YAML::anchor_t anchor) {
    const uint32_t index = Checked(tree_.nodes_.size());
    tree_.nodes_.push_back({mark, static_cast<uint8_t>(type), TagIndex(tag), 0, 0});
    if (anchor != 0) {
      if (anchors_.size() <= anchor) anchors_.resize(anchor + 1, kNoNode);
      anchors_[anchor] = index;
    }
    return index;
  }

  // A collection starts: its children gather at the end of pending_ until it closes.
  void Open(uint32_t index) { open_.push_back({index, pending_.size()}); }

  void Close() {
    if (open_.empty()) return;
    const auto [index, first] = open_.back();
    open_.pop_back();
    YamlTree::Data& data = tree_.nodes_[index];
    size_t count = pending_.size() - first;
    if (data.type == YAML::NodeType::Map) count -= count % 2;  // a key without value: dropped
    data.begin = Checked(tree_.children_.size());
    data.count = Checked(count);
    const auto from = pending_.begin() + static_cast<std::ptrdiff_t>(first);
    tree_.children_.insert(tree_.children_.end(), from, from + static_cast<std::ptrdiff_t>(count));
    pending_.resize(first);
    Finish(index);
  }

  // A node is complete: a child of the open collection, or the root.
  void Finish(uint32_t index) {
    if (index == kNoNode) return;
    if (open_.empty()) {
      root_ = index;
    } else {
      pending_.push_back(index);
    }
  }

  struct OpenCollection {
    uint32_t index;
    size_t first_child;  // in pending_
  };

  YamlTree& tree_;
  std::vector<uint32_t> anchors_;
  std::vector<OpenCollection> open_;
  std::vector<uint32_t> pending_;
  uint32_t root_ = kNoNode;
  uint16_t last_tag_ = 0;
};

namespace {

// Reads `text` in place (an istringstream would copy it).
class TextBuffer : public std::streambuf {
 public:
  explicit TextBuffer(const std::string& text) {
    char* begin = const_cast<char*>(text.data());  // only ever read
    setg(begin, begin, begin + text.size());
  }
};

}  // namespace

YamlTree::YamlTree(const std::string& text) {
  tags_.emplace_back();
  // Room for the densest files (a config listing eSIMs has a node every 9 bytes) so that the
  // vectors never move; pages never written cost no memory.
  nodes_.reserve(text.size() / 4 + 16);
  children_.reserve(text.size() / 4 + 16);
  text_.reserve(text.size());
  TextBuffer buffer(text);
  std::istream stream(&buffer);
  YAML::Parser parser(stream);
  YamlTreeBuilder builder(*this);
  std::optional<int> previous_start;
  while (parser.HandleNextDocument(builder)) {
    if (previous_start && builder.start.pos <= *previous_start) {
      stuck_ = builder.start;
      documents_.pop_back();
      break;
    }
    previous_start = builder.start.pos;
  }
}

std::vector<YamlNode> YamlTree::Documents() const {
  std::vector<YamlNode> roots;
  roots.reserve(documents_.size());
  for (const uint32_t root : documents_) {
    roots.push_back(root == kNoNode ? YamlNode() : YamlNode(this, root));
  }
  return roots;
}

}  // namespace esim
