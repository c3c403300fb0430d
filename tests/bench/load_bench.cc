// Whole-process load benchmark of issue 6: the real esim_exporter binary against the fake eSIMfly
// API (in this process) with a generated fleet. Not a test: it asserts nothing about speed; it
// exits non-zero only when the exporter cannot be run at all (no port, never ready, bad scrape).
//
//   load_bench [--exporter=PATH] [--esims=N] [--latency-ms=L] [--concurrency=C] [--scrapes=S]
//              [--tls] [--window-seconds=W] [--busy-latency-ms=B] [--no-busy]
//              [--storage-dir=DIR [--storage-interval=SECONDS]]
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
//   3. busy (unless --no-busy): the fake's latency becomes B ms and we wait for the second cycle,
//      which spreads the N polls evenly over its 60 s (N/60 polls/s, at most C per latency):
//      S + S scrapes again, while requests keep arriving.
//   Peak RSS is VmHWM of /proc/<pid>/status at the end.
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
#include <cctype>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <optional>
#include <regex>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "count_series.h"
#include "fake_esimfly_api.h"
#include "fleet.h"

namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr char kSecret[] = "sk_bench_secret_key_0123456789abcdef";
constexpr char kAccessCode[] = "esf_bench_access_code";

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
};

[[noreturn]] void Usage(const std::string& problem) {
  std::cerr << "load_bench: " << problem << "\n"
            << "usage: load_bench [--exporter=PATH] [--esims=N] [--latency-ms=L] "
               "[--concurrency=C] [--scrapes=S] [--tls] [--cert-dir=DIR] [--window-seconds=W] "
               "[--busy-latency-ms=B] [--no-busy]\n";
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
           const std::string& storage_dir = "", double storage_interval = 1) {
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
    const auto deadline = Clock::now() + std::chrono::seconds(60);
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
    throw std::runtime_error("the exporter did not log its port within 60 s");
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
  Exporter(const Exporter&) = delete;
  Exporter& operator=(const Exporter&) = delete;
  pid_t pid() const { return pid_; }
  int port() const { return port_; }

 private:
  pid_t pid_ = -1;
  int port_ = 0;
};

struct ScrapeStats {
  std::vector<double> ms;
  size_t body_bytes = 0;
  size_t series = 0;
  std::string encoding;
  double Median() const { return Percentile(0.5); }
  double Percentile(double p) const {
    if (ms.empty()) return 0;
    std::vector<double> sorted = ms;
    std::sort(sorted.begin(), sorted.end());
    // Nearest rank.
    const size_t rank = static_cast<size_t>(std::max(1.0, std::ceil(p * sorted.size())));
    return sorted[std::min(rank, sorted.size()) - 1];
  }
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

bool Ready(int port) {
  httplib::Client client("127.0.0.1", port);
  client.set_read_timeout(10, 0);
  auto res = client.Get("/-/ready");
  return res && res->status == 200;
}

std::string Config(const Flags& flags, const std::string& url,
                   const std::vector<fake_esimfly::FakeEsim>& fleet) {
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

int Run(const Flags& flags) {
  // The fake API: generated fleet, signed requests verified as the vendor would.
  fake_esimfly::Options options;
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
    std::ofstream(dir + "/config.yml") << Config(flags, api.BaseUrl(), fleet);
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

  // Phase 2: idle scrapes.
  const size_t idle_requests_before = api.RequestCount();
  const ScrapeStats idle_plain = Scrape(exporter.port(), flags.scrapes, false);
  const ScrapeStats idle_gzip = Scrape(exporter.port(), flags.scrapes, true);
  const size_t idle_requests = api.RequestCount() - idle_requests_before;

  // Phase 3: scrapes while the second cycle polls.
  ScrapeStats busy_plain, busy_gzip;
  double busy_rate = 0;
  if (flags.busy) {
    api.SetLatency(milliseconds(flags.busy_latency_ms));
    const size_t before = api.RequestCount();
    const auto wait_deadline = Clock::now() + std::chrono::seconds(180);
    while (api.RequestCount() < before + static_cast<size_t>(flags.concurrency) + 1) {
      if (Clock::now() > wait_deadline) throw std::runtime_error("the second cycle never began");
      std::this_thread::sleep_for(milliseconds(20));
    }
    const size_t busy_before = api.RequestCount();
    const auto busy_start = Clock::now();
    busy_plain = Scrape(exporter.port(), flags.scrapes, false);
    busy_gzip = Scrape(exporter.port(), flags.scrapes, true);
    busy_rate = static_cast<double>(api.RequestCount() - busy_before) /
                std::max(Seconds(Clock::now() - busy_start), 1e-3);
  }
  const double peak_rss = StatusMiB(pid, "VmHWM");
  const double rss = StatusMiB(pid, "VmRSS");
  const size_t total_connections = api.ConnectionCount();
  const size_t total_requests = api.RequestCount();

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
  row("polls during the idle scrapes", std::to_string(idle_requests));
  if (flags.busy) {
    row("busy /metrics uncompressed, median / p90 (ms)",
        Fixed(busy_plain.Median(), 2) + " / " + Fixed(busy_plain.Percentile(0.9), 2));
    row("busy /metrics gzip, median / p90 (ms)",
        Fixed(busy_gzip.Median(), 2) + " / " + Fixed(busy_gzip.Percentile(0.9), 2));
    row("busy / idle, uncompressed median", Fixed(busy_plain.Median() / idle_plain.Median(), 2));
    row("busy / idle, gzip median", Fixed(busy_gzip.Median() / idle_gzip.Median(), 2));
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
  std::printf("\n");

  std::printf(
      "RESULT esims=%zu latency_ms=%d concurrency=%d tls=%d series=%zu body_bytes=%zu "
      "gzip_bytes=%zu idle_plain_ms=%.3f idle_plain_p90_ms=%.3f idle_gzip_ms=%.3f "
      "idle_gzip_p90_ms=%.3f idle_polls=%zu busy_plain_ms=%.3f busy_plain_p90_ms=%.3f "
      "busy_gzip_ms=%.3f busy_gzip_p90_ms=%.3f busy_polls_per_s=%.1f peak_rss_mib=%.1f "
      "cpu_per_request_us=%.1f polls_per_s=%.1f cycle_s=%.2f cycle_connections=%zu "
      "total_connections=%zu total_requests=%zu\n",
      n, flags.latency_ms, flags.concurrency, flags.tls ? 1 : 0, idle_plain.series,
      idle_plain.body_bytes, idle_gzip.body_bytes, idle_plain.Median(), idle_plain.Percentile(0.9),
      idle_gzip.Median(), idle_gzip.Percentile(0.9), idle_requests, busy_plain.Median(),
      busy_plain.Percentile(0.9), busy_gzip.Median(), busy_gzip.Percentile(0.9), busy_rate,
      peak_rss, cpu_per_request_us, throughput, cycle_seconds, cycle_connections, total_connections,
      total_requests);
  std::fflush(stdout);

  std::remove((dir + "/config.yml").c_str());
  std::remove((dir + "/secret_key").c_str());
  std::remove((dir + "/exporter.log").c_str());
  rmdir(dir.c_str());
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
