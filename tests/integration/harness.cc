#include "harness.h"

#include <fcntl.h>
#include <httplib.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <regex>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace esim_test {

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

Samples ParseExposition(const std::string& text) {
  Samples samples;
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.empty() || line[0] == '#') continue;
    const size_t space = line.rfind(' ');
    if (space == std::string::npos) continue;
    samples[line.substr(0, space)] = std::stod(line.substr(space + 1));
  }
  return samples;
}

CommandResult RunCommand(const std::vector<std::string>& argv, const std::string& stdin_text,
                         std::chrono::seconds timeout) {
  TempDir dir;
  const std::string in_path = dir.Write("stdin", stdin_text);
  const std::string out_path = dir.path() + "/output";
  const pid_t pid = fork();
  if (pid == 0) {
    const int in = open(in_path.c_str(), O_RDONLY);
    const int out = open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    dup2(in, 0);
    dup2(out, 1);
    dup2(out, 2);
    std::vector<char*> args;
    for (const auto& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
    args.push_back(nullptr);
    execvp(args[0], args.data());
    _exit(127);
  }
  CommandResult result;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  int status = 0;
  for (;;) {
    const pid_t done = waitpid(pid, &status, WNOHANG);
    if (done == pid) break;
    if (std::chrono::steady_clock::now() > deadline) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      result.output = "timed out\n";
      return result;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  result.output = ReadFile(out_path);
  return result;
}

ExporterProcess::ExporterProcess(std::vector<std::string> args, std::vector<std::string> extra_env,
                                 std::vector<std::string> command_prefix) {
  bool has_listen = false;
  for (const auto& arg : args) has_listen |= arg.rfind("--web.listen-address", 0) == 0;
  if (!has_listen) args.push_back("--web.listen-address=127.0.0.1:0");
  char path_template[] = "/tmp/esim_exporter_stderr_XXXXXX";
  const int err_fd = mkstemp(path_template);
  if (err_fd < 0) throw std::runtime_error("mkstemp failed");
  stderr_path_ = path_template;
  pid_ = fork();
  if (pid_ == 0) {
    dup2(err_fd, 2);
    const int null_fd = open("/dev/null", O_RDWR);
    dup2(null_fd, 0);
    dup2(null_fd, 1);
    for (const auto& entry : extra_env) putenv(const_cast<char*>(entry.c_str()));
    std::vector<char*> argv;
    for (auto& arg : command_prefix) argv.push_back(arg.data());
    argv.push_back(const_cast<char*>(ESIM_EXPORTER_BINARY));
    for (auto& arg : args) argv.push_back(arg.data());
    argv.push_back(nullptr);
    execvp(argv[0], argv.data());
    _exit(127);
  }
  close(err_fd);
  // The exporter logs "esim_exporter started ... port=N" once it listens.
  const std::regex port_pattern(" port=([0-9]+)");
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (std::chrono::steady_clock::now() < deadline) {
    std::smatch match;
    const std::string log = Stderr();
    if (std::regex_search(log, match, port_pattern)) {
      port_ = std::stoi(match[1]);
      return;
    }
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      exited_ = true;
      exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

ExporterProcess::~ExporterProcess() {
  if (!exited_ && pid_ > 0) {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
  unlink(stderr_path_.c_str());
}

std::string ExporterProcess::Stderr() const { return ReadFile(stderr_path_); }

std::optional<ExporterProcess::HttpAnswer> ExporterProcess::Get(
    const std::string& path, const std::map<std::string, std::string>& headers) const {
  httplib::Client client("127.0.0.1", port_);
  client.set_decompress(false);
  client.set_read_timeout(10, 0);
  httplib::Headers request_headers(headers.begin(), headers.end());
  // cpp-httplib's client asks for gzip unless told otherwise; the body is wanted as sent.
  if (!request_headers.count("Accept-Encoding"))
    request_headers.emplace("Accept-Encoding", "identity");
  auto res = client.Get(path, request_headers);
  if (!res) return std::nullopt;
  HttpAnswer answer{res->status, res->body, {}};
  for (const auto& [name, value] : res->headers) answer.headers[name] = value;
  return answer;
}

std::optional<ExporterProcess::HttpAnswer> ExporterProcess::Post(const std::string& path) const {
  httplib::Client client("127.0.0.1", port_);
  client.set_read_timeout(10, 0);
  auto res = client.Post(path);
  if (!res) return std::nullopt;
  return HttpAnswer{res->status, res->body, {}};
}

std::optional<ExporterProcess::HttpAnswer> ExporterProcess::HttpsGet(
    const std::string& path, const HttpsRequest& request) const {
  std::unique_ptr<httplib::SSLClient> client =
      request.cert_file.empty() ? std::make_unique<httplib::SSLClient>("127.0.0.1", port_)
                                : std::make_unique<httplib::SSLClient>(
                                      "127.0.0.1", port_, request.cert_file, request.key_file);
  client->set_ca_cert_path(request.ca_file.c_str());
  client->enable_server_certificate_verification(true);
  client->set_decompress(false);
  client->set_connection_timeout(5, 0);
  client->set_read_timeout(10, 0);
  if (!request.user.empty()) client->set_basic_auth(request.user.c_str(), request.password.c_str());
  auto res = client->Get(path.c_str(), httplib::Headers{{"Accept-Encoding", "identity"}});
  if (!res) return std::nullopt;
  HttpAnswer answer{res->status, res->body, {}};
  for (const auto& [name, value] : res->headers) answer.headers[name] = value;
  return answer;
}

std::string ExporterProcess::ScrapeText() const {
  const auto answer = Get("/metrics");
  return answer && answer->status == 200 ? answer->body : "";
}

Samples ExporterProcess::Scrape() const { return ParseExposition(ScrapeText()); }

bool ExporterProcess::WaitUntilReady(std::chrono::milliseconds timeout) const {
  return WaitFor(
      [this] {
        const auto answer = Get("/-/ready");
        return answer && answer->status == 200;
      },
      timeout);
}

void ExporterProcess::Signal(int signal_number) const { kill(pid_, signal_number); }

int ExporterProcess::WaitForExit(std::chrono::milliseconds timeout) {
  if (exited_) return exit_code_;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      exited_ = true;
      exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      return exit_code_;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return -1;
}

int ExporterProcess::Terminate(std::chrono::milliseconds timeout) {
  if (exited_) return exit_code_;
  Signal(SIGTERM);
  return WaitForExit(timeout);
}

}  // namespace esim_test
