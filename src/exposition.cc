#include "exposition.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <span>

namespace esim {
namespace {

// A label value's escaped form takes at most 3 bytes per byte (a control byte becomes U+FFFD).
constexpr size_t kMaxEscapedBytesPerByte = 3;

// Names and label texts are short and copied ~3 million times a page: copies of fixed sizes
// (two that overlap cover any length between them) compile to a few moves, where memcpy paid a
// call and its dispatch on the size each time.
char* Copy(char* out, std::string_view text) {
  const size_t size = text.size();
  const char* from = text.data();
  if (size > 64) {
    std::memcpy(out, from, size);
  } else if (size >= 16) {
    for (size_t at = 0; at + 16 < size; at += 16) std::memcpy(out + at, from + at, 16);
    std::memcpy(out + size - 16, from + size - 16, 16);
  } else if (size >= 8) {
    std::memcpy(out, from, 8);
    std::memcpy(out + size - 8, from + size - 8, 8);
  } else if (size >= 4) {
    std::memcpy(out, from, 4);
    std::memcpy(out + size - 4, from + size - 4, 4);
  } else {
    // An empty view may hold a null pointer, which memcpy must not be given even for 0 bytes.
    for (size_t at = 0; at < size; ++at) out[at] = from[at];
  }
  return out + size;
}

// Writes `value` escaped as the text format wants it (backslash, double quote, newline); needs
// room for kMaxEscapedBytesPerByte bytes per byte of `value`.
char* WriteEscapedLabelValue(char* out, std::string_view value) {
  // Most values need no escaping: copy them whole.
  const auto plain = [](char c) {
    return c != '\\' && c != '"' && static_cast<unsigned char>(c) >= 0x20 && c != 0x7f;
  };
  if (std::all_of(value.begin(), value.end(), plain)) return Copy(out, value);
  for (char c : value) {
    // Control characters from the API (\r, tab, NUL, DEL...) would reach dashboards and
    // Alertmanager as they are: each becomes U+FFFD. \n keeps its exposition escape.
    if (c != '\n' && (static_cast<unsigned char>(c) < 0x20 || c == 0x7f)) {
      out = Copy(out, "\xEF\xBF\xBD");
      continue;
    }
    switch (c) {
      case '\\':
        out = Copy(out, "\\\\");
        break;
      case '"':
        out = Copy(out, "\\\"");
        break;
      case '\n':
        out = Copy(out, "\\n");
        break;
      default:
        *out++ = c;
    }
  }
  return out;
}

// `value` written as a whole number of thousandths, when it is the double nearest to one (times,
// ages and byte counts of the API are): the shortest form that reads back exactly is then those
// digits, which std::to_chars finds only after a search that took 14 % of a page's rendering.
// Such a value of 1 <= |value| < 10^12 has at most 15 significant digits, and no two decimals of
// at most 15 digits round to the same double, so none shorter reads back as `value`; at least 1,
// the fixed form is shorter than the exponent form. nullptr when `value` is not such a value.
char* WriteThousandths(char* out, double value) {
  const double magnitude = std::fabs(value);
  if (!(magnitude >= 1 && magnitude < 1e12)) return nullptr;
  const double scaled = std::nearbyint(value * 1000);
  if (scaled / 1000 != value) return nullptr;
  int64_t thousandths = static_cast<int64_t>(scaled);
  if (thousandths < 0) {
    *out++ = '-';
    thousandths = -thousandths;
  }
  out = std::to_chars(out, out + kMaxSampleValueBytes, thousandths / 1000).ptr;
  const auto fraction = static_cast<int>(thousandths % 1000);  // not 0: whole values come first
  const int tenths = fraction / 100, hundredths = fraction / 10 % 10, rest = fraction % 10;
  *out++ = '.';
  *out++ = static_cast<char>('0' + tenths);
  if (hundredths != 0 || rest != 0) *out++ = static_cast<char>('0' + hundredths);
  if (rest != 0) *out++ = static_cast<char>('0' + rest);
  return out;
}

}  // namespace

char* WriteSampleValue(char* out, double value) {
  // Most samples of a page are 0 or 1 (state sets, info families).
  if (value == 0) {
    *out = '0';
    return out + 1;
  }
  if (value == 1) {
    *out = '1';
    return out + 1;
  }
  if (std::isnan(value)) return Copy(out, "NaN");
  if (std::isinf(value)) return Copy(out, value > 0 ? "+Inf" : "-Inf");
  // Whole numbers (counts, bytes, Unix seconds) print without an exponent.
  if (value == std::trunc(value) && std::fabs(value) < 9007199254740992.0) {
    return std::to_chars(out, out + kMaxSampleValueBytes, static_cast<int64_t>(value)).ptr;
  }
  if (char* end = WriteThousandths(out, value)) return end;
  return std::to_chars(out, out + kMaxSampleValueBytes, value).ptr;
}

void AppendSampleValue(std::string& out, double value) {
  char buffer[kMaxSampleValueBytes];
  out.append(buffer, WriteSampleValue(buffer, value));
}

void AppendEscapedLabelValue(std::string& out, std::string_view value) {
  const size_t start = out.size();
  out.resize(start + kMaxEscapedBytesPerByte * value.size());
  const char* end = WriteEscapedLabelValue(out.data() + start, value);
  out.resize(static_cast<size_t>(end - out.data()));
}

ExpositionWriter::ExpositionWriter(std::string& buffer, TextSink flush, size_t flush_at)
    : out_(buffer), flush_(std::move(flush)), flush_at_(flush_at) {
  // Room for a piece and the sample that ends it: resized once, not per sample.
  out_.resize(flush_at_ + 4096);
}

ExpositionWriter::~ExpositionWriter() {
  // Shrinking never reallocates: `out_` keeps its capacity for the next page.
  out_.resize(used_);
}

char* ExpositionWriter::Reserve(size_t bytes) {
  if (out_.size() - used_ < bytes) out_.resize(std::max(2 * out_.size(), used_ + bytes));
  return out_.data() + used_;
}

void ExpositionWriter::Append(std::string_view text) {
  used_ = static_cast<size_t>(Copy(Reserve(text.size()), text) - out_.data());
}

void ExpositionWriter::Flush() {
  if (!flush_) {
    out_.resize(used_);
    return;
  }
  if (used_ == 0) return;
  flush_(std::string_view(out_.data(), used_));
  used_ = 0;
}

void ExpositionWriter::Family(const MetricDesc& desc) {
  Append("# HELP ");
  Append(desc.name);
  Append(" ");
  for (char c : desc.help) {
    if (c == '\\') {
      Append("\\\\");
    } else if (c == '\n') {
      Append("\\n");
    } else {
      Append(std::string_view(&c, 1));
    }
  }
  Append("\n# TYPE ");
  Append(desc.name);
  Append(" ");
  Append(desc.type);
  Append("\n");
}

template <typename Labels>
void ExpositionWriter::WriteSample(std::string_view name, const Labels& labels,
                                   std::string_view extra_name, std::string_view extra_value,
                                   double value) {
  // name{label="value",...} value\n
  size_t bytes = name.size() + 3 + kMaxSampleValueBytes;
  const auto room = [](std::string_view label_name, std::string_view label_value) {
    return label_name.size() + 4 + kMaxEscapedBytesPerByte * label_value.size();
  };
  for (const auto& [label_name, label_value] : labels) bytes += room(label_name, label_value);
  bytes += room(extra_name, extra_value);
  char* out = Copy(Reserve(bytes), name);
  bool first = true;
  auto write_label = [&](std::string_view label_name, std::string_view label_value) {
    *out++ = first ? '{' : ',';
    first = false;
    out = Copy(out, label_name);
    out = Copy(out, "=\"");
    out = WriteEscapedLabelValue(out, label_value);
    *out++ = '"';
  };
  for (const auto& [label_name, label_value] : labels) write_label(label_name, label_value);
  if (!extra_name.empty()) write_label(extra_name, extra_value);
  if (!first) *out++ = '}';
  *out++ = ' ';
  out = WriteSampleValue(out, value);
  *out++ = '\n';
  Commit(out);
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
  // name{pieces} value\n
  size_t bytes = desc.name.size() + 4 + kMaxSampleValueBytes;
  for (std::string_view piece : pieces) bytes += piece.size();
  char* out = Copy(Reserve(bytes), desc.name);
  *out++ = '{';
  for (std::string_view piece : pieces) out = Copy(out, piece);
  *out++ = '}';
  *out++ = ' ';
  out = WriteSampleValue(out, value);
  *out++ = '\n';
  Commit(out);
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
