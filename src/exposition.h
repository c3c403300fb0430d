// Writes the Prometheus text exposition format 0.0.4 into one string buffer: families, samples,
// escaping and number formatting, without intermediate objects. Not thread safe (one per scrape).
#pragma once

#include <prometheus/metric_family.h>

#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace esim {

using Label = std::pair<std::string_view, std::string_view>;

inline constexpr char kExpositionContentType[] = "text/plain; version=0.0.4; charset=utf-8";

// One metric family, declared once (as node_exporter's prometheus.NewDesc): the writer takes it
// for the family's HELP and TYPE lines and for each of its samples, so a name is written in one
// place. Declare them as constexpr constants next to the code that writes them.
struct MetricDesc {
  std::string_view name;
  std::string_view help;  // escaped by the writer
  std::string_view type;  // "gauge" or "counter"
};

// Receives the text in pieces while it is written (a streamed /metrics answer).
using TextSink = std::function<void(std::string_view piece)>;

class ExpositionWriter {
 public:
  // Appends the text to `out`. `out` holds exactly the text written so far after Flush() and
  // once the writer is gone; in between its tail is the writer's scratch space.
  explicit ExpositionWriter(std::string& out) : out_(out), used_(out.size()) {}
  // Hands the text to `flush` whenever `flush_at` bytes or more are written after a sample, so
  // a large page never has to be held whole; `buffer` is the (reused) space the text is written
  // into. Call Flush() once at the end: text not flushed is dropped.
  ExpositionWriter(std::string& buffer, TextSink flush, size_t flush_at);
  ExpositionWriter(const ExpositionWriter&) = delete;
  ExpositionWriter& operator=(const ExpositionWriter&) = delete;
  ~ExpositionWriter();
  void Flush();

  // The "# HELP" and "# TYPE" lines.
  void Family(const MetricDesc& desc);

  void Sample(const MetricDesc& desc, std::initializer_list<Label> labels, double value);
  // The same with the label account="…" first; without it when `account` is empty (the unnamed
  // account's series keep the labels they had before accounts existed).
  void AccountSample(const MetricDesc& desc, std::string_view account,
                     std::initializer_list<Label> labels, double value);
  // A sample whose labels are already escaped and joined (`a="x",b="y"`), given in pieces that
  // are written one after another between the braces. At least one piece must be non-empty.
  void SampleWithLabelText(const MetricDesc& desc, std::initializer_list<std::string_view> pieces,
                           double value);

  // Counter and histogram families collected from a prometheus-cpp registry (ApiMetrics, the
  // exporter's own instrumentation, registers no other type); families of other types are
  // skipped.
  void Families(const std::vector<prometheus::MetricFamily>& families);

 private:
  void WriteCounterFamily(const prometheus::MetricFamily& family);
  void WriteHistogramFamily(const prometheus::MetricFamily& family);
  template <typename Labels>
  void WriteSample(std::string_view name, const Labels& labels, std::string_view extra_name,
                   std::string_view extra_value, double value);
  // Room for `bytes` more at the write position, which it returns. The text is written into
  // `out_` through a pointer, not appended: a page is ~1 million samples of a handful of pieces
  // each, and std::string's per-append bookkeeping was a third of the time to render one.
  char* Reserve(size_t bytes);
  void Append(std::string_view text);
  // Ends a sample written up to `end`; hands the text on when enough is written.
  void Commit(const char* end) {
    used_ = static_cast<size_t>(end - out_.data());
    if (flush_ && used_ >= flush_at_) Flush();
  }

  std::string& out_;
  size_t used_ = 0;  // bytes of `out_` that are text; the rest is scratch space
  TextSink flush_;
  size_t flush_at_ = 0;
};

// Appends a label value escaped as the text format wants it (backslash, double quote, newline).
void AppendEscapedLabelValue(std::string& out, std::string_view value);

// Formats a sample value as the text format wants it: integers without a fraction, others in
// the shortest form that reads back exactly, NaN, +Inf, -Inf.
void AppendSampleValue(std::string& out, double value);

// The most bytes a formatted sample value takes, and the same formatting into a buffer with that
// much room; returns the end of what it wrote.
inline constexpr size_t kMaxSampleValueBytes = 32;
char* WriteSampleValue(char* out, double value);

}  // namespace esim
