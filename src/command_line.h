// The command line: every flag is declared once, in one table that both the parser and the
// usage text read, so the two cannot disagree (docs/contract.md, "Command line").
#pragma once

#include <string>

#include "log.h"
#include "shard.h"

namespace esim {

struct CommandLine {
  std::string config_file = "/etc/esim_exporter/config.yml";
  bool config_check = false;
  std::string listen_address = ":10417";
  std::string telemetry_path = "/metrics";
  std::string web_config_file;  // empty: plain HTTP, no authentication
  std::string log_level = "info";
  std::string log_format = "logfmt";
  bool once = false;
  std::string shard_total = "1";
  std::string shard_index = "0";
  std::string storage_path;  // empty: state in memory only
  bool webhook_show = false;
  bool version = false;
  bool help = false;

  // Set by ParseCommandLine from the texts above once they are valid.
  Shard shard;
  LogLevel parsed_log_level = LogLevel::kInfo;
  LogFormat parsed_log_format = LogFormat::kLogfmt;
};

// Accepts --name=value, --name value, -name for --name, -h for --help, and --flag / --flag=true
// / --flag=false for the switches; then checks the values. Returns an error text naming the
// flag, empty when the command line is valid.
std::string ParseCommandLine(int argc, const char* const* argv, CommandLine& flags);

// The --help text, built from the flag table.
std::string UsageText();

}  // namespace esim
