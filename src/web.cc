#include "web.h"

#include <httplib.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstring>
#include <optional>
#include <string_view>
#include <thread>
#include <type_traits>
#include <unordered_set>
#include <utility>

#include "body_response.h"
#include "connection_queue.h"
#include "exposition.h"
#include "gzip.h"
#include "http_limits.h"
#include "log.h"

namespace esim {

bool ParseListenAddress(const std::string& address, std::string& host, int& port) {
  const size_t colon = address.rfind(':');
  if (colon == std::string::npos) return false;
  host = address.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  const std::string port_text = address.substr(colon + 1);
  const auto [end, error] =
      std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (error != std::errc() || end != port_text.data() + port_text.size() || port < 0 ||
      port > 65535 || port_text.empty()) {
    return false;
  }
  if (host.empty()) host = "0.0.0.0";
  return true;
}

// --- The hardened connection loop ---------------------------------------------------------------

namespace {

// cpp-httplib reads a route with regex metacharacters as a regex: --web.telemetry-path=/m.trics
// would also serve /mXtrics. Escaped, the path is matched literally.
std::string LiteralPathPattern(const std::string& path) {
  std::string pattern;
  for (char c : path) {
    if (std::string_view(".^$|()[]{}*+?\\").find(c) != std::string_view::npos) pattern += '\\';
    pattern += c;
  }
  return pattern;
}

using Clock = std::chrono::steady_clock;
namespace limits = http_limits;

static_assert(std::string_view(CPPHTTPLIB_VERSION) == "0.53.1",
              "built against another cpp-httplib than third_party/cpp-httplib (0.53.1): the "
              "connection loop below follows that version's Server::process_and_close_socket");
static_assert(CPPHTTPLIB_LISTEN_BACKLOG == limits::kListenBacklog,
              "CPPHTTPLIB_LISTEN_BACKLOG (CMakeLists.txt) and http_limits.h disagree");
static_assert(CPPHTTPLIB_HEADER_MAX_COUNT == limits::kMaxHeaderCount,
              "CPPHTTPLIB_HEADER_MAX_COUNT (CMakeLists.txt) and http_limits.h disagree");

int Milliseconds(Clock::duration duration) {
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(duration).count();
  return static_cast<int>(std::clamp<int64_t>(ms, 0, 60'000));
}

// Waits for `events` on `sock`; true when they (or a hang-up or error, which the next read or
// write reports) came before `timeout`.
bool Poll(int sock, short events, Clock::duration timeout) {
  pollfd pfd{sock, events, 0};
  int result;
  do {
    result = ::poll(&pfd, 1, Milliseconds(timeout));
  } while (result < 0 && errno == EINTR);
  return result > 0;
}

}  // namespace

// The sockets being served, so that Stop can cut them all at once: shutdown(2) wakes a worker
// wherever it waits (poll, recv, send, a TLS handshake), whatever the client does.
class ActiveConnections {
 public:
  // False when stopping: the caller closes the socket without serving it.
  bool Add(int sock) {
    std::lock_guard lock(mutex_);
    if (stopping_) return false;
    sockets_.insert(sock);
    return true;
  }
  // Before the socket is closed, so Stop never touches a reused descriptor.
  void Remove(int sock) {
    std::lock_guard lock(mutex_);
    sockets_.erase(sock);
  }
  // Every worker is busy and connections wait for one.
  bool saturated() const {
    const ConnectionQueue* queue = queue_.load();
    return queue != nullptr && queue->waiting() > 0;
  }
  // The queue of the server's accept loop, while it runs.
  void SetQueue(const ConnectionQueue* queue) { queue_.store(queue); }
  void Stop() {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    for (const int sock : sockets_) ::shutdown(sock, SHUT_RDWR);
  }
  bool stopping() const { return stopping_.load(); }

 private:
  std::mutex mutex_;
  std::unordered_set<int> sockets_;  // guarded by mutex_
  std::atomic<const ConnectionQueue*> queue_{nullptr};
  std::atomic<bool> stopping_{false};
};

namespace {

// The stream a request is read from: cpp-httplib's socket or TLS stream, plus what cpp-httplib
// does not bound on the server side: an overall deadline for a request to arrive
// (kRequestDeadline, from its first byte, whatever the pace) and its size on the wire
// (kMaxRequestBytes). One per connection, not per request: bytes of a pipelined next request
// already read stay buffered for it.
class GuardedStream final : public httplib::Stream {
 public:
  GuardedStream(httplib::Stream& inner, int sock, const ActiveConnections& connections)
      : inner_(inner), sock_(sock), connections_(connections) {}

  // Waits up to `idle` for the first byte of the next request. A kept-alive connection
  // (`kept_alive`) gives up its worker at once when every worker is busy.
  bool WaitForRequest(Clock::duration idle, bool kept_alive) {
    if (inner_.is_readable()) return true;
    const auto until = Clock::now() + idle;
    for (;;) {
      if (connections_.stopping() || (kept_alive && connections_.saturated())) return false;
      const auto left = until - Clock::now();
      if (left <= Clock::duration::zero()) return false;
      if (Poll(sock_, POLLIN, std::min<Clock::duration>(left, kSlice))) {
        return !connections_.stopping();
      }
    }
  }
  void StartRequest() {
    started_ = Clock::now();
    deadline_ = started_ + limits::kRequestDeadline;
    used_ = 0;
    limit_ = limits::kMaxRequestBytes;
    answered_ = false;
    close_after_answer_ = false;
  }
  // This request may be `limit` bytes on the wire in all (the webhook receiver's path).
  void SetRequestLimit(size_t limit) { limit_ = limit; }
  // The rest of this request (its body) may be at most `bytes` more on the wire.
  void LimitRest(size_t bytes) { limit_ = std::min(limit_, used_ + bytes); }

  // Whether the answer to this request said "Connection: close". cpp-httplib says so after
  // every error (a malformed request among them) but, in 0.53.1, reads on after some of them:
  // a flood of bad header lines would get one 400 per line.
  bool close_after_answer() const { return close_after_answer_; }

  bool is_readable() const override { return inner_.is_readable(); }
  // Data within kReadTimeout, before the request's deadline: kRequestDeadline, or
  // kRequestDeadlineWhenBusy while every worker is busy (checked every kSlice).
  bool wait_readable() const override {
    if (inner_.is_readable()) return true;
    const auto silence_limit = Clock::now() + limits::kReadTimeout;
    for (;;) {
      auto until = std::min(deadline_, silence_limit);
      if (connections_.saturated()) {
        until = std::min(until, started_ + limits::kRequestDeadlineWhenBusy);
      }
      const auto left = until - Clock::now();
      if (left <= Clock::duration::zero() || connections_.stopping()) return false;
      if (Poll(sock_, POLLIN, std::min<Clock::duration>(left, kSlice))) return true;
    }
  }
  bool wait_writable() const override { return inner_.wait_writable(); }
  bool is_peer_alive() const override { return inner_.is_peer_alive(); }

  ssize_t read(char* ptr, size_t size) override {
    if (used_ >= limit_) {
      error_ = httplib::Error::ExceedMaxPayloadSize;
      return -1;
    }
    size = std::min(size, limit_ - used_);
    if (!wait_readable()) {
      error_ = httplib::Error::Timeout;
      return -1;
    }
    const ssize_t n = inner_.read(ptr, size);
    if (n > 0) used_ += static_cast<size_t>(n);
    return n;
  }
  ssize_t write(const char* ptr, size_t size) override {
    // cpp-httplib writes each answer's status line and headers in one piece, first.
    const std::string_view text(ptr, size);
    if (!answered_ && text.rfind("HTTP/1.1 1", 0) != 0) {  // not a 100 Continue
      answered_ = true;
      const std::string_view head = text.substr(0, text.find("\r\n\r\n"));
      close_after_answer_ = head.find("\r\nConnection: close") != std::string_view::npos;
    }
    return inner_.write(ptr, size);
  }

  const char* buffered_data(size_t& size) const override {
    const char* data = inner_.buffered_data(size);
    size = std::min(size, limit_ > used_ ? limit_ - used_ : 0);
    return size > 0 ? data : nullptr;
  }
  void consume_buffered(size_t size) override {
    used_ += size;
    inner_.consume_buffered(size);
  }

  void get_remote_ip_and_port(std::string& ip, int& port) const override {
    inner_.get_remote_ip_and_port(ip, port);
  }
  void get_local_ip_and_port(std::string& ip, int& port) const override {
    inner_.get_local_ip_and_port(ip, port);
  }
  socket_t socket() const override { return inner_.socket(); }
  time_t duration() const override { return inner_.duration(); }
  void set_read_timeout(time_t sec, time_t usec) override { inner_.set_read_timeout(sec, usec); }

 private:
  // How often waits look at the server's state (busy, stopping).
  static constexpr std::chrono::milliseconds kSlice{200};

  httplib::Stream& inner_;
  const int sock_;
  const ActiveConnections& connections_;
  Clock::time_point started_ = Clock::now();
  Clock::time_point deadline_ = started_ + limits::kRequestDeadline;
  size_t used_ = 0;
  size_t limit_ = limits::kMaxRequestBytes;  // bytes this request may take on the wire
  bool answered_ = false;
  bool close_after_answer_ = false;
};

// The stream of the request the calling thread is serving (set by ServeRequests): the handler
// before routing, on the same thread, sets the request's size limit by its path.
thread_local GuardedStream* t_request_stream = nullptr;

// The TLS handshake under the request deadline (cpp-httplib's own waits kReadTimeout per step,
// without an overall bound). The socket is non-blocking meanwhile.
bool AcceptTls(SSL* ssl, int sock, const ActiveConnections& connections) {
  const auto deadline = Clock::now() + limits::kRequestDeadline;
  httplib::detail::set_nonblocking(sock, true);
  BIO* bio = SSL_get_rbio(ssl);
  if (bio != nullptr) BIO_set_nbio(bio, 1);
  bool ok = false;
  for (;;) {
    const int result = SSL_accept(ssl);
    if (result == 1) {
      ok = true;
      break;
    }
    const int error = SSL_get_error(ssl, result);
    short events = 0;  // poll()'s type
    if (error == SSL_ERROR_WANT_READ) events = POLLIN;
    if (error == SSL_ERROR_WANT_WRITE) events = POLLOUT;
    const auto remaining = deadline - Clock::now();
    if (events == 0 || remaining <= Clock::duration::zero() || connections.stopping() ||
        !Poll(sock, events, std::min<Clock::duration>(remaining, limits::kReadTimeout))) {
      break;
    }
  }
  ERR_clear_error();
  if (bio != nullptr) BIO_set_nbio(bio, 0);
  httplib::detail::set_nonblocking(sock, false);
  return ok;
}

// cpp-httplib's Server (or SSLServer) with its connection loop replaced: the same steps as
// 0.53.1's process_and_close_socket (keep-alive, process_request, close), plus the guarded
// stream, one stream per connection (pipelining), Range requests ignored, and registration in
// ActiveConnections (stop). See third_party/cpp-httplib/README.md before upgrading.
template <class Base>
class HardenedServer final : public Base {
 public:
  template <class... Args>
  explicit HardenedServer(ActiveConnections& connections, Args&&... args)
      : Base(std::forward<Args>(args)...), connections_(connections) {}

 private:
  bool process_and_close_socket(socket_t sock) override {
    if (!connections_.Add(sock)) {  // stopping: not served
      httplib::detail::shutdown_socket(sock);
      httplib::detail::close_socket(sock);
      return false;
    }
    bool ok = false;
    if constexpr (std::is_same_v<Base, httplib::SSLServer>) {
      ok = ServeTls(sock);
    } else {
      httplib::detail::SocketStream stream(sock, this->read_timeout_sec_, this->read_timeout_usec_,
                                           this->write_timeout_sec_, this->write_timeout_usec_);
      ok = ServeRequests(sock, stream, {});
    }
    connections_.Remove(sock);
    httplib::detail::drain_and_close_socket(sock);  // shutdown(SHUT_WR), brief drain, close
    return ok;
  }

  bool ServeTls(socket_t sock) {
    httplib::tls::session_t session = httplib::tls::create_session(this->tls_context(), sock);
    if (session == nullptr) return false;
    bool ok = false;
    if (AcceptTls(static_cast<SSL*>(session), sock, connections_)) {
      {
        httplib::detail::SSLSocketStream stream(sock, session, this->read_timeout_sec_,
                                                this->read_timeout_usec_, this->write_timeout_sec_,
                                                this->write_timeout_usec_);
        ok = ServeRequests(sock, stream, [session](httplib::Request& req) { req.ssl = session; });
      }
      httplib::tls::shutdown(session, /*graceful=*/ok);
    }
    httplib::tls::free_session(session);
    return ok;
  }

  bool ServeRequests(socket_t sock, httplib::Stream& inner,
                     const std::function<void(httplib::Request&)>& setup) {
    std::string remote_addr, local_addr;
    int remote_port = 0, local_port = 0;
    httplib::detail::get_remote_ip_and_port(sock, remote_addr, remote_port);
    httplib::detail::get_local_ip_and_port(sock, local_addr, local_port);
    GuardedStream stream(inner, sock, connections_);
    t_request_stream = &stream;
    struct Reset {
      ~Reset() { t_request_stream = nullptr; }
    } reset;
    const auto setup_request = [&setup](httplib::Request& req) {
      // Ranges are ignored: every answer is 200 with the whole body (http_limits.h).
      req.ranges.clear();
      if (setup) setup(req);
    };
    bool ok = false;
    // The first request may take the whole read timeout to start; later ones the keep-alive one.
    Clock::duration idle = limits::kReadTimeout;
    for (size_t served = 0; served < this->keep_alive_max_count_; ++served) {
      if (!stream.WaitForRequest(idle, /*kept_alive=*/served > 0)) break;
      idle = limits::kKeepAliveTimeout;
      stream.StartRequest();
      const bool last = served + 1 == this->keep_alive_max_count_ || connections_.stopping();
      bool connection_closed = false;
      ok = this->process_request(stream, remote_addr, remote_port, local_addr, local_port, last,
                                 connection_closed, setup_request);
      if (!ok || connection_closed || last || stream.close_after_answer()) break;
    }
    return ok;
  }

  ActiveConnections& connections_;
};

// ConnectionQueue (independent of cpp-httplib, so tested alone) as cpp-httplib's task queue.
class TaskQueueAdapter final : public httplib::TaskQueue {
 public:
  explicit TaskQueueAdapter(ActiveConnections& connections)
      : connections_(connections), queue_(limits::kMaxWorkers, limits::kMaxWaiting) {
    connections_.SetQueue(&queue_);
  }
  ~TaskQueueAdapter() override {
    queue_.Shutdown();
    connections_.SetQueue(nullptr);
  }
  bool enqueue(std::function<void()> connection) override {
    return queue_.Enqueue(std::move(connection));  // false: cpp-httplib closes the socket
  }
  void shutdown() override { queue_.Shutdown(); }

 private:
  ActiveConnections& connections_;
  ConnectionQueue queue_;
};

// Writes `piece` as one HTTP/1.1 chunk (RFC 9112 7.1), in one write, framed in place in the room
// around it: cpp-httplib's DataSink::write copies each piece three times on the way (the
// payload, header plus payload, plus the closing CRLF), the largest cost of sending a large page.
// One write per chunk, so that no small frame waits behind Nagle's algorithm.
bool WriteChunk(httplib::Stream& stream, OutgoingPiece piece) {
  char size[2 * sizeof(size_t)];
  // 16 hex digits hold any size_t: to_chars cannot run out of room.
  const size_t digits =
      static_cast<size_t>(std::to_chars(size, size + sizeof size, piece.size, 16).ptr - size);
  char* start = piece.text - digits - 2;
  std::memcpy(start, size, digits);
  start[digits] = '\r';
  start[digits + 1] = '\n';
  piece.text[piece.size] = '\r';
  piece.text[piece.size + 1] = '\n';
  return httplib::detail::write_data(stream, start, digits + 2 + piece.size + 2);
}

// Streams `page` as a chunked answer, gzip-compressed by the exporter when the client accepts it.
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
        // The chunks are written straight to this connection's stream (cpp-httplib writes the
        // headers before and, at done(), the last chunk after), from the thread StreamPage
        // sends from while this one renders.
        GuardedStream* stream = t_request_stream;
        const bool complete = StreamPage(page, gzip, [&](OutgoingPiece piece) {
          if (stream == nullptr) return sink.write(piece.text, piece.size);
          return WriteChunk(*stream, piece);
        });
        if (!complete) return false;  // cpp-httplib closes the connection
        sink.done();
        return true;
      });
}

}  // namespace

