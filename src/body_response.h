// Answers a request with a large body (the /metrics page): gzip when the client accepts it,
// and the bytes handed to cpp-httplib without a copy (a content provider of known length, which
// cpp-httplib neither copies nor compresses again).
#pragma once

#include <memory>
#include <string>

namespace httplib {
struct Request;
struct Response;
}  // namespace httplib

namespace esim {

void ServeBody(std::shared_ptr<const std::string> body, const std::string& content_type,
               const httplib::Request& req, httplib::Response& res);

}  // namespace esim
