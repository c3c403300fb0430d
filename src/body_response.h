// Answers a request with a large page (/metrics) streamed as it is rendered: chunked transfer
// encoding, gzip by the exporter when the client accepts it (zlib's fastest level), so neither
// the page nor its compressed form is ever held whole.
#pragma once

#include <functional>
#include <string>
#include <string_view>

namespace httplib {
struct Request;
struct Response;
}  // namespace httplib

namespace esim {

// Writes a page through `write`, piece by piece.
using PageWriter = std::function<void(const std::function<void(std::string_view)>& write)>;

void ServeStream(PageWriter page, const std::string& content_type, const httplib::Request& req,
                 httplib::Response& res);

}  // namespace esim