WebServer::WebServer(WebOptions options, WebHandlers handlers)
    : options_(std::move(options)),
      handlers_(std::move(handlers)),
      connections_(std::make_unique<ActiveConnections>()) {
  if (options_.web_config && options_.web_config->tls) {
    const TlsServerConfig tls = *options_.web_config->tls;
    server_ = std::make_unique<HardenedServer<httplib::SSLServer>>(
        *connections_, [this, tls](httplib::tls::ctx_t ctx) {
          return ConfigureSslContext(*static_cast<SSL_CTX*>(ctx), tls, tls_error_);
        });
  } else {
    server_ = std::make_unique<HardenedServer<httplib::Server>>(*connections_);
  }
  // Every limit below is explained in http_limits.h.
  server_->new_task_queue = [this] { return new TaskQueueAdapter(*connections_); };
  server_->set_read_timeout(limits::kReadTimeout);
  server_->set_write_timeout(limits::kWriteTimeout);
  server_->set_keep_alive_timeout(limits::kKeepAliveTimeout);
  server_->set_keep_alive_max_count(limits::kKeepAliveMaxRequests);
  // The webhook receiver's path takes larger bodies (its route reads them itself, within
  // kMaxWebhookBodyBytes); every other path is held to kMaxBodyBytes before routing (Secure).
  server_->set_payload_max_length(
      options_.webhook_paths.empty() ? limits::kMaxBodyBytes : limits::kMaxWebhookBodyBytes + 1);
  server_->set_tcp_nodelay(true);  // no Nagle delay on the last segment of an answer
  server_->set_socket_options([](socket_t sock) {
    // cpp-httplib's default SO_REUSEPORT would let a second exporter share the port silently;
    // SO_REUSEADDR alone still allows a quick restart.
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
    int defer = limits::kDeferAcceptSeconds;
    setsockopt(sock, IPPROTO_TCP, TCP_DEFER_ACCEPT, &defer, sizeof defer);
  });
  Route();
  Secure();
}

