#include "body_response.h"

#include <httplib.h>

#include <optional>

#include "gzip.h"
#include "log.h"

namespace esim {
namespace {

// Thrown by the page's write callback when the client has gone: the rest is not rendered.
struct ClientGone {};

}  // namespace

void ServeStream(PageWriter page, const std::string& content_type, const httplib::Request& req,
                 httplib::Response& res) {
  const bool gzip = AcceptsGzip(req.get_header_value("Accept-Encoding"));
  // cpp-httplib would gzip a chunked text/* answer itself, at zlib's default level and on top
  // of ours; the request is this handler's own (a non-const object cpp-httplib passes as
  // const), so hiding the header from it is safe.
  const_cast<httplib::Request&>(req).headers.erase("Accept-Encoding");
  res.set_header("Vary", "Accept-Encoding");
  if (gzip) res.set_header("Content-Encoding", "gzip");
  res.set_chunked_content_provider(
      content_type, [page = std::move(page), gzip](size_t, httplib::DataSink& sink) {
        std::optional<GzipStream> compressor;
        if (gzip) compressor.emplace();
        std::string compressed;
        auto send = [&](std::string_view bytes) {
          if (!bytes.empty() && !sink.write(bytes.data(), bytes.size())) throw ClientGone{};
        };
        try {
          page([&](std::string_view piece) {
            if (!compressor) return send(piece);
            compressed.clear();
            compressor->Compress(piece, /*finish=*/false, compressed);
            send(compressed);
          });
          if (compressor) {
            compressed.clear();
            compressor->Compress({}, /*finish=*/true, compressed);
            send(compressed);
          }
        } catch (const ClientGone&) {
          return false;  // cpp-httplib closes the connection
        } catch (const std::exception& e) {
          // Headers are out: all that is left is to cut the answer short, which the client
          // sees as an incomplete chunked body rather than a page missing some series.
          LogError("streaming a page failed", {{"error", e.what()}});
          return false;
        }
        sink.done();
        return true;
      });
}

}  // namespace esim
