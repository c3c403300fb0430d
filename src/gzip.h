// gzip for /metrics, done by the exporter rather than cpp-httplib: ISA-L's igzip at level 1,
// about six times as fast as zlib's fastest level for the same size on an exposition page (the
// body of a large fleet is highly repetitive, so speed costs little size), and no extra copy of
// the uncompressed body.
#pragma once

#include <memory>
#include <string>
#include <string_view>

namespace esim {

// True when an Accept-Encoding header value accepts gzip (RFC 9110 12.5.3): "gzip" or "x-gzip"
// with a non-zero q, or "*" with a non-zero q when gzip is not named.
bool AcceptsGzip(std::string_view accept_encoding);

// One gzip member (RFC 1952) written piece by piece. Throws std::runtime_error when the
// compressor fails.
class GzipStream {
 public:
  GzipStream();
  ~GzipStream();
  GzipStream(const GzipStream&) = delete;
  GzipStream& operator=(const GzipStream&) = delete;

  // Appends to `out` what compressing `data` yields so far; `finish` ends the member (header,
  // data and trailer are then all out). Nothing may follow a finishing call.
  void Compress(std::string_view data, bool finish, std::string& out);

 private:
  struct State;
  std::unique_ptr<State> state_;
};

// A complete gzip member holding `data`.
std::string GzipCompress(std::string_view data);

}  // namespace esim
