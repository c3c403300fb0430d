#include "log.h"

#include <chrono>
#include <cstdio>
#include <ctime>
#include <vector>

namespace esim {
namespace {

const char* LevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug:
      return "debug";
    case LogLevel::kInfo:
      return "info";
    case LogLevel::kWarn:
      return "warn";
    case LogLevel::kError:
      return "error";
  }
  return "info";
}

std::string Timestamp() {
  const auto now = std::chrono::system_clock::now();
  const std::time_t seconds = std::chrono::system_clock::to_time_t(now);
  const auto millis =
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char buffer[32];
  const size_t used = std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%S", &utc);
  std::snprintf(buffer + used, sizeof buffer - used, ".%03dZ", static_cast<int>(millis));
  return buffer;
}

void AppendLogfmtValue(std::string& out, std::string_view value) {
  bool quote = value.empty();
  for (char c : value) {
    if (c == ' ' || c == '=' || c == '"' || static_cast<unsigned char>(c) < 0x20) quote = true;
  }
  if (!quote) {
    out += value;
    return;
  }
  out += '"';
  for (char c : value) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else if (static_cast<unsigned char>(c) < 0x20) {
      out += ' ';
    } else {
      out += c;
    }
  }
  out += '"';
}

void AppendJsonString(std::string& out, std::string_view value) {
  out += '"';
  for (char c : value) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char escaped[8];
          std::snprintf(escaped, sizeof escaped, "\\u%04x", c);
          out += escaped;
        } else {
          out += c;
        }
    }
  }
  out += '"';
}

}  // namespace

Logger& Logger::Get() {
  static Logger logger;
  return logger;
}

void Logger::Configure(LogLevel level, LogFormat format) {
  std::lock_guard<std::mutex> lock(mutex_);
  level_ = level;
  format_ = format;
}

void Logger::CaptureInto(std::string* sink) {
  std::lock_guard<std::mutex> lock(mutex_);
  sink_ = sink;
}

namespace {
thread_local std::string t_log_account;  // LogAccountScope's
}  // namespace

LogAccountScope::LogAccountScope(std::string account) : previous_(std::move(t_log_account)) {
  t_log_account = std::move(account);
}

LogAccountScope::~LogAccountScope() { t_log_account = std::move(previous_); }

std::string CurrentLogAccount() { return t_log_account; }

void Logger::Log(LogLevel level, std::string_view message, std::initializer_list<LogField> fields) {
  if (!Enabled(level)) return;
  if (!t_log_account.empty()) {
    // The account goes first, before the call's own fields.
    std::vector<LogField> with_account{{"account", t_log_account}};
    with_account.insert(with_account.end(), fields.begin(), fields.end());
    LogFields(level, message, with_account);
    return;
  }
  LogFields(level, message, std::vector<LogField>(fields.begin(), fields.end()));
}

void Logger::LogFields(LogLevel level, std::string_view message,
                       const std::vector<LogField>& fields) {
  std::string line;
  const std::string ts = Timestamp();
  if (format_ == LogFormat::kJson) {
    line += "{\"ts\":";
    AppendJsonString(line, ts);
    line += ",\"level\":";
    AppendJsonString(line, LevelName(level));
    line += ",\"msg\":";
    AppendJsonString(line, message);
    for (const auto& [key, value] : fields) {
      if (value.empty()) continue;  // an absent detail, not a value worth a field
      line += ',';
      AppendJsonString(line, key);
      line += ':';
      AppendJsonString(line, value);
    }
    line += "}\n";
  } else {
    line += "ts=" + ts + " level=" + LevelName(level) + " msg=";
    AppendLogfmtValue(line, message);
    for (const auto& [key, value] : fields) {
      if (value.empty()) continue;
      line += ' ';
      line += key;
      line += '=';
      AppendLogfmtValue(line, value);
    }
    line += '\n';
  }
  std::lock_guard<std::mutex> lock(mutex_);
  if (sink_ != nullptr) {
    *sink_ += line;
  } else {
    std::fwrite(line.data(), 1, line.size(), stderr);
  }
}

bool ParseLogLevel(std::string_view text, LogLevel& level) {
  if (text == "debug")
    level = LogLevel::kDebug;
  else if (text == "info")
    level = LogLevel::kInfo;
  else if (text == "warn")
    level = LogLevel::kWarn;
  else if (text == "error")
    level = LogLevel::kError;
  else
    return false;
  return true;
}

bool ParseLogFormat(std::string_view text, LogFormat& format) {
  if (text == "logfmt")
    format = LogFormat::kLogfmt;
  else if (text == "json")
    format = LogFormat::kJson;
  else
    return false;
  return true;
}

}  // namespace esim
