// A large page (/metrics) written as it is rendered, gzip-compressed by the exporter when the
// client accepts it, so neither the page nor its compressed form is ever held whole. While the
// calling thread renders the page, a thread of its own compresses and sends the pieces already
// rendered: on two cores a large scrape takes little more than the longer of the two. web.cc sends
// the pieces as a chunked HTTP answer; this file knows no HTTP library.
#pragma once

#include <cstddef>
#include <functional>
#include <string_view>

#include "connection_queue.h"

namespace esim {

// Writes a page through `write`, piece by piece.
using PageWriter = std::function<void(const std::function<void(std::string_view)>& write)>;

// A piece of a page on its way out, with room around it: the bytes from `text - kHeadRoom` to
// `text + size + kTailRoom` may be written, so that a sender frames the piece in place (web.cc
// puts an HTTP chunk's size line before it and CRLF after it) instead of copying it into a frame.
// A /metrics page is ~110 MB at 50,000 eSIMs: each copy of it costs the scrape ~10 ms.
struct OutgoingPiece {
  static constexpr size_t kHeadRoom = 2 * sizeof(size_t) + 2;  // 16 hex digits and CRLF
  static constexpr size_t kTailRoom = 2;
  char* text;
  size_t size;
};

// Sends one piece; false when the client has gone.
using PieceSend = std::function<bool(OutgoingPiece piece)>;

// Renders `page` into `send`, compressed when `gzip`. `send` returns false when the client has
// gone: the rest of the page is then not rendered. Returns whether the whole page was sent; a
// page that throws is logged and cut short (the client sees an incomplete chunked body rather
// than a page missing some series). The pieces are sent from a thread `start_thread` starts
// (std::thread by default); when the system has none to give, from the calling thread.
bool StreamPage(const PageWriter& page, bool gzip, const PieceSend& send,
                const ThreadFactory& start_thread = {});

}  // namespace esim
