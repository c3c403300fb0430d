#include "body_response.h"

#include <exception>
#include <optional>
#include <string>

#include "gzip.h"
#include "log.h"

namespace esim {
namespace {

// Thrown by the page's write callback when the client has gone: the rest is not rendered.
struct ClientGone {};

}  // namespace

bool StreamPage(const PageWriter& page, bool gzip,
                const std::function<bool(std::string_view)>& send) {
  std::optional<GzipStream> compressor;
  if (gzip) compressor.emplace();
  std::string compressed;
  auto send_or_throw = [&](std::string_view bytes) {
    if (!bytes.empty() && !send(bytes)) throw ClientGone{};
  };
  try {
    page([&](std::string_view piece) {
      if (!compressor) return send_or_throw(piece);
      compressed.clear();
      compressor->Compress(piece, /*finish=*/false, compressed);
      send_or_throw(compressed);
    });
    if (compressor) {
      compressed.clear();
      compressor->Compress({}, /*finish=*/true, compressed);
      send_or_throw(compressed);
    }
  } catch (const ClientGone&) {
    return false;
  } catch (const std::exception& e) {
    LogError("streaming a page failed", {{"error", e.what()}});
    return false;
  }
  return true;
}

}  // namespace esim
