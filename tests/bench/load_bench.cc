// Whole-process load benchmark of issue 6: the real esim_exporter binary against the fake eSIMfly
// API (in this process) with a generated fleet. Not a test: it asserts nothing about speed; it
// exits non-zero only when the exporter cannot be run at all (no port, never ready, bad scrape).
//
//   load_bench [--exporter=PATH] [--esims=N] [--latency-ms=L] [--concurrency=C] [--scrapes=S]
//              [--tls] [--window-seconds=W] [--busy-latency-ms=B] [--no-busy]
//              [--storage-dir=DIR [--storage-interval=SECONDS] [--restart]]
//              [--webhook-deliveries=K [--webhook-rate=R] [--scrape-during-webhooks]] [--sweeps]
//
// With --storage-dir the exporter runs with --storage.path=DIR and writes its state every
// SECONDS (default 1): the scrapes of phases 2 and 3 then run while the state is written.
//
// Phases, one exporter process:
//   1. first poll cycle: the fake answers after L ms; every eSIM is due at once, so the exporter
//      polls as fast as max_concurrency allows. Measured from the fake's first request to its N-th:
//      exporter CPU (utime+stime, /proc/<pid>/stat) per request, polls/s over the first W s (the
//      polling throughput), and the TCP/TLS connections the fake accepted (handshakes per cycle).
//   2. idle: once /-/ready, the next polls are due 60 s (poll.interval) after the first, so
//      nothing polls: S scrapes of /metrics uncompressed, then S with Accept-Encoding: gzip.
//      With --sweeps they wait until the first sweep has listed every eSIM and stopped (no list
//      request for 2 s), so the idle page is the busy page: with every eSIM's listing on it.
//   3. busy (unless --no-busy): the fake's latency becomes B ms and we wait for the second cycle,
//      which spreads the N polls evenly over its 60 s (N/60 polls/s, at most C per latency):
//      S + S scrapes again, while requests keep arriving. With --sweeps the config turns
//      inventory sweeps on (every 60 s, every status, which puts the live polls in priority
//      order), and the scrapes start once a sweep runs (one list request of 100 eSIMs after the
//      other, at B ms each: N/100 x B ms in all); the line counts the list requests the fake
//      got during the scrapes (busy_list_requests).
//   Peak RSS is VmHWM of /proc/<pid>/status at the end (of phase 3, before the phases below).
//   4. restart (--restart, needs --storage-dir): SIGTERM (the exporter writes its state on the
//      way out; we wait for it to exit), then the same binary again, same config, same
//      --storage.path, the fake still answering. Measured from just before fork/exec to the end
//      of the first uncompressed /metrics answer holding one esim_data_used_bytes{ sample per
//      eSIM (pages read back to back, 20 ms apart, over one connection; the exporter listens on
//      127.0.0.1:0 again and we read its new port from its own log), and VmHWM of the restarted
//      process at that moment. Also reported: the eSIMs its "durable state restored" log line
//      names (all N, or the run fails after printing) and the polls the fake got meanwhile.
//      Fails when all series are not served within 120 s.
//   5. webhook ingest (--webhook-deliveries=K): the config then has a webhook: block (receiver at
//      /webhook on the main listener, secret in a file, no subscription reads); K signed
//      esim.usage.threshold deliveries (unique ids, eSIMs spread over the fleet) are prepared,
//      then sent over 4 kept-alive connections at once (as fast as they go, or delivery i at
//      i/R s with --webhook-rate=R) to the running exporter (the restarted
//      one with --restart): deliveries/s, p50 / p99 of single deliveries, how many got 2xx, and
//      what esim_webhook_deliveries_total{outcome="applied"} says afterwards. With
//      --scrape-during-webhooks, S + S scrapes run meanwhile (from 200 ms after the first
//      delivery), and the line says whether the deliveries were still going when they ended
//      (webhook_busy_overlap=1; otherwise give K more).
// Prints a table, then one machine-readable line "RESULT key=value ..." (scripts/bench.sh).
#include <arpa/inet.h>
#include <fcntl.h>
#include <httplib.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <memory>
#include <optional>
#include <regex>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "count_series.h"
#include "fake_esimfly_api.h"
#include "fleet.h"
#include "webhook_sender.h"

namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr char kSecret[] = "sk_bench_secret_key_0123456789abcdef";
constexpr char kAccessCode[] = "esf_bench_access_code";
constexpr char kWebhookSecret[] = "whsec_bench_webhook_secret_0123456789";
constexpr char kWebhookPath[] = "/webhook";
constexpr int kWebhookConnections = 4;
constexpr auto kRestartTimeout = std::chrono::seconds(120);

struct Flags {
  std::string exporter =
#ifdef ESIM_EXPORTER_BINARY
      ESIM_EXPORTER_BINARY;
#else
      "";
#endif
  std::string cert_dir =
#ifdef ESIM_TEST_CERT_DIR
      ESIM_TEST_CERT_DIR;
#else
      "";
#endif
  size_t esims = 1000;
  int latency_ms = 0;
  int busy_latency_ms = 100;
  int concurrency = 4;
  int scrapes = 20;
  bool tls = false;
  bool busy = true;
  double window_seconds = 10;
  std::string storage_dir;  // empty: no --storage.path
  double storage_interval = 1;
  bool restart = false;
  size_t webhook_deliveries = 0;  // 0: no webhook: block, no deliveries
  double webhook_rate = 0;        // deliveries per second; 0: as fast as they go
  bool scrape_during_webhooks = false;
  bool sweeps = false;  // inventory sweeps on
};

