#include "gzip.h"

#include <isa-l/igzip_lib.h>

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <vector>

namespace esim {
namespace {

std::string_view Trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

bool EqualsIgnoringCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return (x | 0x20) == (y | 0x20);
         });
}

// The weight of one "coding;q=0.5" element; 1 without a q parameter, 0 when q is malformed.
double Weight(std::string_view parameters) {
  while (!parameters.empty()) {
    const size_t end = std::min(parameters.find(';'), parameters.size());
    const std::string_view parameter = Trim(parameters.substr(0, end));
    parameters.remove_prefix(std::min(end + 1, parameters.size()));
    if (parameter.size() < 2 || (parameter[0] | 0x20) != 'q' || parameter[1] != '=') continue;
    const std::string_view value = Trim(parameter.substr(2));
    double q = 0;
    const auto [end_of_number, error] =
        std::from_chars(value.data(), value.data() + value.size(), q);
    if (error != std::errc() || end_of_number != value.data() + value.size()) return 0;
    return q;
  }
  return 1;
}

}  // namespace

bool AcceptsGzip(std::string_view accept_encoding) {
  std::optional<double> gzip, any;
  while (!accept_encoding.empty()) {
    const size_t end = std::min(accept_encoding.find(','), accept_encoding.size());
    const std::string_view element = accept_encoding.substr(0, end);
    accept_encoding.remove_prefix(std::min(end + 1, accept_encoding.size()));
    const size_t semicolon = std::min(element.find(';'), element.size());
    const std::string_view coding = Trim(element.substr(0, semicolon));
    const double weight = Weight(element.substr(std::min(semicolon + 1, element.size())));
    if (EqualsIgnoringCase(coding, "gzip") || EqualsIgnoringCase(coding, "x-gzip")) {
      gzip = weight;
    } else if (coding == "*") {
      any = weight;
    }
  }
  if (gzip) return *gzip > 0;
  return any && *any > 0;
}

struct GzipStream::State {
  isal_zstream stream{};
  std::vector<uint8_t> level_buffer = std::vector<uint8_t>(ISAL_DEF_LVL1_DEFAULT);
  std::vector<uint8_t> chunk = std::vector<uint8_t>(128 * 1024);
  bool finished = false;
};

GzipStream::GzipStream() : state_(std::make_unique<State>()) {
  isal_zstream& stream = state_->stream;
  isal_deflate_init(&stream);
  stream.level = 1;
  stream.level_buf = state_->level_buffer.data();
  stream.level_buf_size = static_cast<uint32_t>(state_->level_buffer.size());
  stream.gzip_flag = IGZIP_GZIP;  // a gzip header and trailer around the deflate data
}

GzipStream::~GzipStream() = default;

void GzipStream::Compress(std::string_view data, bool finish, std::string& out) {
  if (state_->finished) throw std::logic_error("gzip stream already finished");
  isal_zstream& stream = state_->stream;
  // The compressor counts in 32 bits: feed large inputs in slices.
  constexpr size_t kSlice = 1u << 30;
  do {
    const size_t slice = std::min(data.size(), kSlice);
    const bool last_slice = slice == data.size();
    stream.next_in = reinterpret_cast<uint8_t*>(const_cast<char*>(data.data()));
    stream.avail_in = static_cast<uint32_t>(slice);
    stream.end_of_stream = finish && last_slice ? 1 : 0;
    stream.flush = NO_FLUSH;
    // Through a small chunk rather than a body-sized buffer: the output is a fraction of the
    // input, and a scrape should not hold a second body-sized buffer.
    do {
      stream.next_out = state_->chunk.data();
      stream.avail_out = static_cast<uint32_t>(state_->chunk.size());
      if (isal_deflate(&stream) != COMP_OK) throw std::runtime_error("igzip: deflate failed");
      out.append(reinterpret_cast<const char*>(state_->chunk.data()),
                 state_->chunk.size() - stream.avail_out);
    } while (stream.avail_in > 0 || stream.avail_out == 0 ||
             (stream.end_of_stream && stream.internal_state.state != ZSTATE_END));
    data.remove_prefix(slice);
    if (last_slice) break;
  } while (true);
  state_->finished = finish;
}

std::string GzipCompress(std::string_view data) {
  GzipStream stream;
  std::string out;
  out.reserve(data.size() / 8);
  stream.Compress(data, /*finish=*/true, out);
  return out;
}

}  // namespace esim
