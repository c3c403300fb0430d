// A large page (/metrics) written as it is rendered, gzip-compressed by the exporter when the
// client accepts it, so neither the page nor its compressed form is ever held whole. While the
// calling thread renders the page, a thread of its own compresses and sends the pieces already
// rendered: on two cores a large scrape takes little more than the longer of the two. web.cc sends
// the pieces as a chunked HTTP answer; this file knows no HTTP library.
#pragma once

#include <functional>
#include <string_view>

#include "connection_queue.h"

namespace esim {

// Writes a page through `write`, piece by piece.
using PageWriter = std::function<void(const std::function<void(std::string_view)>& write)>;

// Renders `page` into `send`, compressed when `gzip`. `send` returns false when the client has
// gone: the rest of the page is then not rendered. Returns whether the whole page was sent; a
// page that throws is logged and cut short (the client sees an incomplete chunked body rather
// than a page missing some series). The pieces are sent from a thread `start_thread` starts
// (std::thread by default); when the system has none to give, from the calling thread.
bool StreamPage(const PageWriter& page, bool gzip,
                const std::function<bool(std::string_view)>& send,
                const ThreadFactory& start_thread = {});

}  // namespace esim