[[noreturn]] void Usage(const std::string& problem) {
  std::cerr << "load_bench: " << problem << "\n"
            << "usage: load_bench [--exporter=PATH] [--esims=N] [--latency-ms=L] "
               "[--concurrency=C] [--scrapes=S] [--tls] [--cert-dir=DIR] [--window-seconds=W] "
               "[--busy-latency-ms=B] [--no-busy] [--storage-dir=DIR [--storage-interval=S] "
               "[--restart]] [--webhook-deliveries=K [--webhook-rate=R] "
               "[--scrape-during-webhooks]] [--sweeps]\n";
  std::exit(2);
}

Flags ParseFlags(int argc, char** argv) {
  Flags flags;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    const auto eq = arg.find('=');
    const std::string name = arg.substr(0, eq);
    const std::string value = eq == std::string::npos ? "" : arg.substr(eq + 1);
    try {
      if (name == "--exporter") {
        flags.exporter = value;
      } else if (name == "--esims") {
        flags.esims = std::stoul(value);
      } else if (name == "--latency-ms") {
        flags.latency_ms = std::stoi(value);
      } else if (name == "--busy-latency-ms") {
        flags.busy_latency_ms = std::stoi(value);
      } else if (name == "--concurrency") {
        flags.concurrency = std::stoi(value);
      } else if (name == "--scrapes") {
        flags.scrapes = std::stoi(value);
      } else if (name == "--tls") {
        flags.tls = value.empty() || value == "1" || value == "true";
      } else if (name == "--cert-dir") {
        flags.cert_dir = value;
      } else if (name == "--window-seconds") {
        flags.window_seconds = std::stod(value);
      } else if (name == "--no-busy") {
        flags.busy = false;
      } else if (name == "--storage-dir") {
        flags.storage_dir = value;
      } else if (name == "--storage-interval") {
        flags.storage_interval = std::stod(value);
      } else if (name == "--restart") {
        flags.restart = true;
      } else if (name == "--webhook-deliveries") {
        flags.webhook_deliveries = std::stoul(value);
      } else if (name == "--webhook-rate") {
        flags.webhook_rate = std::stod(value);
      } else if (name == "--scrape-during-webhooks") {
        flags.scrape_during_webhooks = true;
      } else if (name == "--sweeps") {
        flags.sweeps = true;
      } else if (name == "--help" || name == "-h") {
        Usage("help");
      } else if (arg.rfind("--", 0) != 0 && flags.exporter.empty()) {
        flags.exporter = arg;
      } else {
        Usage("unknown flag " + arg);
      }
    } catch (const std::logic_error&) {
      Usage("bad value in " + arg);
    }
  }
  if (flags.exporter.empty()) Usage("no exporter binary: pass --exporter=PATH");
  if (flags.esims == 0 || flags.scrapes < 1 || flags.concurrency < 1) Usage("bad sizes");
  if (flags.tls && flags.cert_dir.empty()) Usage("--tls needs --cert-dir");
  if (flags.restart && flags.storage_dir.empty()) Usage("--restart needs --storage-dir");
  return flags;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// utime + stime of the whole process (all threads, including exited ones), seconds.
double CpuSeconds(pid_t pid) {
  const std::string stat = ReadFile("/proc/" + std::to_string(pid) + "/stat");
  const auto close_paren = stat.rfind(')');
  if (close_paren == std::string::npos) return 0;
  std::istringstream fields(stat.substr(close_paren + 2));
  std::string field;
  double ticks = 0;
  // Fields after "(comm)": state is field 3; utime and stime are fields 14 and 15.
  for (int number = 3; number <= 15 && fields >> field; ++number) {
    if (number == 14 || number == 15) ticks += std::stod(field);
  }
  return ticks / static_cast<double>(sysconf(_SC_CLK_TCK));
}

// A "Vm...:  1234 kB" line of /proc/<pid>/status, in MiB.
double StatusMiB(pid_t pid, const std::string& key) {
  std::istringstream status(ReadFile("/proc/" + std::to_string(pid) + "/status"));
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind(key + ":", 0) == 0) {
      return std::stod(line.substr(key.size() + 1)) / 1024.0;
    }
  }
  return 0;
}

class Exporter {
 public:
  Exporter(const std::string& binary, const std::string& config, const std::string& log_path,
           const std::string& storage_dir = "", double storage_interval = 1,
           std::chrono::seconds port_timeout = std::chrono::seconds(60)) {
    pid_ = fork();
    if (pid_ < 0) throw std::runtime_error("fork failed");
    if (pid_ == 0) {
      const int log_fd = open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      const int null_fd = open("/dev/null", O_RDWR);
      dup2(null_fd, 0);
      dup2(null_fd, 1);
      dup2(log_fd, 2);
      const std::string config_flag = "--config.file=" + config;
      if (!storage_dir.empty()) {
        setenv("ESIM_EXPORTER_STORAGE_WRITE_INTERVAL", std::to_string(storage_interval).c_str(), 1);
        const std::string storage_flag = "--storage.path=" + storage_dir;
        execl(binary.c_str(), binary.c_str(), config_flag.c_str(),
              "--web.listen-address=127.0.0.1:0", storage_flag.c_str(),
              static_cast<char*>(nullptr));
      }
      execl(binary.c_str(), binary.c_str(), config_flag.c_str(), "--web.listen-address=127.0.0.1:0",
            static_cast<char*>(nullptr));
      _exit(127);
    }
    const std::regex port_pattern(" port=([0-9]+)");
    const auto deadline = Clock::now() + port_timeout;
    while (Clock::now() < deadline) {
      std::smatch match;
      const std::string log = ReadFile(log_path);
      if (std::regex_search(log, match, port_pattern)) {
        port_ = std::stoi(match[1]);
        return;
      }
      if (waitpid(pid_, nullptr, WNOHANG) == pid_) {
        pid_ = -1;
        throw std::runtime_error("the exporter exited at startup:\n" + log);
      }
      std::this_thread::sleep_for(milliseconds(10));
    }
    throw std::runtime_error("the exporter did not log its port within " +
                             std::to_string(port_timeout.count()) + " s (log: " + log_path + ")");
  }
  ~Exporter() {
    if (pid_ <= 0) return;
    kill(pid_, SIGTERM);
    for (int i = 0; i < 500 && waitpid(pid_, nullptr, WNOHANG) != pid_; ++i) {
      std::this_thread::sleep_for(milliseconds(10));
      if (i == 499) {
        kill(pid_, SIGKILL);
        waitpid(pid_, nullptr, 0);
      }
    }
  }
  // SIGTERM, then waits up to `timeout` for the process to exit (a clean stop writes the durable
  // state first): returns waitpid's status; throws (after SIGKILL) when it did not exit.
  int Stop(std::chrono::seconds timeout) {
    if (pid_ <= 0) return 0;
    kill(pid_, SIGTERM);
    const auto deadline = Clock::now() + timeout;
    int status = 0;
    while (waitpid(pid_, &status, WNOHANG) != pid_) {
      if (Clock::now() > deadline) {
        kill(pid_, SIGKILL);
        waitpid(pid_, nullptr, 0);
        pid_ = -1;
        throw std::runtime_error("the exporter did not exit within " +
                                 std::to_string(timeout.count()) + " s of SIGTERM");
      }
      std::this_thread::sleep_for(milliseconds(5));
    }
    pid_ = -1;
    return status;
  }
  Exporter(const Exporter&) = delete;
  Exporter& operator=(const Exporter&) = delete;
  pid_t pid() const { return pid_; }
  int port() const { return port_; }

