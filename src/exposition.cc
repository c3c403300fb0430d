#include "exposition.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <span>

namespace esim {

void AppendSampleValue(std::string& out, double value) {
  if (std::isnan(value)) {
    out += "NaN";
    return;
  }
  if (std::isinf(value)) {
    out += value > 0 ? "+Inf" : "-Inf";
    return;
  }
  char buffer[32];
  std::to_chars_result result;
  // Whole numbers (counts, bytes, Unix seconds) print without an exponent.
  if (value == std::trunc(value) && std::fabs(value) < 9007199254740992.0) {
    result = std::to_chars(buffer, buffer + sizeof buffer, static_cast<int64_t>(value));
  } else {
    result = std::to_chars(buffer, buffer + sizeof buffer, value);
  }
  out.append(buffer, result.ptr);
}

void ExpositionWriter::Family(const MetricDesc& desc) {
  out_ += "# HELP ";
  out_ += desc.name;
  out_ += ' ';
  for (char c : desc.help) {
    if (c == '\\') {
      out_ += "\\\\";
    } else if (c == '\n') {
      out_ += "\\n";
    } else {
      out_ += c;
    }
  }
  out_ += "\n# TYPE ";
  out_ += desc.name;
  out_ += ' ';
  out_ += desc.type;
  out_ += '\n';
}

void AppendEscapedLabelValue(std::string& out, std::string_view value) {
  // Most values need no escaping: append them whole.
  const auto plain = [](char c) {
    return c != '\\' && c != '"' && static_cast<unsigned char>(c) >= 0x20 && c != 0x7f;
  };
  if (std::all_of(value.begin(), value.end(), plain)) {
    out += value;
    return;
  }
  for (char c : value) {
    // Control characters from the API (\r, tab, NUL, DEL...) would reach dashboards and
    // Alertmanager as they are: each becomes U+FFFD. \n keeps its exposition escape.
    if (c != '\n' && (static_cast<unsigned char>(c) < 0x20 || c == 0x7f)) {
      out += "\xEF\xBF\xBD";
      continue;
    }
    switch (c) {
      case '\\':
        out += "\\\\";
        break;
      case '"':
        out += "\\\"";
        break;
      case '\n':
        out += "\\n";
        break;
      default:
        out += c;
    }
  }
}

void ExpositionWriter::AppendValue(double value) { AppendSampleValue(out_, value); }

template <typename Labels>
void ExpositionWriter::WriteSample(std::string_view name, const Labels& labels,
                                   std::string_view extra_name, std::string_view extra_value,
                                   double value) {
  out_ += name;
  bool first = true;
  auto append_label = [&](std::string_view label_name, std::string_view label_value) {
    out_ += first ? '{' : ',';
    first = false;
    out_ += label_name;
    out_ += "=\"";
    AppendEscapedLabelValue(out_, label_value);
    out_ += '"';
  };
  for (const auto& [label_name, label_value] : labels) append_label(label_name, label_value);
  if (!extra_name.empty()) append_label(extra_name, extra_value);
  if (!first) out_ += '}';
  out_ += ' ';
  AppendValue(value);
  out_ += '\n';
  MaybeFlush();
}

void ExpositionWriter::Flush() {
  if (!flush_ || out_.empty()) return;
  flush_(out_);
  out_.clear();
}

void ExpositionWriter::Sample(const MetricDesc& desc, std::initializer_list<Label> labels,
                              double value) {
  WriteSample(desc.name, labels, {}, {}, value);
}

void ExpositionWriter::AccountSample(const MetricDesc& desc, std::string_view account,
                                     std::initializer_list<Label> labels, double value) {
  if (account.empty()) {
    WriteSample(desc.name, labels, {}, {}, value);
    return;
  }
  // At most a few labels besides the account: no allocation for the common case.
  std::array<Label, 4> joined;
  if (labels.size() + 1 > joined.size()) {
    std::vector<Label> all{{"account", account}};
    all.insert(all.end(), labels.begin(), labels.end());
    WriteSample(desc.name, all, {}, {}, value);
    return;
  }
  joined[0] = {"account", account};
  std::copy(labels.begin(), labels.end(), joined.begin() + 1);
  WriteSample(desc.name, std::span<const Label>(joined.data(), labels.size() + 1), {}, {}, value);
}

void ExpositionWriter::SampleWithLabelText(const MetricDesc& desc,
                                           std::initializer_list<std::string_view> pieces,
                                           double value) {
  out_ += desc.name;
  out_ += '{';
  for (std::string_view piece : pieces) out_ += piece;
  out_ += "} ";
  AppendValue(value);
  out_ += '\n';
  MaybeFlush();
}

namespace {

std::vector<Label> LabelsOf(const prometheus::ClientMetric& metric) {
  std::vector<Label> labels;
  labels.reserve(metric.label.size());
  for (const auto& pair : metric.label) labels.emplace_back(pair.name, pair.value);
  return labels;
}

}  // namespace

void ExpositionWriter::WriteCounterFamily(const prometheus::MetricFamily& family) {
  Family({family.name, family.help, "counter"});
  for (const auto& metric : family.metric) {
    WriteSample(family.name, LabelsOf(metric), {}, {}, metric.counter.value);
  }
}

void ExpositionWriter::WriteHistogramFamily(const prometheus::MetricFamily& family) {
  Family({family.name, family.help, "histogram"});
  const std::string bucket = family.name + "_bucket";
  const std::string sum = family.name + "_sum";
  const std::string count = family.name + "_count";
  std::string bound;
  for (const auto& metric : family.metric) {
    const std::vector<Label> labels = LabelsOf(metric);
    for (const auto& b : metric.histogram.bucket) {
      bound.clear();
      AppendSampleValue(bound, b.upper_bound);
      WriteSample(bucket, labels, "le", bound, static_cast<double>(b.cumulative_count));
    }
    WriteSample(sum, labels, {}, {}, metric.histogram.sample_sum);
    WriteSample(count, labels, {}, {}, static_cast<double>(metric.histogram.sample_count));
  }
}

void ExpositionWriter::Families(const std::vector<prometheus::MetricFamily>& families) {
  for (const auto& family : families) {
    switch (family.type) {
      case prometheus::MetricType::Counter:
        WriteCounterFamily(family);
        break;
      case prometheus::MetricType::Histogram:
        WriteHistogramFamily(family);
        break;
      // ApiMetrics registers none of these; give one its branch when it does.
      case prometheus::MetricType::Gauge:
      case prometheus::MetricType::Summary:
      case prometheus::MetricType::Untyped:
        break;
    }
  }
}

}  // namespace esim
