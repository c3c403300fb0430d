// fake_esimfly_api: the fake eSIMfly business API as a standalone server, for the demo and for
// trying the exporter by hand. See fake_esimfly_api.h for what it checks and answers.
//
// Exit codes: 0 after SIGTERM/SIGINT, 1 on bad flags or unreadable files, 2 when it cannot bind.
#include <pthread.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <csignal>
#include <cstdlib>
#include <fstream>
#include <future>
#include <iostream>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <system_error>

#include "fake_esimfly_api.h"
#include "fleet.h"

namespace {

constexpr char kUsage[] =
    R"usage(Usage: fake_esimfly_api [flags]

A fake eSIMfly business API that checks HMAC request signing exactly as the vendor documents
it, serving POST /api/v1/business/esims/status (live status), GET /api/v1/business/esims (the
paged eSIM list, usage in MB; its installation secrets are fake but contain "SECRET-") and
GET /api/v1/business/balance, and the webhook subscription (GET and PUT
/api/v1/business/webhooks; fake_esimfly_webhook sends the deliveries). For tests and demos only.

Flags:
  --listen=HOST:PORT          address to serve on (default 127.0.0.1:18080; [::1]:PORT for IPv6,
                              port 0 picks a free one)
  --access-code=CODE          the access code clients must send (default esf_demo_access_code)
  --secret-key-file=PATH      file holding the secret key (trailing newline ignored). The secret
                              is never taken from the command line; without this flag it comes
                              from $FAKE_ESIMFLY_SECRET_KEY, else the demo default
                              sk_demo_secret_key
  --rate-limit-per-minute=N   requests per fixed 60 s window, 0 = unlimited (default 0)
  --latency=MS                delay added before every answer, in milliseconds (default 0)
  --tls-cert=PATH             serve HTTPS with this certificate (PEM) ...
  --tls-key=PATH              ... and this private key (PEM); both or neither
  --fleet=FILE.json           eSIMs to serve: a JSON array of
                              {"iccid", "id", "status_data", "error_code"}, optionally with
                              "package_name", "package_code", "countries", "created_at" and
                              "listed_overrides" for the list endpoint, "fault" (hang,
                              huge_body, 429_retry_after, 429_bare, 500, connection_reset,
                              garbage, wrong_types) for the status endpoint, and "pending"
                              (true: an order still being provisioned)
  --fleet-size=N              serve N generated eSIMs instead of the default fleet (13 eSIMs,
                              one per shape and every documented status, and 2 pending orders)
  --list-pagination=KEY       how list pages name their page count: total_pages (default),
                              totalPages, or none (clients derive it from total and limit)
  --list-invents-esims        a hostile list endpoint: new made-up eSIMs on every page, and
                              always one more page
  --reset-iso8601             send X-RateLimit-Reset as ISO 8601 instead of Unix seconds
  --balance=AMOUNT            the account balance the balance endpoint reports (default 1500)
  --currency=CODE             its currency, three capital letters: USD, EUR or IQD (default USD)
  --webhook-url=URL           the API key's webhook URL as GET /webhooks reports it, with the
                              four eSIM events subscribed (default: none set)
  --log-requests              log one line per request to stderr
  --help                      show this help

Prints "fake eSIMfly API listening on URL (N eSIMs)" to stderr when ready; stops on SIGTERM or
SIGINT. Exit codes: 0 stopped by a signal, 1 bad flags or files, 2 cannot bind.
)usage";

struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct Flags {
  std::string host = "127.0.0.1";
  int port = 18080;
  fake_esimfly::Options options;
  std::string secret_key_file;
  std::string fleet_file;
  std::optional<size_t> fleet_size;
  std::string webhook_url;  // empty: the key has no webhook subscription
  bool log_requests = false;
  bool help = false;
};

template <typename T>
T ParseNumber(const std::string& flag, const std::string& value, T min, T max) {
  T result{};
  const char* end = value.data() + value.size();
  auto [ptr, ec] = std::from_chars(value.data(), end, result);
  if (value.empty() || ec != std::errc() || ptr != end || result < min || result > max) {
    throw UsageError("--" + flag + ": expected an integer from " + std::to_string(min) + " to " +
                     std::to_string(max) + ", got \"" + value + "\"");
  }
  return result;
}