 private:
  pid_t pid_ = -1;
  int port_ = 0;
};

// Nearest rank.
double Percentile(std::vector<double> values, double p) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const size_t rank = static_cast<size_t>(std::max(1.0, std::ceil(p * values.size())));
  return values[std::min(rank, values.size()) - 1];
}

struct ScrapeStats {
  std::vector<double> ms;
  size_t body_bytes = 0;
  size_t series = 0;
  std::string encoding;
  double Median() const { return Percentile(0.5); }
  double Percentile(double p) const { return ::Percentile(ms, p); }
};

// One kept-alive HTTP/1.1 connection that reads like Prometheus' Go client does: large reads,
// no decompression. cpp-httplib's client reads 4 KiB per call with a poll before each, which on
// a 15 MB page costs the reader more time than the exporter spends writing it.
class ScrapeConnection {
 public:
  explicit ScrapeConnection(int port) : port_(port), buffer_(256 * 1024) {}
  ~ScrapeConnection() { Disconnect(); }

  // GET path; fills the status, the Content-Encoding and the body (de-chunked). `answer`'s
  // body keeps its capacity from the previous scrape, as Prometheus reuses its scrape buffers:
  // growing a fresh 100 MB string on every scrape timed the scraper's page faults, not ours.
  struct Answer {
    int status = 0;
    std::string encoding, body;
  };
  void Get(const std::string& path, bool gzip, Answer& answer) {
    if (fd_ < 0) Connect();
    const std::string request = "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n" +
                                (gzip ? "Accept-Encoding: gzip\r\n" : "") + "\r\n";
    if (send(fd_, request.data(), request.size(), MSG_NOSIGNAL) !=
        static_cast<ssize_t>(request.size())) {
      throw std::runtime_error("cannot send the request");
    }
    const std::string head = ReadUntil("\r\n\r\n");
    answer.body.clear();
    answer.status = std::atoi(head.substr(head.find(' ') + 1, 3).c_str());
    const std::string lower = Lowercase(head);
    answer.encoding = HeaderValue(head, lower, "content-encoding");
    if (Lowercase(HeaderValue(head, lower, "transfer-encoding")) == "chunked") {
      for (;;) {
        const size_t size = std::stoul(ReadUntil("\r\n"), nullptr, 16);
        ReadExactly(size, answer.body);
        ReadUntil("\r\n");
        if (size == 0) break;
      }
    } else {
      ReadExactly(std::stoul(HeaderValue(head, lower, "content-length")), answer.body);
    }
    // The server ends a kept-alive connection after some requests: the next one reconnects.
    if (Lowercase(HeaderValue(head, lower, "connection")) == "close") Disconnect();
  }

 private:
  static std::string Lowercase(std::string text) {
    for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return text;
  }
  static std::string HeaderValue(const std::string& head, const std::string& lower,
                                 const std::string& name) {
    const size_t at = lower.find("\r\n" + name + ":");
    if (at == std::string::npos) return "";
    const size_t start = head.find_first_not_of(' ', at + name.size() + 3);
    return head.substr(start, head.find("\r\n", start) - start);
  }
  void Connect() {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(static_cast<uint16_t>(port_));
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd_ < 0 || connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
      throw std::runtime_error("cannot connect to the exporter");
    }
    timeval timeout{60, 0};
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  }
  void Disconnect() {
    if (fd_ >= 0) close(fd_);
    fd_ = -1;
    pending_.clear();
  }
  void Fill() {
    const ssize_t got = recv(fd_, buffer_.data(), buffer_.size(), 0);
    if (got <= 0) throw std::runtime_error("the exporter closed the connection");
    pending_.append(buffer_.data(), static_cast<size_t>(got));
  }
  // Returns what comes before `delimiter` and consumes both.
  std::string ReadUntil(const std::string& delimiter) {
    size_t at;
    while ((at = pending_.find(delimiter)) == std::string::npos) Fill();
    std::string text = pending_.substr(0, at);
    pending_.erase(0, at + delimiter.size());
    return text;
  }
  void ReadExactly(size_t size, std::string& out) {
    const size_t from_pending = std::min(size, pending_.size());
    out.append(pending_, 0, from_pending);
    pending_.erase(0, from_pending);
    size -= from_pending;
    while (size > 0) {
      const ssize_t got = recv(fd_, buffer_.data(), std::min(size, buffer_.size()), 0);
      if (got <= 0) throw std::runtime_error("the exporter closed the connection");
      out.append(buffer_.data(), static_cast<size_t>(got));
      size -= static_cast<size_t>(got);
    }
  }

  int port_;
  int fd_ = -1;
  std::vector<char> buffer_;
  std::string pending_;
};

