#include "command_line.h"

#include <charconv>
#include <string_view>
#include <variant>

namespace esim {
namespace {

struct FlagSpec {
  std::string_view name;         // "--config.file"
  std::string_view placeholder;  // "PATH"; empty for a switch (true/false)
  std::variant<std::string CommandLine::*, bool CommandLine::*> target;
  std::string_view help;  // lines separated by '\n'
};

// Every flag, in the order --help lists them.
constexpr FlagSpec kFlags[] = {
    {"--config.file", "PATH", &CommandLine::config_file,
     "config file (default /etc/esim_exporter/config.yml)"},
    {"--config.check", "", &CommandLine::config_check,
     "validate the config (and any --web.config.file), print\n"
     "what is wrong and what the fleet costs the API key per\n"
     "day, exit 0 or 1"},
    {"--web.listen-address", "[HOST]:PORT", &CommandLine::listen_address,
     "where to serve (default :10417)"},
    {"--web.telemetry-path", "PATH", &CommandLine::telemetry_path,
     "path of the metrics (default /metrics)"},
    {"--web.config.file", "PATH", &CommandLine::web_config_file,
     "TLS, mTLS, basic auth and headers for the endpoints, in the\n"
     "exporter-toolkit web config format; read at startup"},
    {"--log.level", "debug|info|warn|error", &CommandLine::log_level, "(default info)"},
    {"--log.format", "logfmt|json", &CommandLine::log_format,
     "one event per line on stderr (default logfmt)"},
    {"--once", "", &CommandLine::once, "poll every eSIM once, print the metrics on stdout, exit"},
    {"--shard.total", "N", &CommandLine::shard_total,
     "split the fleet over N replicas (default 1) ..."},
    {"--shard.index", "I", &CommandLine::shard_index,
     "... of which this is replica I: a number from 0 to N-1, or\n"
     "a name ending in -I such as a StatefulSet pod name; each\n"
     "replica polls its eSIMs with 1/N of api.rate_limit"},
    {"--storage.path", "DIR", &CommandLine::storage_path,
     "keep the state (every eSIM's last observations, the poll\n"
     "schedule, the request-budget ledger) in DIR, so that a\n"
     "restart loses nothing and spends nothing; DIR is created\n"
     "and locked (one exporter per DIR). Default: memory only"},
    {"--webhook.show", "", &CommandLine::webhook_show,
     "print the API key's webhook subscription (GET /webhooks:\n"
     "URL, events, recent deliveries) and exit 0, or 1 when it\n"
     "cannot be read; one request, read only, no secret shown"},
    {"--version", "", &CommandLine::version, "print the version and exit"},
    {"--help", "", &CommandLine::help, "print this help and exit"},
};

const FlagSpec* FindFlag(std::string_view name) {
  for (const FlagSpec& flag : kFlags) {
    if (flag.name == name) return &flag;
  }
  return nullptr;
}

// The values' own rules, once every flag is read.
std::string CheckValues(CommandLine& flags) {
  const std::string& path = flags.telemetry_path;
  if (path.empty() || path[0] != '/' || path == "/" || path.rfind("/-/", 0) == 0) {
    return "--web.telemetry-path must start with / and not be / or under /-/";
  }
  // A path, not a pattern: ':' would make cpp-httplib read "/:name" as a parameter.
  if (path.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                             "0123456789/._~-") != std::string::npos) {
    return "--web.telemetry-path may hold only letters, digits and / . _ ~ -";
  }
  const std::string& total_text = flags.shard_total;
  int total = 0;
  const char* end = total_text.data() + total_text.size();
  const auto [stop, parse_error] = std::from_chars(total_text.data(), end, total);
  if (parse_error != std::errc() || stop != end || total < 1 || total > 1000) {
    return "--shard.total must be a whole number from 1 to 1000";
  }
  const auto index = ParseShardIndex(flags.shard_index, total);
  if (!index) {
    return "--shard.index '" + flags.shard_index + "' must be a number from 0 to " +
           std::to_string(total - 1) + ", or a name ending in -<number> (a StatefulSet pod name)";
  }
  flags.shard = Shard{*index, total};
  if (!ParseLogLevel(flags.log_level, flags.parsed_log_level)) {
    return "--log.level must be debug, info, warn or error";
  }
  if (!ParseLogFormat(flags.log_format, flags.parsed_log_format)) {
    return "--log.format must be logfmt or json";
  }
  return "";
}

}  // namespace

std::string ParseCommandLine(int argc, const char* const* argv, CommandLine& flags) {
  for (int i = 1; i < argc; ++i) {
    std::string name = argv[i];
    std::string value;
    bool has_value = false;
    if (const size_t eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name.resize(eq);
      has_value = true;
    }
    if (name == "-h") name = "--help";  // the one short flag
    if (name.rfind("--", 0) != 0 && name.rfind('-', 0) == 0) name.insert(0, "-");  // -x as --x
    const FlagSpec* flag = FindFlag(name);
    if (flag == nullptr) return "unknown flag " + name + " (see --help)";
    if (const auto* text = std::get_if<std::string CommandLine::*>(&flag->target)) {
      if (!has_value) {
        if (i + 1 >= argc) return "flag " + name + " needs a value";
        value = argv[++i];
      }
      flags.*(*text) = value;
    } else {
      bool& target = flags.*std::get<bool CommandLine::*>(flag->target);
      if (!has_value || value == "true") {
        target = true;
      } else if (value == "false") {
        target = false;
      } else {
        return "flag " + name + " takes true or false";
      }
    }
  }
  return CheckValues(flags);
}

std::string UsageText() {
  constexpr size_t kHelpColumn = 32;
  std::string out =
      "usage: esim_exporter [flags]\n"
      "\n"
      "Prometheus exporter for eSIMfly eSIM fleets: polls the signed live-status API on a "
      "budget\n"
      "and serves the latest state of every configured eSIM on /metrics.\n"
      "\n";
  for (const FlagSpec& flag : kFlags) {
    std::string head = "  ";
    if (flag.name == "--help") head += "-h, ";
    head += flag.name;
    if (!flag.placeholder.empty()) head.append("=").append(flag.placeholder);
    out += head;
    out.append(head.size() + 2 <= kHelpColumn ? kHelpColumn - head.size() : 2, ' ');
    std::string_view help = flag.help;
    for (size_t newline; (newline = help.find('\n')) != std::string_view::npos;) {
      out.append(help.substr(0, newline)).append("\n").append(kHelpColumn, ' ');
      help.remove_prefix(newline + 1);
    }
    out.append(help).append("\n");
  }
  out +=
      "\n"
      "Exit codes: 0 clean stop, 1 invalid config or flags, 2 cannot bind or start.\n"
      "SIGHUP and POST /-/reload re-read the config.\n";
  return out;
}

}  // namespace esim