void ParseListen(const std::string& value, Flags& flags) {
  const size_t colon = value.rfind(':');
  if (colon == std::string::npos || colon == 0) {
    throw UsageError("--listen: expected HOST:PORT, got \"" + value + "\"");
  }
  std::string host = value.substr(0, colon);
  if (host.front() == '[') {
    if (host.back() != ']' || host.size() < 3) {
      throw UsageError("--listen: bad IPv6 address in \"" + value + "\"");
    }
    host = host.substr(1, host.size() - 2);
  }
  flags.host = host;
  flags.port = ParseNumber<int>("listen", value.substr(colon + 1), 0, 65535);
}

std::string ReadSecretFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw UsageError("--secret-key-file: cannot read " + path);
  std::stringstream buffer;
  buffer << in.rdbuf();
  std::string secret = buffer.str();
  while (!secret.empty() && (secret.back() == '\n' || secret.back() == '\r' ||
                             secret.back() == ' ' || secret.back() == '\t')) {
    secret.pop_back();
  }
  if (secret.empty()) throw UsageError("--secret-key-file: " + path + " is empty");
  return secret;
}

Flags ParseFlags(int argc, char** argv) {
  Flags flags;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg.rfind("--", 0) != 0) throw UsageError("unexpected argument \"" + arg + "\"");
    std::string name = arg.substr(2);
    std::optional<std::string> value;
    if (const size_t eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
    }
    auto boolean = [&] {
      if (value) throw UsageError("--" + name + " takes no value");
    };
    // "--flag=value" or "--flag value".
    auto required = [&]() -> std::string {
      if (!value) {
        if (i + 1 >= argc) throw UsageError("--" + name + " needs a value");
        value = argv[++i];
      }
      return *value;
    };
    if (name == "help" || name == "h") {
      boolean();
      flags.help = true;
    } else if (name == "listen") {
      ParseListen(required(), flags);
    } else if (name == "access-code") {
      flags.options.access_code = required();
      if (flags.options.access_code.empty()) throw UsageError("--access-code: empty");
    } else if (name == "secret-key" || name == "secret") {
      throw UsageError("--" + name +
                       ": the secret key is never taken from the command line; use "
                       "--secret-key-file=PATH or the FAKE_ESIMFLY_SECRET_KEY environment "
                       "variable");
    } else if (name == "secret-key-file") {
      flags.secret_key_file = required();
    } else if (name == "rate-limit-per-minute") {
      flags.options.rate_limit_per_minute = ParseNumber<int>(name, required(), 0, 1000000000);
    } else if (name == "latency") {
      flags.options.latency =
          std::chrono::milliseconds(ParseNumber<int64_t>(name, required(), 0, 3600000));
    } else if (name == "tls-cert") {
      flags.options.tls_cert_file = required();
    } else if (name == "tls-key") {
      flags.options.tls_key_file = required();
    } else if (name == "fleet") {
      flags.fleet_file = required();
    } else if (name == "fleet-size") {
      flags.fleet_size = ParseNumber<size_t>(name, required(), 0, 10000000);
    } else if (name == "balance") {
      const std::string text = required();
      char* end = nullptr;
      errno = 0;
      const double amount = std::strtod(text.c_str(), &end);
      if (text.empty() || end != text.c_str() + text.size() || errno != 0 ||
          !std::isfinite(amount) || amount < 0 ||
          std::isspace(static_cast<unsigned char>(text[0]))) {
        throw UsageError("--balance: expected a non-negative amount such as 1500 or 12.50, got \"" +
                         text + "\"");
      }
      flags.options.balance = amount;
    } else if (name == "currency") {
      const std::string code = required();
      if (code.size() != 3 ||
          !std::all_of(code.begin(), code.end(), [](char c) { return c >= 'A' && c <= 'Z'; })) {
        throw UsageError("--currency: expected three capital letters such as USD, got \"" + code +
                         "\"");
      }
      flags.options.currency = code;
    } else if (name == "list-pagination") {
      const std::string key = required();
      if (key != "total_pages" && key != "totalPages" && key != "none") {
        throw UsageError("--list-pagination: expected total_pages, totalPages or none, got \"" +
                         key + "\"");
      }
      flags.options.list_total_pages_key = key == "none" ? "" : key;
    } else if (name == "list-invents-esims") {
      boolean();
      flags.options.list_invents_esims = true;
    } else if (name == "reset-iso8601") {
      boolean();
      flags.options.reset_header_iso8601 = true;
    } else if (name == "webhook-url") {
      flags.webhook_url = required();
      if (!flags.webhook_url.starts_with("https://")) {
        throw UsageError("--webhook-url: the vendor takes HTTPS URLs only");
      }
    } else if (name == "log-requests") {
      boolean();
      flags.log_requests = true;
    } else {
      throw UsageError("unknown flag --" + name);
    }
  }
  if (flags.options.tls_cert_file.empty() != flags.options.tls_key_file.empty()) {
    throw UsageError("--tls-cert and --tls-key go together");
  }
  if (!flags.fleet_file.empty() && flags.fleet_size) {
    throw UsageError("--fleet and --fleet-size are exclusive");
  }
  return flags;
}

}  // namespace

