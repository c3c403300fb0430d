// Every limit of the exporter's HTTP server, in one place; docs/http-hardening.md says what each
// defends against and what was measured. The few that cpp-httplib only takes as macros
// (listen backlog, header count) are set on the CMake target cpp_httplib in the top-level
// CMakeLists.txt; web.cc checks them against these at compile time.
#pragma once

#include <chrono>
#include <cstddef>

namespace esim::http_limits {

// Connections served at once, a thread each. The systemd unit's TasksMax=256 counts every
// thread of the process: the poller's (api.max_concurrency, at most 64), a handful of others,
// and these. Past the cap, connections wait in line; past kMaxWaiting they are closed at once.
inline constexpr size_t kMaxWorkers = 128;
inline constexpr size_t kMaxWaiting = 256;
// listen(2) backlog (CPPHTTPLIB_LISTEN_BACKLOG); the kernel caps it at net.core.somaxconn.
inline constexpr int kListenBacklog = 512;
// TCP_DEFER_ACCEPT: a connection reaches accept() only once its first bytes arrived (or after
// about this long), so clients that connect and send nothing do not hold a worker.
inline constexpr int kDeferAcceptSeconds = 5;

// A request (request line, headers, body and its chunk framing) must arrive completely within
// this time of its first byte, whatever the pace: one header line a second cannot hold a
// worker for ever. The TLS handshake has the same deadline of its own.
inline constexpr std::chrono::seconds kRequestDeadline{10};
// While every worker is busy (connections wait in line), a request that has not arrived within
// this time of its first byte is cut, and kept-alive connections waiting for their next request
// are closed: slow clients make room for the ones waiting. A scraper sends its request at once.
inline constexpr std::chrono::seconds kRequestDeadlineWhenBusy{2};
// ... and may be at most this large on the wire: bounds what one connection makes the server
// hold. Header lines: at most CPPHTTPLIB_HEADER_MAX_COUNT (64), each at most
// CPPHTTPLIB_HEADER_MAX_LENGTH (8 KiB); the request target at most 8 KiB.
inline constexpr size_t kMaxRequestBytes = 64 * 1024;
inline constexpr size_t kMaxHeaderCount = 64;  // == CPPHTTPLIB_HEADER_MAX_COUNT
// Request bodies, whatever the framing (Content-Length, chunked; a request with neither has
// none). Only POST /-/reload takes one, and ignores it; the webhook receiver's path is the one
// exception to this cap (below).
inline constexpr size_t kMaxBodyBytes = 4 * 1024;
// The webhook receiver's path (webhook.path) alone: deliveries up to 64 KiB (the vendor's
// limit; larger ones are answered 413 by the receiver), so that request may be this much larger
// on the wire (the body, and chunk framing). Every other path keeps kMaxBodyBytes, also on a
// listener that serves the receiver: a chunked body there may take at most
// kMaxChunkedBodyWireBytes on the wire (cpp-httplib's own cap is then the receiver's).
inline constexpr size_t kMaxWebhookBodyBytes = 64 * 1024;
inline constexpr size_t kMaxWebhookRequestBytes =
    kMaxRequestBytes + kMaxWebhookBodyBytes + 8 * 1024;
inline constexpr size_t kMaxChunkedBodyWireBytes = 2 * kMaxBodyBytes + 1024;

// Silence allowed while reading or writing (each wait), and after a request before the next
// one on a kept-alive connection. Idle connections hold a worker each: keep that short.
inline constexpr std::chrono::seconds kReadTimeout{5};
inline constexpr std::chrono::seconds kWriteTimeout{10};
inline constexpr std::chrono::seconds kKeepAliveTimeout{2};
inline constexpr size_t kKeepAliveMaxRequests = 100;

// Range requests are ignored (every answer is 200 with the whole body): /metrics is generated
// per scrape, and the landing page is small; ranges would only let one request ask for the
// same bytes many times.

}  // namespace esim::http_limits
