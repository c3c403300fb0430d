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
#include <utility>
#include <vector>

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
  --list-malformed-iccid=ICCID  the list entry of that eSIM has a wrong-typed field (data.used_mb
                              as text): one malformed entry among good ones
  --reset-iso8601             send X-RateLimit-Reset as ISO 8601 instead of Unix seconds
  --balance=AMOUNT            the account balance the balance endpoint reports (default 1500)
  --currency=CODE             its currency, three capital letters: USD, EUR or IQD (default USD)
  --webhook-url=URL           the API key's webhook URL as GET /webhooks reports it, with the
                              four eSIM events subscribed (default: none set)
  --log-requests              log one line per request to stderr (with account=NAME when
                              several accounts are served)
  --help                      show this help

Several accounts (API keys) on one server, so that one fails while another works. The flags
above describe the default account; each --account adds one with its own credentials, fleet,
rate limit window, balance and webhook subscription. A request is answered for the account
whose access code it sends, from that account's eSIMs only (no eSIM is in two accounts).
  --account-name=NAME         the default account's name, for --account-fault and the request
                              log (default "default")
  --account=NAME:ACCESS_CODE:SECRET_KEY_FILE[,KEY=VALUE...]
                              adds an account (repeatable). NAME: lowercase letters, digits,
                              '_' and '-', first a letter. The secret comes from the file as
                              for --secret-key-file. Optional KEY=VALUE settings, as the flags
                              of the same name: fleet=FILE.json, fleet-size=N (default 20
                              generated eSIMs, ICCIDs 8988303..., the n-th added account from
                              index n*100000000), rate-limit-per-minute=N, balance=AMOUNT,
                              currency=CODE, webhook-url=URL
  --account-fault=NAME:FAULT  makes every request of one account fail (repeatable): revoked
                              (401 INVALID_API_KEY), down (503 HTML page), invalid_signature
                              (401 INVALID_SIGNATURE, as after a rotated secret), rate_limited
                              (429 RATE_LIMIT_EXCEEDED, Retry-After 1) or provider_error (502
                              PROVIDER_ERROR), or none

Example, two accounts with globex refused:
  fake_esimfly_api --account-name=acme --secret-key-file=config/demo-secret-key \
    --account=globex:esf_demo_globex_access_code:config/demo-globex-secret-key,fleet-size=20 \
    --account-fault=globex:invalid_signature

Prints "fake eSIMfly API listening on URL (N eSIMs)" to stderr when ready (N: every account's),
then with several accounts one line per account; stops on SIGTERM or SIGINT.
Exit codes: 0 stopped by a signal, 1 bad flags or files, 2 cannot bind.
)usage";

struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// One --account.
struct AccountFlags {
  fake_esimfly::AccountOptions options;
  std::string secret_key_file;
  std::string fleet_file;
  std::optional<size_t> fleet_size;
  std::string webhook_url;
};