// `count` scrapes of /metrics over one kept-alive connection, as Prometheus does.
ScrapeStats Scrape(int port, int count, bool gzip) {
  ScrapeConnection connection(port);
  ScrapeStats stats;
  ScrapeConnection::Answer answer;
  for (int i = 0; i < count; ++i) {
    const auto start = Clock::now();
    connection.Get("/metrics", gzip, answer);
    const double ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
    if (answer.status != 200) {
      throw std::runtime_error("GET /metrics answered " + std::to_string(answer.status));
    }
    stats.ms.push_back(ms);
    stats.body_bytes = answer.body.size();
    stats.encoding = answer.encoding;
    if (!gzip && i == 0) stats.series = CountSeries(answer.body);
  }
  return stats;
}

// The lines of an exposition text that start with `prefix`.
size_t CountLinesStartingWith(std::string_view text, std::string_view prefix) {
  size_t count = 0;
  for (size_t line_start = 0; line_start < text.size();) {
    size_t line_end = text.find('\n', line_start);
    if (line_end == std::string_view::npos) line_end = text.size();
    if (text.substr(line_start, line_end - line_start).starts_with(prefix)) ++count;
    line_start = line_end + 1;
  }
  return count;
}

bool Ready(int port) {
  httplib::Client client("127.0.0.1", port);
  client.set_read_timeout(10, 0);
  auto res = client.Get("/-/ready");
  return res && res->status == 200;
}

std::string Config(const Flags& flags, const std::string& url,
                   const std::vector<fake_esimfly::FakeEsim>& fleet,
                   const std::string& webhook_secret_file) {
  std::string yaml;
  yaml.reserve(fleet.size() * 80 + 1024);
  yaml += "api:\n  url: " + url + "\n  access_code: " + kAccessCode +
          "\n  secret_key_file: secret_key\n  timeout: 30s\n  max_concurrency: " +
          std::to_string(flags.concurrency) + "\n";
  if (flags.tls) yaml += "  ca_file: " + flags.cert_dir + "/ca.pem\n";
  // High enough never to limit: the budget must not be what is measured.
  yaml +=
      "  rate_limit:\n    per_minute: 1000000000\n    per_hour: 1000000000\n"
      "    per_day: 1000000000\n";
  yaml += "poll:\n  interval: 60s\n  stale_after: 6h\n";
  if (flags.sweeps) yaml += "inventory:\n  enabled: true\n  interval: 60s\n  statuses: [all]\n";
  if (flags.webhook_deliveries > 0) {
    // No subscription reads (check_interval 0): the fake's GET /webhooks is not what is measured.
    yaml += std::string("webhook:\n  path: ") + kWebhookPath +
            "\n  secret_file: " + webhook_secret_file + "\n  check_interval: 0\n";
  }
  yaml += "esims:\n";
  size_t i = 0;
  for (const auto& esim : fleet) {
    yaml += "  - iccid: \"" + esim.iccid + "\"\n    name: esim-" + std::to_string(i) +
            "\n    labels: {site: site-" + std::to_string(i % 50) +
            ", fleet: " + (i % 2 ? "trackers" : "routers") + "}\n";
    ++i;
  }
  return yaml;
}

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

std::string Fixed(double value, int decimals) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%.*f", decimals, value);
  return buffer;
}

struct RestartStats {
  double stop_seconds = 0;    // SIGTERM to exit (the state written on the way)
  double seconds = 0;         // fork/exec to the end of the first page with every eSIM
  double listen_seconds = 0;  // fork/exec to its port in its log (config loaded, state restored)
  double peak_rss_mib = 0;    // VmHWM of the restarted process then
  size_t first_page_samples = 0;
  int pages = 0;
  size_t polls = 0;                       // requests the fake got meanwhile
  std::optional<size_t> restored, saved;  // from the "durable state restored" log line
};

// The number after ` key=` (or `"key":`) on the first log line holding `message`.
std::optional<size_t> LoggedNumber(const std::string& log, const std::string& message,
                                   const std::string& key) {
  std::istringstream lines(log);
  std::string line;
  const std::regex pattern("(^|[^_a-zA-Z])\"?" + key + "\"?[=:]\"?([0-9]+)");
  while (std::getline(lines, line)) {
    if (line.find(message) == std::string::npos) continue;
    std::smatch match;
    if (std::regex_search(line, match, pattern)) return std::stoul(match[2]);
    return std::nullopt;
  }
  return std::nullopt;
}

