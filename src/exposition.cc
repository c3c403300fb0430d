#include "exposition.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>

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

void ExpositionWriter::Family(std::string_view name, std::string_view help, std::string_view type) {
  out_ += "# HELP ";
  out_ += name;
  out_ += ' ';
  for (char c : help) {
    if (c == '\\') {
      out_ += "\\\\";
    } else if (c == '\n') {
      out_ += "\\n";
    } else {
      out_ += c;
    }
  }
  out_ += "\n# TYPE ";
  out_ += name;
  out_ += ' ';
  out_ += type;
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

void ExpositionWriter::Sample(std::string_view name, std::initializer_list<Label> labels,
                              double value) {
  WriteSample(name, labels, {}, {}, value);
}

void ExpositionWriter::SampleWithLabelText(std::string_view name,
                                           std::initializer_list<std::string_view> pieces,
                                           double value) {
  out_ += name;
  out_ += '{';
  for (std::string_view piece : pieces) out_ += piece;
  out_ += "} ";
  AppendValue(value);
  out_ += '\n';
  MaybeFlush();
}

void ExpositionWriter::Families(const std::vector<prometheus::MetricFamily>& families) {
  using prometheus::MetricType;
  for (const auto& family : families) {
    const char* type = "untyped";
    switch (family.type) {
      case MetricType::Counter:
        type = "counter";
        break;
      case MetricType::Gauge:
        type = "gauge";
        break;
      case MetricType::Histogram:
        type = "histogram";
        break;
      case MetricType::Summary:
        type = "summary";
        break;
      case MetricType::Untyped:
        break;
    }
    Family(family.name, family.help, type);
    for (const auto& metric : family.metric) {
      std::vector<Label> labels;
      labels.reserve(metric.label.size());
      for (const auto& pair : metric.label) labels.emplace_back(pair.name, pair.value);
      switch (family.type) {
        case MetricType::Counter:
          WriteSample(family.name, labels, {}, {}, metric.counter.value);
          break;
        case MetricType::Gauge:
          WriteSample(family.name, labels, {}, {}, metric.gauge.value);
          break;
        case MetricType::Untyped:
          WriteSample(family.name, labels, {}, {}, metric.untyped.value);
          break;
        case MetricType::Histogram: {
          const std::string bucket = family.name + "_bucket";
          std::string bound;
          for (const auto& b : metric.histogram.bucket) {
            bound.clear();
            AppendSampleValue(bound, b.upper_bound);
            WriteSample(bucket, labels, "le", bound, static_cast<double>(b.cumulative_count));
          }
          WriteSample(family.name + "_sum", labels, {}, {}, metric.histogram.sample_sum);
          WriteSample(family.name + "_count", labels, {}, {},
                      static_cast<double>(metric.histogram.sample_count));
          break;
        }
        case MetricType::Summary: {
          std::string quantile;
          for (const auto& q : metric.summary.quantile) {
            quantile.clear();
            AppendSampleValue(quantile, q.quantile);
            WriteSample(family.name, labels, "quantile", quantile, q.value);
          }
          WriteSample(family.name + "_sum", labels, {}, {}, metric.summary.sample_sum);
          WriteSample(family.name + "_count", labels, {}, {},
                      static_cast<double>(metric.summary.sample_count));
          break;
        }
      }
    }
  }
}

}  // namespace esim
