// Counts the samples of an exposition text: its lines that are neither empty nor comments.
// Shared by the benchmark programs, which report the series count next to their timings.
#pragma once

#include <cstddef>
#include <string_view>

inline size_t CountSeries(std::string_view text) {
  size_t series = 0;
  size_t line_start = 0;
  while (line_start < text.size()) {
    size_t line_end = text.find('\n', line_start);
    if (line_end == std::string_view::npos) line_end = text.size();
    if (line_end > line_start && text[line_start] != '#') ++series;
    line_start = line_end + 1;
  }
  return series;
}
