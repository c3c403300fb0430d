#include "body_response.h"

#include <exception>
#include <optional>
#include <string>
#include <system_error>
#include <thread>
#include <utility>

#include "gzip.h"
#include "log.h"
#include "piece_pipeline.h"

namespace esim {
namespace {

// Thrown when the client has gone: the rest of the page is not rendered.
struct ClientGone {};

// Pieces rendered but not yet sent: two keep both threads busy (four were not measurably faster)
// and cost little memory (a /metrics piece is ~512 KiB, kMetricsPieceBytes).
constexpr size_t kPiecesInFlight = 2;

constexpr size_t kHeadRoom = OutgoingPiece::kHeadRoom;
constexpr size_t kTailRoom = OutgoingPiece::kTailRoom;

// Sends pieces, through the compressor when the client takes gzip. Every piece goes out with the
// room around it that OutgoingPiece promises.
class PieceSender {
 public:
  PieceSender(bool gzip, const PieceSend& send) : send_(send) {
    if (gzip) compressor_.emplace();
  }

  // A piece with the room around it already, as the pipeline gives them (throws ClientGone).
  void SendWithRoom(std::string& buffer) {
    if (!compressor_) return SendOrThrow(buffer);
    Compress(std::string_view(buffer).substr(kHeadRoom, buffer.size() - kHeadRoom - kTailRoom),
             /*finish=*/false);
  }

  // A piece without room (one thread: straight from the renderer).
  void Send(std::string_view piece) {
    if (compressor_) return Compress(piece, /*finish=*/false);
    staging_.assign(kHeadRoom, '\0');
    staging_ += piece;
    staging_.append(kTailRoom, '\0');
    SendOrThrow(staging_);
  }

  void Finish() {
    if (compressor_) Compress({}, /*finish=*/true);
  }

 private:
  void Compress(std::string_view piece, bool finish) {
    staging_.assign(kHeadRoom, '\0');
    compressor_->Compress(piece, finish, staging_);
    staging_.append(kTailRoom, '\0');
    SendOrThrow(staging_);
  }

  // `buffer` holds room, the piece, room.
  void SendOrThrow(std::string& buffer) {
    const size_t size = buffer.size() - kHeadRoom - kTailRoom;
    if (size != 0 && !send_({buffer.data() + kHeadRoom, size})) throw ClientGone{};
  }

  const PieceSend& send_;
  std::optional<GzipStream> compressor_;
  std::string staging_;  // a piece compressed, or copied to get room around it
};

// Runs `step`; false when the client has gone or it threw (logged: the page is cut short).
template <typename Step>
bool Attempt(const Step& step) {
  try {
    step();
    return true;
  } catch (const ClientGone&) {
  } catch (const std::exception& e) {
    LogError("streaming a page failed", {{"error", e.what()}});
  } catch (...) {
    // Whatever it is, it must not leave StreamPage with the sending thread still running.
    LogError("streaming a page failed", {{"error", "unknown exception"}});
  }
  return false;
}

// Sends what `pipeline` brings until the renderer closes it; false when the client has gone or
// sending failed (the pipeline is then stopped, so the renderer stops too).
bool SendPieces(PiecePipeline& pipeline, PieceSender& sender) {
  const bool sent = Attempt([&] {
    std::string piece;
    while (pipeline.Take(piece)) sender.SendWithRoom(piece);
  });
  if (!sent) pipeline.Stop();
  return sent;
}

}  // namespace

bool StreamPage(const PageWriter& page, bool gzip, const PieceSend& send,
                const ThreadFactory& start_thread) {
  PieceSender sender(gzip, send);
  PiecePipeline pipeline(kPiecesInFlight);
  bool sent = false;  // written by the sending thread, read once it is joined
  auto send_pieces = [&] { sent = SendPieces(pipeline, sender); };
  std::thread sending;
  try {
    sending = start_thread ? start_thread(send_pieces) : std::thread(send_pieces);
  } catch (const std::system_error&) {
    // No thread to spare (TasksMax): render and send one piece after the other.
    return Attempt([&] {
      page([&](std::string_view piece) { sender.Send(piece); });
      sender.Finish();
    });
  }
  // Rendered here, on the connection's thread: what a page allocates while it is rendered then
  // comes from the allocator arena that thread always uses. Rendered on a new thread instead,
  // peak RSS at 50,000 eSIMs was 117 MiB against 102 when malloc had two arenas (likely each
  // arena keeping its copy).
  const bool rendered = Attempt([&] {
    page([&](std::string_view piece) {
      // The one copy of the piece: into a buffer with room to frame it in.
      if (!pipeline.Put(piece, kHeadRoom, kTailRoom)) throw ClientGone{};
    });
  });
  pipeline.Close();
  sending.join();
  return rendered && sent && Attempt([&] { sender.Finish(); });
}

}  // namespace esim
