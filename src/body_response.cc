#include "body_response.h"

#include <httplib.h>

#include "gzip.h"

namespace esim {

void ServeBody(std::shared_ptr<const std::string> body, const std::string& content_type,
               const httplib::Request& req, httplib::Response& res) {
  res.set_header("Vary", "Accept-Encoding");
  if (AcceptsGzip(req.get_header_value("Accept-Encoding"))) {
    body = std::make_shared<const std::string>(GzipCompress(*body));  // frees the plain text
    res.set_header("Content-Encoding", "gzip");
  }
  if (body->empty()) {
    res.set_content("", content_type);
    return;
  }
  res.set_content_provider(body->size(), content_type,
                           [body](size_t offset, size_t length, httplib::DataSink& sink) {
                             return sink.write(body->data() + offset, length);
                           });
}

}  // namespace esim