// Phase 4, after `running` was stopped: starts `restarted` and reads /metrics until it holds one
// esim_data_used_bytes{ sample per eSIM. `page_bytes`: the size of a page before the restart.
RestartStats Restart(const Flags& flags, Exporter& running, std::optional<Exporter>& restarted,
                     const std::string& config, const std::string& log_path,
                     const fake_esimfly::FakeEsimflyApi& api, size_t page_bytes) {
  RestartStats stats;
  // The reader's buffer is grown and touched before the clock starts, as in Scrape (a scraper
  // reuses its buffers): growing a fresh 112 MB string page by page during the first read took
  // about a second at 50,000 eSIMs, which is the reader's cost, not the exporter's.
  ScrapeConnection::Answer answer;
  answer.body.assign(page_bytes + page_bytes / 4, '\0');
  answer.body.clear();
  const auto stop_start = Clock::now();
  const int status = running.Stop(kRestartTimeout);
  stats.stop_seconds = Seconds(Clock::now() - stop_start);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    throw std::runtime_error("the exporter did not stop cleanly on SIGTERM (wait status " +
                             std::to_string(status) + ")");
  }
  const size_t requests_before = api.RequestCount();
  const auto start = Clock::now();
  const auto deadline = start + kRestartTimeout;
  restarted.emplace(flags.exporter, config, log_path, flags.storage_dir, flags.storage_interval,
                    kRestartTimeout);
  stats.listen_seconds = Seconds(Clock::now() - start);
  ScrapeConnection connection(restarted->port());
  size_t samples = 0;
  for (;;) {
    connection.Get("/metrics", false, answer);
    if (answer.status != 200) {
      throw std::runtime_error("GET /metrics of the restarted exporter answered " +
                               std::to_string(answer.status));
    }
    samples = CountLinesStartingWith(answer.body, "esim_data_used_bytes{");
    if (++stats.pages == 1) stats.first_page_samples = samples;
    if (samples >= flags.esims) break;
    if (Clock::now() > deadline) {
      throw std::runtime_error(
          "the restarted exporter did not serve all " + std::to_string(flags.esims) +
          " esim_data_used_bytes series within " + std::to_string(kRestartTimeout.count()) +
          " s: the last of " + std::to_string(stats.pages) + " pages held " +
          std::to_string(samples) + " (log: " + log_path + ")");
    }
    std::this_thread::sleep_for(milliseconds(20));
  }
  stats.seconds = Seconds(Clock::now() - start);
  stats.peak_rss_mib = StatusMiB(restarted->pid(), "VmHWM");
  stats.polls = api.RequestCount() - requests_before;
  const std::string log = ReadFile(log_path);
  stats.restored = LoggedNumber(log, "durable state restored", "esims");
  stats.saved = LoggedNumber(log, "durable state restored", "saved_esims");
  return stats;
}

struct WebhookStats {
  size_t sent = 0, ok = 0;
  double seconds = 0;
  std::vector<double> ms;
  double applied = 0;  // esim_webhook_deliveries_total{outcome="applied"} afterwards
};

