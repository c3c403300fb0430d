// An eSIM's config `labels:`, sorted by name. Immutable once loaded and shared by every copy of
// the eSIM's config: the poller, the schedule and each state record (copied on every poll) hold
// one, and a map per copy cost ~70 MB at 50,000 eSIMs (docs/benchmarks.md, "Memory").
#pragma once

#include <initializer_list>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <utility>

namespace esim {

class ConfigLabels {
 public:
  using Map = std::map<std::string, std::string>;
  using const_iterator = Map::const_iterator;

  ConfigLabels() = default;
  // Implicit, so that the loader and tests assign a map or a braced list as before.
  ConfigLabels(Map labels)  // NOLINT(google-explicit-constructor)
      : labels_(labels.empty() ? nullptr : std::make_shared<const Map>(std::move(labels))) {}
  ConfigLabels(std::initializer_list<Map::value_type> labels) : ConfigLabels(Map(labels)) {}

  const Map& map() const { return labels_ ? *labels_ : Empty(); }
  const_iterator begin() const { return map().begin(); }
  const_iterator end() const { return map().end(); }
  const_iterator find(const std::string& name) const { return map().find(name); }
  const std::string& at(const std::string& name) const { return map().at(name); }
  bool empty() const { return labels_ == nullptr; }
  size_t size() const { return map().size(); }

  friend bool operator==(const ConfigLabels& a, const ConfigLabels& b) {
    return a.labels_ == b.labels_ || a.map() == b.map();
  }

 private:
  static const Map& Empty() {
    static const Map empty;
    return empty;
  }
  std::shared_ptr<const Map> labels_;  // null when there are none
};

// Gives every eSIM of one config that has the same labels the same shared set: fleets label by
// site, customer or model, and a set per eSIM cost ~25 MB at 100,000 eSIMs with two labels.
// A set is kept once, inside the ConfigLabels it hands out; not thread safe (one per load).
class ConfigLabelsPool {
 public:
  ConfigLabels Get(ConfigLabels::Map labels) {
    const auto known = sets_.find(labels);
    if (known != sets_.end()) return *known;
    return *sets_.emplace(std::move(labels)).first;
  }

 private:
  struct ByContent {
    using is_transparent = void;
    bool operator()(const ConfigLabels& a, const ConfigLabels& b) const {
      return a.map() < b.map();
    }
    bool operator()(const ConfigLabels& a, const ConfigLabels::Map& b) const { return a.map() < b; }
    bool operator()(const ConfigLabels::Map& a, const ConfigLabels& b) const { return a < b.map(); }
  };
  std::set<ConfigLabels, ByContent> sets_;
};

}  // namespace esim