struct Flags {
  std::vector<AccountFlags> accounts;
  std::vector<std::pair<std::string, fake_esimfly::AccountFault>> account_faults;
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

// 1-63 characters: lowercase letters, digits, '_' and '-', first a letter (as the exporter's
// account names).
void CheckAccountName(const std::string& flag, const std::string& name) {
  const bool ok = !name.empty() && name.size() <= 63 && name[0] >= 'a' && name[0] <= 'z' &&
                  std::all_of(name.begin(), name.end(), [](char c) {
                    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
                  });
  if (!ok) {
    throw UsageError("--" + flag + ": bad account name \"" + name +
                     "\" (1-63 lowercase letters, digits, '_' and '-', first a letter)");
  }
}

double ParseBalance(const std::string& flag, const std::string& text) {
  char* end = nullptr;
  errno = 0;
  const double amount = std::strtod(text.c_str(), &end);
  if (text.empty() || end != text.c_str() + text.size() || errno != 0 || !std::isfinite(amount) ||
      amount < 0 || std::isspace(static_cast<unsigned char>(text[0]))) {
    throw UsageError("--" + flag +
                     ": expected a non-negative amount such as 1500 or 12.50, got \"" + text +
                     "\"");
  }
  return amount;
}

std::string ParseCurrency(const std::string& flag, const std::string& code) {
  if (code.size() != 3 ||
      !std::all_of(code.begin(), code.end(), [](char c) { return c >= 'A' && c <= 'Z'; })) {
    throw UsageError("--" + flag + ": expected three capital letters such as USD, got \"" + code +
                     "\"");
  }
  return code;
}

std::string ParseWebhookUrl(const std::string& flag, const std::string& url) {
  if (!url.starts_with("https://")) {
    throw UsageError("--" + flag + ": the vendor takes HTTPS URLs only");
  }
  return url;
}

// NAME:ACCESS_CODE:SECRET_KEY_FILE[,KEY=VALUE...]
AccountFlags ParseAccount(const std::string& value) {
  AccountFlags account;
  const size_t comma = value.find(',');
  const std::string head = value.substr(0, comma);
  const size_t first = head.find(':');
  const size_t second = first == std::string::npos ? first : head.find(':', first + 1);
  if (second == std::string::npos) {
    throw UsageError("--account: expected NAME:ACCESS_CODE:SECRET_KEY_FILE, got \"" + value + "\"");
  }
  account.options.name = head.substr(0, first);
  CheckAccountName("account", account.options.name);
  account.options.access_code = head.substr(first + 1, second - first - 1);
  account.secret_key_file = head.substr(second + 1);
  if (account.options.access_code.empty() || account.secret_key_file.empty()) {
    throw UsageError("--account: empty access code or secret key file in \"" + value + "\"");
  }
  std::string rest = comma == std::string::npos ? "" : value.substr(comma + 1);
  while (comma != std::string::npos) {
    const size_t next = rest.find(',');
    const std::string setting = rest.substr(0, next);
    const size_t eq = setting.find('=');
    if (eq == std::string::npos) {
      throw UsageError("--account: expected KEY=VALUE, got \"" + setting + "\"");
    }
    const std::string key = setting.substr(0, eq);
    const std::string text = setting.substr(eq + 1);
    const std::string flag = "account " + account.options.name + " " + key;
    if (key == "fleet") {
      account.fleet_file = text;
    } else if (key == "fleet-size") {
      account.fleet_size = ParseNumber<size_t>(flag, text, 0, 10000000);
    } else if (key == "rate-limit-per-minute") {
      account.options.rate_limit_per_minute = ParseNumber<int>(flag, text, 0, 1000000000);
    } else if (key == "balance") {
      account.options.balance = ParseBalance(flag, text);
    } else if (key == "currency") {
      account.options.currency = ParseCurrency(flag, text);
    } else if (key == "webhook-url") {
      account.webhook_url = ParseWebhookUrl(flag, text);
    } else {
      throw UsageError("--account: unknown setting \"" + key +
                       "\" (fleet, fleet-size, rate-limit-per-minute, balance, currency, "
                       "webhook-url)");
    }
    if (next == std::string::npos) break;
    rest = rest.substr(next + 1);
  }
  if (!account.fleet_file.empty() && account.fleet_size) {
    throw UsageError("--account " + account.options.name + ": fleet and fleet-size are exclusive");
  }
  return account;
}

std::string ReadSecretFile(const std::string& path, const std::string& flag = "secret-key-file") {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw UsageError("--" + flag + ": cannot read " + path);
  std::stringstream buffer;
  buffer << in.rdbuf();
  std::string secret = buffer.str();
  while (!secret.empty() && (secret.back() == '\n' || secret.back() == '\r' ||
                             secret.back() == ' ' || secret.back() == '\t')) {
    secret.pop_back();
  }
  if (secret.empty()) throw UsageError("--" + flag + ": " + path + " is empty");
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
      flags.options.balance = ParseBalance(name, required());
    } else if (name == "currency") {
      flags.options.currency = ParseCurrency(name, required());
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
    } else if (name == "list-malformed-iccid") {
      flags.options.list_malformed_iccid = required();
    } else if (name == "reset-iso8601") {
      boolean();
      flags.options.reset_header_iso8601 = true;
    } else if (name == "webhook-url") {
      flags.webhook_url = ParseWebhookUrl(name, required());
    } else if (name == "account-name") {
      flags.options.account_name = required();
      CheckAccountName(name, flags.options.account_name);
    } else if (name == "account") {
      flags.accounts.push_back(ParseAccount(required()));
    } else if (name == "account-fault") {
      const std::string text = required();
      const size_t colon = text.find(':');
      if (colon == std::string::npos) {
        throw UsageError("--account-fault: expected NAME:FAULT, got \"" + text + "\"");
      }
      try {
        flags.account_faults.emplace_back(text.substr(0, colon),
                                          fake_esimfly::ParseAccountFault(text.substr(colon + 1)));
      } catch (const std::invalid_argument& e) {
        throw UsageError(std::string("--account-fault: ") + e.what());
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
  for (const auto& [account, fault] : flags.account_faults) {
    if (account != flags.options.account_name &&
        std::none_of(flags.accounts.begin(), flags.accounts.end(),
                     [&](const AccountFlags& a) { return a.options.name == account; })) {
      throw UsageError("--account-fault: no account named \"" + account + "\"");
    }
  }
  return flags;
}

}  // namespace

int main(int argc, char** argv) {
  Flags flags;
  std::vector<fake_esimfly::FakeEsim> fleet;
  std::vector<std::vector<fake_esimfly::FakeEsim>> account_fleets;  // one per --account
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
    for (size_t i = 0; i < flags.accounts.size(); ++i) {
      AccountFlags& account = flags.accounts[i];
      account.options.secret_key =
          ReadSecretFile(account.secret_key_file, "account " + account.options.name);
      if (!account.fleet_file.empty()) {
        account_fleets.push_back(fake_esimfly::LoadFleetFile(account.fleet_file));
      } else {
        account_fleets.push_back(fake_esimfly::GenerateFleet(
            account.fleet_size.value_or(20), std::chrono::system_clock::now(),
            (i + 1) * fake_esimfly::kAccountIndexStride));
      }
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
    const bool several = !flags.accounts.empty();
    flags.options.on_request = [several](const fake_esimfly::RequestRecord& r) {
      std::string line = r.method + " " + r.path;
      if (!r.query.empty()) line += "?" + r.query;
      if (!r.iccid.empty()) line += " iccid=" + r.iccid;
      if (r.esim_id != 0) line += " esimId=" + std::to_string(r.esim_id);
      line += " -> " + std::to_string(r.http_status);
      if (!r.code.empty()) line += " " + r.code;
      if (several && !r.account.empty()) line += " account=" + r.account;
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

  size_t esim_count = fleet.size();
  fake_esimfly::FakeEsimflyApi api(flags.options, std::move(fleet));
  const nlohmann::json events = {"esim.usage.threshold", "esim.status.changed", "esim.installed",
                                 "esim.profile.updated"};
  try {
    if (!flags.webhook_url.empty()) api.SetWebhookSubscription(flags.webhook_url, events);
    for (size_t i = 0; i < flags.accounts.size(); ++i) {
      const AccountFlags& account = flags.accounts[i];
      esim_count += account_fleets[i].size();
      api.AddAccount(account.options, std::move(account_fleets[i]));
      if (!account.webhook_url.empty()) {
        api.SetWebhookSubscription(account.webhook_url, events, account.options.name);
      }
    }
    for (const auto& [account, fault] : flags.account_faults) api.SetAccountFault(account, fault);
  } catch (const std::exception& e) {
    // A taken name or access code, or an eSIM in two accounts.
    std::cerr << "fake_esimfly_api: " << e.what() << "\n";
    return 1;
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
  if (!flags.accounts.empty()) {
    for (const std::string& name : api.AccountNames()) {
      const auto fault = api.GetAccountFault(name);
      std::cerr << "  account " << name << ": " << api.FleetSize(name) << " eSIMs"
                << (fault == fake_esimfly::AccountFault::kNone
                        ? std::string()
                        : std::string(", fault ") + fake_esimfly::AccountFaultName(fault))
                << std::endl;
    }
  }

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
