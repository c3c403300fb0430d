#include "web.h"

#include <httplib.h>
#include <sys/socket.h>

#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstring>
#include <thread>

#include "exposition.h"
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

WebServer::WebServer(WebOptions options, WebHandlers handlers)
    : options_(std::move(options)),
      handlers_(std::move(handlers)),
      server_(std::make_unique<httplib::Server>()) {
  const int threads = options_.worker_threads;
  server_->new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  server_->set_read_timeout(5, 0);
  server_->set_write_timeout(10, 0);
  // Idle keep-alive connections hold a worker thread each: keep that short so scrapers' idle
  // connections neither starve a real scrape nor delay a stop.
  server_->set_keep_alive_timeout(2);
  server_->set_payload_max_length(64 * 1024);
  // cpp-httplib's default SO_REUSEPORT would let a second exporter share the port silently;
  // SO_REUSEADDR alone still allows a quick restart.
  server_->set_socket_options([](int sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
  });
  Route();
}

WebServer::~WebServer() { Stop(); }

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

  server_->Get(options_.telemetry_path,
               guarded([this](const httplib::Request&, httplib::Response& res) {
                 res.set_content(handlers_.metrics(), kExpositionContentType);
               }));
  server_->Get("/", guarded([this](const httplib::Request&, httplib::Response& res) {
                 res.set_content(handlers_.landing_page(), "text/html; charset=utf-8");
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
  server_->Post("/-/reload", guarded([this](const httplib::Request&, httplib::Response& res) {
                  const std::string error = handlers_.reload();
                  if (error.empty()) {
                    res.set_content("Config reloaded\n", "text/plain; charset=utf-8");
                  } else {
                    res.status = 500;
                    res.set_content("Config reload failed: " + error + "\n",
                                    "text/plain; charset=utf-8");
                  }
                }));
  auto method_not_allowed = guarded([](const httplib::Request&, httplib::Response& res) {
    res.status = 405;
    res.set_header("Allow", "POST");
    res.set_content("Only POST reloads the config\n", "text/plain; charset=utf-8");
  });
  server_->Get("/-/reload", method_not_allowed);
  server_->Put("/-/reload", method_not_allowed);
  server_->Delete("/-/reload", method_not_allowed);
  server_->Patch("/-/reload", method_not_allowed);
  server_->Options("/-/reload", method_not_allowed);
}

bool WebServer::Bind(std::string& error) {
  std::string host;
  int port = 0;
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
  server_->stop();
}

}  // namespace esim