// Phase 5: `count` signed esim.usage.threshold deliveries, eSIMs spread over the fleet, over
// kWebhookConnections kept-alive connections at once; with `rate` > 0, delivery i not before
// i / rate seconds. `started`, when given, is set as the first delivery goes out.
WebhookStats SendWebhooks(int port, const std::vector<fake_esimfly::FakeEsim>& fleet, size_t count,
                          double rate, std::atomic<bool>* started = nullptr) {
  // Every delivery prepared (and signed) before the clock starts, as fake_esimfly_webhook does.
  std::vector<fake_esimfly::WebhookDelivery> deliveries;
  deliveries.reserve(count);
  for (size_t i = 0; i < count; ++i) {
    const auto& esim = fleet[(i * fleet.size() / count) % fleet.size()];
    deliveries.push_back(fake_esimfly::UsageThresholdDelivery(
        kWebhookSecret, esim.iccid, 1.0 + static_cast<double>(i % 300) / 100.0, 5.0, 500));
  }
  const std::string url = "http://127.0.0.1:" + std::to_string(port) + kWebhookPath;
  WebhookStats stats;
  stats.sent = count;
  stats.ms.resize(count);
  std::atomic<size_t> next{0}, ok{0};
  const auto start = Clock::now();
  if (started != nullptr) *started = true;
  std::vector<std::thread> threads;
  for (int c = 0; c < kWebhookConnections; ++c) {
    threads.emplace_back([&] {
      fake_esimfly::WebhookSender sender(url);
      for (size_t i; (i = next++) < deliveries.size();) {
        if (rate > 0) {
          std::this_thread::sleep_until(
              start + std::chrono::duration_cast<Clock::duration>(
                          std::chrono::duration<double>(static_cast<double>(i) / rate)));
        }
        const auto sent = Clock::now();
        const int status = sender.Send(deliveries[i]);
        stats.ms[i] = std::chrono::duration<double, std::milli>(Clock::now() - sent).count();
        if (status >= 200 && status < 300) ++ok;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  stats.seconds = Seconds(Clock::now() - start);
  stats.ok = ok;

  ScrapeConnection connection(port);
  ScrapeConnection::Answer answer;
  connection.Get("/metrics", false, answer);
  const std::string_view body = answer.body;
  constexpr std::string_view kCounter = "esim_webhook_deliveries_total{";
  for (size_t line_start = 0; line_start < body.size();) {
    size_t line_end = body.find('\n', line_start);
    if (line_end == std::string_view::npos) line_end = body.size();
    const std::string_view line = body.substr(line_start, line_end - line_start);
    if (line.starts_with(kCounter) && line.find("outcome=\"applied\"") != std::string_view::npos) {
      stats.applied += std::stod(std::string(line.substr(line.rfind(' ') + 1)));
    }
    line_start = line_end + 1;
  }
  return stats;
}

int Run(const Flags& flags) {
  // The fake API: generated fleet, signed requests verified as the vendor would.
  std::atomic<size_t> list_requests{0};  // before the fake: its threads count into it
  fake_esimfly::Options options;
  options.on_request = [&list_requests](const fake_esimfly::RequestRecord& request) {
    if (request.path == fake_esimfly::kListPath) ++list_requests;
  };
  options.access_code = kAccessCode;
  options.secret_key = kSecret;
  options.latency = milliseconds(flags.latency_ms);
  options.worker_threads = static_cast<size_t>(std::max(32, flags.concurrency + 8));
  options.keep_alive_timeout = std::chrono::seconds(120);  // idle gaps must not cost handshakes
  options.keep_alive_max_count = 1000000;
  options.max_recorded_requests = 16;
  if (flags.tls) {
    options.tls_cert_file = flags.cert_dir + "/server.pem";
    options.tls_key_file = flags.cert_dir + "/server.key";
  }
  std::vector<fake_esimfly::FakeEsim> fleet = fake_esimfly::GenerateFleet(flags.esims);
  fake_esimfly::FakeEsimflyApi api(options, fleet);
  api.Start();

  char dir_template[] = "/tmp/esim_load_bench_XXXXXX";
  if (mkdtemp(dir_template) == nullptr) throw std::runtime_error("mkdtemp failed");
  const std::string dir = dir_template;
  {
    std::ofstream(dir + "/secret_key") << kSecret << "\n";
    chmod((dir + "/secret_key").c_str(), 0600);
    if (flags.webhook_deliveries > 0) {
      std::ofstream(dir + "/webhook_secret") << kWebhookSecret << "\n";
      chmod((dir + "/webhook_secret").c_str(), 0600);
    }
    std::ofstream(dir + "/config.yml")
        << Config(flags, api.BaseUrl(), fleet, dir + "/webhook_secret");
  }
  const size_t n = flags.esims;

  std::cerr << "load_bench: " << n << " eSIMs, upstream latency " << flags.latency_ms
            << " ms, max_concurrency " << flags.concurrency << (flags.tls ? ", HTTPS" : ", HTTP")
            << "\n";
  // The exporter resolves the relative secret_key_file against the config's directory.
  Exporter exporter(flags.exporter, dir + "/config.yml", dir + "/exporter.log", flags.storage_dir,
                    flags.storage_interval);
  const pid_t pid = exporter.pid();

  // Phase 1: the first poll cycle.
  const auto cycle_deadline = Clock::now() + std::chrono::seconds(1800);
  while (api.RequestCount() == 0) {
    if (Clock::now() > cycle_deadline) throw std::runtime_error("no request reached the fake");
    std::this_thread::sleep_for(milliseconds(1));
  }
  const auto first_at = Clock::now();
  const double cpu0 = CpuSeconds(pid);
  const size_t requests0 = api.RequestCount();
  std::optional<size_t> window_requests;
  const auto window_end = first_at + std::chrono::duration_cast<Clock::duration>(
                                         std::chrono::duration<double>(flags.window_seconds));
  while (api.RequestCount() < n) {
    if (!window_requests && Clock::now() >= window_end) window_requests = api.RequestCount();
    if (Clock::now() > cycle_deadline) throw std::runtime_error("the first cycle did not end");
    std::this_thread::sleep_for(milliseconds(2));
  }
  const auto cycle_end = Clock::now();
  const double cpu1 = CpuSeconds(pid);
  const size_t requests1 = api.RequestCount();
  const size_t cycle_connections = api.ConnectionCount();
  const double cycle_seconds = Seconds(cycle_end - first_at);
  const double cpu_per_request_us =
      1e6 * (cpu1 - cpu0) / static_cast<double>(std::max<size_t>(1, requests1 - requests0));
  const double throughput = window_requests
                                ? static_cast<double>(*window_requests) / flags.window_seconds
                                : static_cast<double>(requests1) / std::max(cycle_seconds, 1e-3);
  const double throughput_window = window_requests ? flags.window_seconds : cycle_seconds;

  while (!Ready(exporter.port())) {
    if (Clock::now() > cycle_deadline) throw std::runtime_error("never ready");
    std::this_thread::sleep_for(milliseconds(20));
  }
  const double ready_seconds = Seconds(Clock::now() - first_at);
  if (flags.sweeps) {
    // One listing of every status: ceil(N/100) pages, then nothing until the next sweep.
    const size_t pages = (n + 99) / 100;
    size_t seen = list_requests;
    auto quiet_since = Clock::now();
    while (seen < pages || Clock::now() - quiet_since < std::chrono::seconds(2)) {
      if (Clock::now() > cycle_deadline) throw std::runtime_error("the first sweep did not end");
      std::this_thread::sleep_for(milliseconds(50));
      if (list_requests != seen) {
        seen = list_requests;
        quiet_since = Clock::now();
      }
    }
  }

  // Phase 2: idle scrapes.
  // The exporter's CPU per scrape (all its threads): steadier than the wall time on a shared
  // machine, and what a second thread sending while the first renders must not raise much.
  const size_t idle_requests_before = api.RequestCount();
  const double plain_cpu0 = CpuSeconds(pid);
  const ScrapeStats idle_plain = Scrape(exporter.port(), flags.scrapes, false);
  const double gzip_cpu0 = CpuSeconds(pid);
  const ScrapeStats idle_gzip = Scrape(exporter.port(), flags.scrapes, true);
  const double idle_plain_cpu_ms = 1e3 * (gzip_cpu0 - plain_cpu0) / flags.scrapes;
  const double idle_gzip_cpu_ms = 1e3 * (CpuSeconds(pid) - gzip_cpu0) / flags.scrapes;
  const size_t idle_requests = api.RequestCount() - idle_requests_before;

  // Phase 3: scrapes while the second cycle polls.
  ScrapeStats busy_plain, busy_gzip;
  double busy_rate = 0;
  size_t busy_list_requests = 0;
  if (flags.busy) {
    api.SetLatency(milliseconds(flags.busy_latency_ms));
    const size_t before = api.RequestCount();
    const auto wait_deadline = Clock::now() + std::chrono::seconds(180);
    while (api.RequestCount() < before + static_cast<size_t>(flags.concurrency) + 1) {
      if (Clock::now() > wait_deadline) throw std::runtime_error("the second cycle never began");
      std::this_thread::sleep_for(milliseconds(20));
    }
    if (flags.sweeps) {
      // A sweep lasts ~N/100 pages x B ms: wait until one runs, so the scrapes meet it.
      const size_t lists = list_requests;
      while (list_requests == lists) {
        if (Clock::now() > wait_deadline) throw std::runtime_error("no sweep began");
        std::this_thread::sleep_for(milliseconds(20));
      }
    }
    const size_t busy_before = api.RequestCount();
    const auto busy_start = Clock::now();
    const size_t list_before = list_requests;
    busy_plain = Scrape(exporter.port(), flags.scrapes, false);
    busy_gzip = Scrape(exporter.port(), flags.scrapes, true);
    busy_list_requests = list_requests - list_before;
    if (flags.sweeps && busy_list_requests == 0) {
      std::cerr << "load_bench: warning: no sweep ran during the busy scrapes (no list request); "
                   "these figures do not include one\n";
    }
    busy_rate = static_cast<double>(api.RequestCount() - busy_before) /
                std::max(Seconds(Clock::now() - busy_start), 1e-3);
  }
  const double peak_rss = StatusMiB(pid, "VmHWM");
  const double rss = StatusMiB(pid, "VmRSS");
  const size_t total_connections = api.ConnectionCount();
  const size_t total_requests = api.RequestCount();

  // Phase 4: restart.
  std::optional<Exporter> restarted;
  RestartStats restart;
  if (flags.restart) {
    restart = Restart(flags, exporter, restarted, dir + "/config.yml",
                      dir + "/exporter-restart.log", api, idle_plain.body_bytes);
  }
  // Phase 5: webhook ingest, by whichever exporter runs now.
  WebhookStats webhook;
  ScrapeStats webhook_plain, webhook_gzip;
  bool scrapes_within_deliveries = false;
  if (flags.webhook_deliveries > 0) {
    const int port = restarted ? restarted->port() : exporter.port();
    if (flags.scrape_during_webhooks) {
      std::atomic<bool> started{false}, finished{false};
      std::thread deliveries([&] {
        webhook = SendWebhooks(port, fleet, flags.webhook_deliveries, flags.webhook_rate, &started);
        finished = true;
      });
      while (!started) std::this_thread::sleep_for(milliseconds(5));
      std::this_thread::sleep_for(milliseconds(200));
      webhook_plain = Scrape(port, flags.scrapes, false);
      webhook_gzip = Scrape(port, flags.scrapes, true);
      scrapes_within_deliveries = !finished;
      deliveries.join();
    } else {
      webhook = SendWebhooks(port, fleet, flags.webhook_deliveries, flags.webhook_rate);
    }
  }

  // The table.
  auto row = [](const std::string& what, const std::string& value) {
    std::printf("| %-52s | %22s |\n", what.c_str(), value.c_str());
  };
  std::printf(
      "\nesim_exporter load benchmark: %zu eSIMs, upstream latency %d ms, "
      "max_concurrency %d, %s, %d scrapes each\n\n",
      n, flags.latency_ms, flags.concurrency, flags.tls ? "HTTPS" : "HTTP", flags.scrapes);
  std::printf("| %-52s | %22s |\n|%s|%s|\n", "measure", "value", std::string(54, '-').c_str(),
              std::string(24, '-').c_str());
  row("series on /metrics", std::to_string(idle_plain.series));
  row("/metrics body, uncompressed (bytes)", std::to_string(idle_plain.body_bytes));
  row("/metrics body, gzip (bytes; Content-Encoding: " +
          (idle_gzip.encoding.empty() ? std::string("none") : idle_gzip.encoding) + ")",
      std::to_string(idle_gzip.body_bytes));
  row("idle /metrics uncompressed, median / p90 (ms)",
      Fixed(idle_plain.Median(), 2) + " / " + Fixed(idle_plain.Percentile(0.9), 2));
  row("idle /metrics gzip, median / p90 (ms)",
      Fixed(idle_gzip.Median(), 2) + " / " + Fixed(idle_gzip.Percentile(0.9), 2));
  row("idle /metrics uncompressed / gzip, exporter CPU per scrape (ms)",
      Fixed(idle_plain_cpu_ms, 1) + " / " + Fixed(idle_gzip_cpu_ms, 1));
  row("polls during the idle scrapes", std::to_string(idle_requests));
  if (flags.busy) {
    row("busy /metrics uncompressed, median / p90 (ms)",
        Fixed(busy_plain.Median(), 2) + " / " + Fixed(busy_plain.Percentile(0.9), 2));
    row("busy /metrics gzip, median / p90 (ms)",
        Fixed(busy_gzip.Median(), 2) + " / " + Fixed(busy_gzip.Percentile(0.9), 2));
    row("busy / idle, uncompressed median", Fixed(busy_plain.Median() / idle_plain.Median(), 2));
    row("busy / idle, gzip median", Fixed(busy_gzip.Median() / idle_gzip.Median(), 2));
    if (flags.sweeps) {
      row("list requests during the busy scrapes", std::to_string(busy_list_requests));
    }
    row("polls/s during the busy scrapes (upstream " + std::to_string(flags.busy_latency_ms) +
            " ms)",
        Fixed(busy_rate, 1));
  }
  row("peak RSS, VmHWM (MiB)", Fixed(peak_rss, 1));
  row("RSS at the end, VmRSS (MiB)", Fixed(rss, 1));
  row("first cycle: requests", std::to_string(requests1));
  row("first cycle: duration (s)", Fixed(cycle_seconds, 2));
  row("first cycle: until /-/ready (s)", Fixed(ready_seconds, 2));
  row("exporter CPU per poll request (us)", Fixed(cpu_per_request_us, 1));
  row("polls/s, first " + Fixed(throughput_window, 1) + " s of the first cycle",
      Fixed(throughput, 1));
  row(std::string(flags.tls ? "TLS handshakes" : "TCP connections") + " in the first cycle",
      std::to_string(cycle_connections));
  row(std::string(flags.tls ? "TLS handshakes" : "TCP connections") + " in the whole run",
      std::to_string(total_connections) + " for " + std::to_string(total_requests) + " req");
  if (flags.restart) {
    row("restart: SIGTERM to exit, state written (s)", Fixed(restart.stop_seconds, 2));
    row("restart: exec to all " + std::to_string(n) + " series on /metrics (s)",
        Fixed(restart.seconds, 2));
    row("restart: of which exec to its port logged (s)", Fixed(restart.listen_seconds, 2));
    row("restart: peak RSS then, VmHWM (MiB)", Fixed(restart.peak_rss_mib, 1));
    row("restart: eSIMs restored / saved (its log)",
        (restart.restored ? std::to_string(*restart.restored) : std::string("none")) + " / " +
            (restart.saved ? std::to_string(*restart.saved) : std::string("none")));
    row("restart: pages read; data_used samples in the first",
        std::to_string(restart.pages) + "; " + std::to_string(restart.first_page_samples));
    row("restart: polls until all series", std::to_string(restart.polls));
  }
  if (flags.webhook_deliveries > 0) {
    row("webhook: deliveries over " + std::to_string(kWebhookConnections) +
            " connections, 2xx / sent",
        std::to_string(webhook.ok) + " / " + std::to_string(webhook.sent));
    row("webhook: applied (esim_webhook_deliveries_total)", Fixed(webhook.applied, 0));
    if (flags.scrape_during_webhooks) {
      row("webhook: scrapes meanwhile, plain / gzip median (ms)",
          Fixed(webhook_plain.Median(), 2) + " / " + Fixed(webhook_gzip.Median(), 2));
      row("webhook: deliveries outlasted the scrapes", scrapes_within_deliveries ? "yes" : "no");
    }
    row("webhook: deliveries/s", Fixed(static_cast<double>(webhook.sent) / webhook.seconds, 0));
    row("webhook: delivery p50 / p99 / max (ms)",
        Fixed(Percentile(webhook.ms, 0.5), 2) + " / " + Fixed(Percentile(webhook.ms, 0.99), 2) +
            " / " + Fixed(Percentile(webhook.ms, 1.0), 2));
  }
  std::printf("\n");

  std::printf(
      "RESULT esims=%zu latency_ms=%d concurrency=%d tls=%d series=%zu body_bytes=%zu "
      "gzip_bytes=%zu idle_plain_ms=%.3f idle_plain_p90_ms=%.3f idle_gzip_ms=%.3f "
      "idle_gzip_p90_ms=%.3f idle_plain_cpu_ms=%.1f idle_gzip_cpu_ms=%.1f idle_polls=%zu "
      "busy_plain_ms=%.3f busy_plain_p90_ms=%.3f "
      "busy_gzip_ms=%.3f busy_gzip_p90_ms=%.3f busy_polls_per_s=%.1f peak_rss_mib=%.1f "
      "cpu_per_request_us=%.1f polls_per_s=%.1f cycle_s=%.2f cycle_connections=%zu "
      "total_connections=%zu total_requests=%zu",
      n, flags.latency_ms, flags.concurrency, flags.tls ? 1 : 0, idle_plain.series,
      idle_plain.body_bytes, idle_gzip.body_bytes, idle_plain.Median(), idle_plain.Percentile(0.9),
      idle_gzip.Median(), idle_gzip.Percentile(0.9), idle_plain_cpu_ms, idle_gzip_cpu_ms,
      idle_requests, busy_plain.Median(), busy_plain.Percentile(0.9), busy_gzip.Median(),
      busy_gzip.Percentile(0.9), busy_rate, peak_rss, cpu_per_request_us, throughput, cycle_seconds,
      cycle_connections, total_connections, total_requests);
  if (flags.sweeps) std::printf(" busy_list_requests=%zu", busy_list_requests);
  if (flags.restart) {
    std::printf(
        " restart_s=%.2f restart_peak_rss_mib=%.1f restart_listen_s=%.2f restart_restored=%zu "
        "restart_polls=%zu",
        restart.seconds, restart.peak_rss_mib, restart.listen_seconds, restart.restored.value_or(0),
        restart.polls);
  }
  if (flags.webhook_deliveries > 0) {
    std::printf(" webhook_per_s=%.0f webhook_p50_ms=%.3f webhook_p99_ms=%.3f webhook_ok=%zu",
                static_cast<double>(webhook.sent) / webhook.seconds, Percentile(webhook.ms, 0.5),
                Percentile(webhook.ms, 0.99), webhook.ok);
    if (flags.scrape_during_webhooks) {
      std::printf(" webhook_busy_plain_ms=%.3f webhook_busy_gzip_ms=%.3f webhook_busy_overlap=%d",
                  webhook_plain.Median(), webhook_gzip.Median(), scrapes_within_deliveries ? 1 : 0);
    }
  }
  std::printf("\n");
  std::fflush(stdout);

  std::remove((dir + "/config.yml").c_str());
  std::remove((dir + "/secret_key").c_str());
  std::remove((dir + "/exporter.log").c_str());
  std::remove((dir + "/exporter-restart.log").c_str());
  std::remove((dir + "/webhook_secret").c_str());
  rmdir(dir.c_str());
  if (flags.restart && restart.restored != n) {
    std::cerr << "load_bench: the restarted exporter restored "
              << (restart.restored ? std::to_string(*restart.restored) : std::string("no"))
              << " eSIMs from its durable state, not " << n
              << ": the restart time above includes polling\n";
    return 1;
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  signal(SIGPIPE, SIG_IGN);
  const Flags flags = ParseFlags(argc, argv);
  try {
    return Run(flags);
  } catch (const std::exception& e) {
    std::cerr << "load_bench: " << e.what() << "\n";
    return 1;
  }
}