WebServer::~WebServer() { Stop(); }

void WebServer::Secure() {
  if (options_.web_config) {
    const WebConfig& config = *options_.web_config;
    if (!config.headers.empty()) {
      // Every response starts with these, also 401, 404 and 400 answers.
      server_->set_default_headers(httplib::Headers(config.headers.begin(), config.headers.end()));
    }
    if (config.rate_limit) {
      rate_limiter_ = std::make_unique<RequestRateLimiter>(
          config.rate_limit->interval, config.rate_limit->burst, RequestRateLimiter::Clock::now());
    }
    if (!config.basic_auth_users.empty()) {
      auth_ = std::make_unique<BasicAuthChecker>(config.basic_auth_users);
    }
  }
  // Before routing, for every path (unknown ones and /-/healthy included), in this order: the
  // rate limit, so that refused requests cost nothing (as in exporter-toolkit); a declared body
  // over the cap, refused before it is read; basic auth.
  server_->set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    // The vendor cannot send basic auth; the receiver checks the delivery's signature instead,
    // and answers deliveries over kMaxWebhookBodyBytes 413 itself. Only this path may be that
    // large on the wire.
    if (std::find(options_.webhook_paths.begin(), options_.webhook_paths.end(), req.path) !=
        options_.webhook_paths.end()) {
      if (t_request_stream != nullptr) {
        t_request_stream->SetRequestLimit(limits::kMaxWebhookRequestBytes);
      }
      return httplib::Server::HandlerResponse::Unhandled;
    }
    // On a listener that serves the receiver, cpp-httplib's own body cap is the receiver's: a
    // chunked body elsewhere is held to about kMaxBodyBytes on the wire here.
    if (!options_.webhook_paths.empty() && t_request_stream != nullptr &&
        req.has_header("Transfer-Encoding")) {
      t_request_stream->LimitRest(limits::kMaxChunkedBodyWireBytes);
    }
    try {
      if (rate_limiter_ && !rate_limiter_->Allow(RequestRateLimiter::Clock::now())) {
        res.status = 429;
        res.set_content("Too Many Requests\n", "text/plain; charset=utf-8");
        return httplib::Server::HandlerResponse::Handled;
      }
      if (req.get_header_value_u64("Content-Length") > limits::kMaxBodyBytes) {
        res.status = 413;
        res.set_header("Connection", "close");  // the body is not read
        res.set_content("Payload Too Large\n", "text/plain; charset=utf-8");
        return httplib::Server::HandlerResponse::Handled;
      }
      if (!auth_ || auth_->Check(req.get_header_value("Authorization"))) {
        return httplib::Server::HandlerResponse::Unhandled;
      }
      res.status = 401;
      res.set_header("WWW-Authenticate", "Basic realm=\"esim_exporter\"");
      res.set_content("Unauthorized\n", "text/plain; charset=utf-8");
    } catch (const std::exception& e) {
      LogError("basic auth check failed", {{"path", req.path}, {"error", e.what()}});
      res.status = 500;
      res.set_content("internal error\n", "text/plain; charset=utf-8");
    }
    return httplib::Server::HandlerResponse::Handled;
  });
}

