// Test harness for running the real esim_exporter binary: a temp directory for its files, the
// process with captured stderr, scrapes, and parsing of the exposition text.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "temp_dir.h"

namespace esim_test {

std::string ReadFile(const std::string& path);

// "name{labels}" exactly as in the text -> value; comments skipped.
using Samples = std::map<std::string, double>;
Samples ParseExposition(const std::string& text);

struct CommandResult {
  int exit_code = -1;
  std::string output;  // stdout and stderr together
};
// Runs argv with a timeout; no shell involved.
CommandResult RunCommand(const std::vector<std::string>& argv, const std::string& stdin_text = "",
                         std::chrono::seconds timeout = std::chrono::seconds(60));

struct HttpsRequest;

class ExporterProcess {
 public:
  // Starts ESIM_EXPORTER_BINARY with `args` (plus --web.listen-address=127.0.0.1:0 unless given)
  // and waits until it logs the port it listens on.
  // `command_prefix`: a program that runs the exporter, e.g. {"prlimit", "--nproc=64", "setpriv",
  // ...} (found on PATH); empty: the exporter is executed directly.
  explicit ExporterProcess(std::vector<std::string> args, std::vector<std::string> extra_env = {},
                           std::vector<std::string> command_prefix = {});
  ~ExporterProcess();

  int port() const { return port_; }
  pid_t pid() const { return pid_; }
  std::string Stderr() const;

  // GET path; returns status and body (empty optional when the server does not answer).
  struct HttpAnswer {
    int status = 0;
    std::string body;
    std::map<std::string, std::string> headers;
  };
  std::optional<HttpAnswer> Get(const std::string& path,
                                const std::map<std::string, std::string>& headers = {}) const;
  std::optional<HttpAnswer> Post(const std::string& path) const;
  Samples Scrape() const;
  std::string ScrapeText() const;
  // GET over HTTPS (for a --web.config.file with tls_server_config); see HttpsRequest.
  std::optional<HttpAnswer> HttpsGet(const std::string& path, const HttpsRequest& request) const;

  // Polls until `condition` holds or `timeout` passes; returns whether it held.
  template <typename Condition>
  bool WaitFor(Condition condition, std::chrono::milliseconds timeout) const;
  bool WaitUntilReady(std::chrono::milliseconds timeout) const;

  void Signal(int signal_number) const;
  // Sends SIGTERM and waits for the exit code; -1 when it did not exit within `timeout`.
  int Terminate(std::chrono::milliseconds timeout = std::chrono::seconds(10));
  // Waits for the process to exit by itself (e.g. after a startup failure).
  int WaitForExit(std::chrono::milliseconds timeout);

 private:
  pid_t pid_ = -1;
  int port_ = 0;
  std::string stderr_path_;
  bool exited_ = false;
  int exit_code_ = -1;
};

// How HttpsGet connects: the server certificate is verified against ca_file (and must name
// 127.0.0.1); a client certificate is sent when cert_file is set; basic auth when user is set.
struct HttpsRequest {
  std::string ca_file;
  std::string cert_file = {};
  std::string key_file = {};
  std::string user = {};
  std::string password = {};
};

template <typename Condition>
bool ExporterProcess::WaitFor(Condition condition, std::chrono::milliseconds timeout) const {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return condition();
}

}  // namespace esim_test
