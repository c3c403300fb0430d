// A raw TCP client for the requests httplib::Client will not send: floods, trickles, pipelines,
// malformed framing. No HTTP library involved.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

namespace esim_test {

class RawConnection {
 public:
  // Connects to 127.0.0.1:port; connected() tells whether it worked.
  explicit RawConnection(int port);
  ~RawConnection();
  RawConnection(RawConnection&& other) noexcept;
  RawConnection(const RawConnection&) = delete;
  RawConnection& operator=(const RawConnection&) = delete;
  RawConnection& operator=(RawConnection&&) = delete;

  bool connected() const { return fd_ >= 0; }
  int fd() const { return fd_; }
  // Sends all of `bytes`; false when the server closed or reset the connection, or when it did
  // not take them within `timeout` (it stopped reading).
  bool Send(std::string_view bytes, std::chrono::milliseconds timeout = std::chrono::seconds(5));
  // Reads until the server closes the connection or `timeout` passes.
  std::string ReadUntilClosed(std::chrono::milliseconds timeout);
  // Reads until `text` has arrived (returns everything read), or `timeout` passes.
  std::string ReadUntil(std::string_view text, std::chrono::milliseconds timeout);
  // Whether the server has closed (or reset) the connection, waiting up to `timeout`.
  bool ClosedByServer(std::chrono::milliseconds timeout);
  void Close();

 private:
  int fd_ = -1;
};

// The status code of the first status line in `response` (0 when there is none).
int StatusOf(const std::string& response);
// How many responses with `status` the text holds ("HTTP/1.1 <status> ").
int CountStatus(const std::string& response, int status);

}  // namespace esim_test