int main(int argc, char** argv) {
  Flags flags;
  std::vector<fake_esimfly::FakeEsim> fleet;
  try {
    flags = ParseFlags(argc, argv);
    if (flags.help) {
      std::cout << kUsage;
      return 0;
    }
    if (!flags.secret_key_file.empty()) {
      flags.options.secret_key = ReadSecretFile(flags.secret_key_file);
    } else if (const char* env = std::getenv("FAKE_ESIMFLY_SECRET_KEY"); env && *env) {
      flags.options.secret_key = env;
    }
    if (!flags.fleet_file.empty()) {
      fleet = fake_esimfly::LoadFleetFile(flags.fleet_file);
    } else if (flags.fleet_size) {
      fleet = fake_esimfly::GenerateFleet(*flags.fleet_size);
    } else {
      fleet = fake_esimfly::DefaultFleet();
    }
  } catch (const UsageError& e) {
    std::cerr << "fake_esimfly_api: " << e.what() << "\n(see --help)\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "fake_esimfly_api: " << e.what() << "\n";
    return 1;
  }

  flags.options.max_recorded_requests = 10000;  // a long demo must not grow without bound
  if (flags.log_requests) {
    flags.options.on_request = [](const fake_esimfly::RequestRecord& r) {
      std::string line = r.method + " " + r.path;
      if (!r.query.empty()) line += "?" + r.query;
      if (!r.iccid.empty()) line += " iccid=" + r.iccid;
      if (r.esim_id != 0) line += " esimId=" + std::to_string(r.esim_id);
      line += " -> " + std::to_string(r.http_status);
      if (!r.code.empty()) line += " " + r.code;
      std::cerr << line + "\n";
    };
  }

  // Signals are taken synchronously by sigwait below: block them before any thread starts, so
  // that every server thread inherits the mask.
  std::signal(SIGPIPE, SIG_IGN);
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  const size_t esim_count = fleet.size();
  fake_esimfly::FakeEsimflyApi api(flags.options, std::move(fleet));
  if (!flags.webhook_url.empty()) {
    api.SetWebhookSubscription(flags.webhook_url, {"esim.usage.threshold", "esim.status.changed",
                                                   "esim.installed", "esim.profile.updated"});
  }
  try {
    api.Start(flags.host, flags.port);
  } catch (const fake_esimfly::BindError& e) {
    std::cerr << "fake_esimfly_api: " << e.what() << "\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "fake_esimfly_api: " << e.what() << "\n";
    return 1;
  }
  std::cerr << "fake eSIMfly API listening on " << api.BaseUrl() << " (" << esim_count << " eSIMs)"
            << std::endl;

  int signal_number = 0;
  sigwait(&stop_signals, &signal_number);
  // An idle keep-alive connection holds a worker for up to its timeout (5 s); a fake need not
  // wait for it: give in-flight answers a second, then leave.
  auto stopped = std::async(std::launch::async, [&api] { api.Stop(); });
  if (stopped.wait_for(std::chrono::seconds(1)) == std::future_status::timeout) {
    std::cerr << std::flush;
    std::_Exit(0);
  }
  return 0;
}
