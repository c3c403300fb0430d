// gzip for /metrics, done by the exporter rather than cpp-httplib: zlib's fastest level (the body
// of a large fleet is highly repetitive, so speed costs little size) and no extra copy of the
// uncompressed body.
#pragma once

#include <string>
#include <string_view>

namespace esim {

// True when an Accept-Encoding header value accepts gzip (RFC 9110 12.5.3): "gzip" or "x-gzip"
// with a non-zero q, or "*" with a non-zero q when gzip is not named.
bool AcceptsGzip(std::string_view accept_encoding);

// A complete gzip member (RFC 1952) holding `data`. Throws std::runtime_error when zlib fails.
std::string GzipCompress(std::string_view data, int level = 1);

}  // namespace esim