void WebServer::Route() {
  // Wraps a handler so an exception becomes a 500 for this request only.
  auto guarded = [](auto handler) {
    return [handler](const httplib::Request& req, httplib::Response& res) {
      try {
        handler(req, res);
      } catch (const std::exception& e) {
        LogError("HTTP handler failed", {{"path", req.path}, {"error", e.what()}});
        res.status = 500;
        res.set_content("internal error\n", "text/plain; charset=utf-8");
      }
    };
  };
  for (const std::string& path : options_.webhook_paths) RouteWebhook(path);
  if (options_.webhook_only) return;

  server_->Get(LiteralPathPattern(options_.telemetry_path),
               guarded([this](const httplib::Request& req, httplib::Response& res) {
                 ServeStream(handlers_.metrics, kExpositionContentType, req, res);
               }));
  server_->Get("/", guarded([this](const httplib::Request& req, httplib::Response& res) {
                 // cpp-httplib keeps its own multimap type; the page takes a plain one.
                 const std::multimap<std::string, std::string> query(req.params.begin(),
                                                                     req.params.end());
                 res.set_content(handlers_.landing_page(query), "text/html; charset=utf-8");
               }));
  server_->Get("/-/healthy", guarded([](const httplib::Request&, httplib::Response& res) {
                 res.set_content("Healthy\n", "text/plain; charset=utf-8");
               }));
  server_->Get("/-/ready", guarded([this](const httplib::Request&, httplib::Response& res) {
                 if (handlers_.ready()) {
                   res.set_content("Ready\n", "text/plain; charset=utf-8");
                 } else {
                   res.status = 503;
                   res.set_content("Not ready: not every eSIM has been polled yet\n",
                                   "text/plain; charset=utf-8");
                 }
               }));
  // cpp-httplib 0.11 reads the body of every POST, PUT, PATCH and DELETE before routing, and
  // without Content-Length it reads until the client closes: `curl -X POST` (no body, no
  // Content-Length, connection kept open) would wait for the read timeout and get 400. A route
  // with a content reader runs first; it reads a body only when the request announces one
  // (HTTP/1.1: no Content-Length and no chunked encoding means no body).
  auto without_waiting_for_a_body = [guarded](auto handler) {
    return [handler = guarded(handler)](const httplib::Request& req, httplib::Response& res,
                                        const httplib::ContentReader& content) {
      const bool has_body = req.has_header("Content-Length") || req.has_header("Transfer-Encoding");
      // The body means nothing here, but it must leave the connection before the next request.
      if (has_body && !content([](const char*, size_t) { return true; })) {
        if (res.status < 400) res.status = 400;
        res.set_header("Connection", "close");
        return;
      }
      handler(req, res);
    };
  };
  server_->Post("/-/reload",
                without_waiting_for_a_body([this](const httplib::Request&, httplib::Response& res) {
                  const std::string error = handlers_.reload();
                  if (error.empty()) {
                    res.set_content("Config reloaded\n", "text/plain; charset=utf-8");
                  } else {
                    res.status = 500;
                    res.set_content("Config reload failed: " + error + "\n",
                                    "text/plain; charset=utf-8");
                  }
                }));
  auto method_not_allowed = [](const httplib::Request&, httplib::Response& res) {
    res.status = 405;
    res.set_header("Allow", "POST");
    res.set_content("Only POST reloads the config\n", "text/plain; charset=utf-8");
  };
  server_->Get("/-/reload", guarded(method_not_allowed));
  server_->Put("/-/reload", without_waiting_for_a_body(method_not_allowed));
  server_->Delete("/-/reload", without_waiting_for_a_body(method_not_allowed));
  server_->Patch("/-/reload", without_waiting_for_a_body(method_not_allowed));
  server_->Options("/-/reload", guarded(method_not_allowed));
}

