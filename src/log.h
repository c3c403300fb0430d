// Structured logging to stderr, one event per line, logfmt or JSON (--log.level, --log.format).
// Thread safe. Never pass secrets in: nothing here knows what is secret.
#pragma once

#include <atomic>
#include <initializer_list>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace esim {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };
enum class LogFormat { kLogfmt, kJson };

using LogField = std::pair<std::string_view, std::string>;

class Logger {
 public:
  static Logger& Get();  // the process-wide logger

  void Configure(LogLevel level, LogFormat format);
  bool Enabled(LogLevel level) const { return level >= level_.load(std::memory_order_relaxed); }
  void Log(LogLevel level, std::string_view message, std::initializer_list<LogField> fields = {});

  // For tests: write into a string instead of stderr.
  void CaptureInto(std::string* sink);

 private:
  void LogFields(LogLevel level, std::string_view message, const std::vector<LogField>& fields);

  std::atomic<LogLevel> level_{LogLevel::kInfo};
  std::atomic<LogFormat> format_{LogFormat::kLogfmt};
  std::mutex mutex_;
  std::string* sink_ = nullptr;
};

inline void LogDebug(std::string_view msg, std::initializer_list<LogField> fields = {}) {
  if (Logger::Get().Enabled(LogLevel::kDebug)) Logger::Get().Log(LogLevel::kDebug, msg, fields);
}
inline void LogInfo(std::string_view msg, std::initializer_list<LogField> fields = {}) {
  Logger::Get().Log(LogLevel::kInfo, msg, fields);
}
inline void LogWarn(std::string_view msg, std::initializer_list<LogField> fields = {}) {
  Logger::Get().Log(LogLevel::kWarn, msg, fields);
}
inline void LogError(std::string_view msg, std::initializer_list<LogField> fields = {}) {
  Logger::Get().Log(LogLevel::kError, msg, fields);
}

// Adds account=<name> to every line logged on this thread while it lives, so that one account's
// trouble is told apart from another's (an account's own threads start inside one and take
// CurrentLogAccount() along). An empty name adds nothing: the unnamed account's lines stay.
class LogAccountScope {
 public:
  explicit LogAccountScope(std::string account);
  ~LogAccountScope();
  LogAccountScope(const LogAccountScope&) = delete;
  LogAccountScope& operator=(const LogAccountScope&) = delete;

 private:
  std::string previous_;
};
// The account of the innermost LogAccountScope on this thread; empty when none.
std::string CurrentLogAccount();

bool ParseLogLevel(std::string_view text, LogLevel& level);
bool ParseLogFormat(std::string_view text, LogFormat& format);

}  // namespace esim
