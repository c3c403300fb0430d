#include "process_metrics.h"

#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <string>

namespace esim {
namespace {

constexpr MetricDesc kCpuSeconds{"process_cpu_seconds_total",
                                 "Total user and system CPU time spent in seconds.", "counter"};
constexpr MetricDesc kResidentMemory{"process_resident_memory_bytes",
                                     "Resident memory size in bytes.", "gauge"};
constexpr MetricDesc kVirtualMemory{"process_virtual_memory_bytes", "Virtual memory size in bytes.",
                                    "gauge"};
constexpr MetricDesc kStartTime{"process_start_time_seconds",
                                "Start time of the process since unix epoch in seconds.", "gauge"};
constexpr MetricDesc kOpenFds{"process_open_fds", "Number of open file descriptors.", "gauge"};
constexpr MetricDesc kMaxFds{"process_max_fds", "Maximum number of open file descriptors.",
                             "gauge"};

struct ProcStat {
  double cpu_seconds = 0, virtual_bytes = 0, resident_bytes = 0, start_time = 0;
  bool ok = false;
};

double BootTime() {
  std::ifstream in("/proc/stat");
  std::string key;
  double value = 0;
  while (in >> key) {
    if (key == "btime") {
      in >> value;
      return value;
    }
    in.ignore(4096, '\n');
  }
  return 0;
}

ProcStat ReadProcStatOrThrow() {
  ProcStat stat;
  std::ifstream in("/proc/self/stat");
  std::string line;
  if (!std::getline(in, line)) return stat;
  // The command name (field 2) may hold spaces; fields after its closing parenthesis are fixed.
  const size_t close = line.rfind(')');
  if (close == std::string::npos) return stat;
  std::istringstream fields(line.substr(close + 2));
  std::string field;
  double utime = 0, stime = 0, starttime = 0, vsize = 0, rss = 0;
  for (int index = 3; fields >> field; ++index) {
    if (index == 14) utime = std::stod(field);
    if (index == 15) stime = std::stod(field);
    if (index == 22) starttime = std::stod(field);
    if (index == 23) vsize = std::stod(field);
    if (index == 24) {
      rss = std::stod(field);
      break;
    }
  }
  const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
  const double page = static_cast<double>(sysconf(_SC_PAGESIZE));
  stat.cpu_seconds = (utime + stime) / ticks;
  stat.virtual_bytes = vsize;
  stat.resident_bytes = rss * page;
  stat.start_time = BootTime() + starttime / ticks;
  stat.ok = true;
  return stat;
}

// A malformed /proc entry costs these metrics, never the whole scrape.
ProcStat ReadProcStat() {
  try {
    return ReadProcStatOrThrow();
  } catch (const std::exception&) {
    return ProcStat{};
  }
}

double OpenFds() {
  DIR* dir = opendir("/proc/self/fd");
  if (dir == nullptr) return 0;
  double count = 0;
  while (const dirent* entry = readdir(dir)) {
    if (entry->d_name[0] != '.') ++count;
  }
  closedir(dir);
  return count - 1;  // the descriptor opendir itself holds
}

}  // namespace

void WriteProcessMetrics(ExpositionWriter& writer) {
  const ProcStat stat = ReadProcStat();
  if (stat.ok) {
    writer.Family(kCpuSeconds);
    writer.Sample(kCpuSeconds, {}, stat.cpu_seconds);
    writer.Family(kResidentMemory);
    writer.Sample(kResidentMemory, {}, stat.resident_bytes);
    writer.Family(kVirtualMemory);
    writer.Sample(kVirtualMemory, {}, stat.virtual_bytes);
    writer.Family(kStartTime);
    writer.Sample(kStartTime, {}, stat.start_time);
  }
  writer.Family(kOpenFds);
  writer.Sample(kOpenFds, {}, OpenFds());
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0) {
    writer.Family(kMaxFds);
    writer.Sample(kMaxFds, {}, static_cast<double>(limit.rlim_cur));
  }
}

}  // namespace esim