void WebServer::RouteWebhook(const std::string& path) {
  if (!handlers_.webhook) return;
  // The body is read here, not before routing, so that an announced size over the limit is
  // answered 413 (and counted) without reading it, and a chunked one is cut at the limit.
  static_assert(kMaxWebhookBodyBytes == limits::kMaxWebhookBodyBytes);
  server_->Post(
      LiteralPathPattern(path), [this, path](const httplib::Request& req, httplib::Response& res,
                                             const httplib::ContentReader& content) {
        try {
          std::string body;
          size_t size = 0;
          const std::string length = req.get_header_value("Content-Length");
          if (!length.empty()) {
            size = kMaxWebhookBodyBytes + 1;
            std::from_chars(length.data(), length.data() + length.size(), size);
          }
          bool read_ok = true;
          if (size <= kMaxWebhookBodyBytes &&
              (req.has_header("Content-Length") || req.has_header("Transfer-Encoding"))) {
            // The announced size, or what arrived when more came (or none was announced).
            size_t received = 0;
            read_ok = content([&](const char* data, size_t n) {
              received += n;
              if (received > kMaxWebhookBodyBytes) return false;
              body.append(data, n);
              return true;
            });
            size = std::max(size, received);
          }
          if (!read_ok && size <= kMaxWebhookBodyBytes) {
            res.status = 400;
            res.set_header("Connection", "close");
            res.set_content("cannot read the body\n", "text/plain; charset=utf-8");
            return;
          }
          const std::string signature = req.get_header_value("X-Webhook-Signature");
          const std::string timestamp = req.get_header_value("X-Webhook-Timestamp");
          const std::string id = req.get_header_value("X-Webhook-Id");
          const std::string event = req.get_header_value("X-Webhook-Event");
          const WebhookAnswer answer =
              handlers_.webhook(WebhookRequest{signature, timestamp, id, event, body, size, path});
          res.status = answer.status;
          // An unread body must not be taken for the next request.
          if (answer.status == 413) res.set_header("Connection", "close");
          res.set_content(answer.body, "text/plain; charset=utf-8");
        } catch (const std::exception& e) {
          LogError("webhook handler failed", {{"error", e.what()}});
          res.status = 500;
          res.set_content("internal error\n", "text/plain; charset=utf-8");
        }
      });
  auto not_allowed = [](const httplib::Request&, httplib::Response& res) {
    res.status = 405;
    res.set_header("Allow", "POST");
    res.set_content("Only POST delivers webhooks\n", "text/plain; charset=utf-8");
  };
  auto not_allowed_with_body = [not_allowed](const httplib::Request& req, httplib::Response& res,
                                             const httplib::ContentReader&) {
    res.set_header("Connection", "close");  // the body is left unread
    not_allowed(req, res);
  };
  server_->Get(LiteralPathPattern(path), not_allowed);
  server_->Put(LiteralPathPattern(path), not_allowed_with_body);
  server_->Delete(LiteralPathPattern(path), not_allowed_with_body);
  server_->Patch(LiteralPathPattern(path), not_allowed_with_body);
  server_->Options(LiteralPathPattern(path), not_allowed);
}

bool WebServer::Bind(std::string& error) {
  std::string host;
  int port = 0;
  if (!server_->is_valid()) {
    error = "cannot set up TLS" +
            (options_.web_config ? " from " + options_.web_config->path : std::string()) + ": " +
            tls_error_;
    return false;
  }
  if (!ParseListenAddress(options_.listen_address, host, port)) {
    error = "invalid --web.listen-address '" + options_.listen_address + "': want [HOST]:PORT";
    return false;
  }
  if (port == 0) {
    port_ = server_->bind_to_any_port(host);
    if (port_ < 0) port_ = 0;
  } else {
    port_ = server_->bind_to_port(host, port) ? port : 0;
  }
  if (port_ == 0) {
    error = "cannot listen on " + options_.listen_address + ": " + std::strerror(errno);
    return false;
  }
  return true;
}

bool WebServer::Serve() {
  serving_ = true;
  if (!stop_requested_) server_->listen_after_bind();
  serving_ = false;
  return stop_requested_;
}

void WebServer::Stop() {
  stop_requested_ = true;
  // cpp-httplib's stop() does nothing until the accept loop runs; wait for it to start.
  while (serving_ && !server_->is_running()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  connections_->Stop();
  server_->stop();
}

}  // namespace esim
