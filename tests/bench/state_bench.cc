// Costs of the durable state (--storage.path, docs/benchmarks.md "Durable state"): for fleets of
// 1,000, 10,000 and 50,000 eSIMs with full data, the size of the state file, the time to encode
// it into one string (as the exporter did before it streamed), to write it as the persister does
// (streamed through a fixed buffer into a temporary file, fsync, rename, fsync of the directory),
// and to restore it at startup (check and parse the file line by line, StateStore::Restore), with
// the memory the restore adds at its peak (VmHWM, reset before it). Medians of several runs. Not
// a test: it asserts nothing about speed.
//
//   build/bench/tests/bench/state_bench [--runs=N] [--dir=DIR] [ESIMS...]
#include <malloc.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "state_file.h"
#include "state_store.h"
#include "storage_dir.h"

namespace {

using Clock = std::chrono::steady_clock;
constexpr double kGiB = 1024.0 * 1024.0 * 1024.0;
constexpr double kNow = 1764547200;

double Seconds(Clock::time_point since) {
  return std::chrono::duration<double>(Clock::now() - since).count();
}

double Median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  return values[values.size() / 2];
}

// A field of /proc/self/status in MiB (VmRSS, VmHWM).
double StatusMiB(const std::string& field) {
  std::ifstream in("/proc/self/status");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(field + ":", 0) == 0) return std::atof(line.c_str() + field.size() + 1) / 1024;
  }
  return 0;
}

// Resets VmHWM to the current RSS (Linux 4.0+), so that the next peak is the restore's.
// Memory the encode freed is given back first: the peak is then what the restore itself holds.
void ResetPeak() {
  malloc_trim(0);
  std::ofstream("/proc/self/clear_refs") << "5";
}

std::string Iccid(size_t i) {
  std::string digits = std::to_string(i);
  return "8944" + std::string(15 - digits.size(), '0') + digits;
}

// A fleet where every eSIM has everything: live and listed data, network, device, package,
// two config labels: the largest state a fleet can have.
std::vector<esim::EsimConfig> Fleet(size_t count) {
  std::vector<esim::EsimConfig> esims(count);
  for (size_t i = 0; i < count; ++i) {
    esims[i].iccid = Iccid(i);
    esims[i].name = "router-" + std::to_string(i);
    esims[i].labels = {{"site", "site-" + std::to_string(i % 50)}, {"fleet", "trucks"}};
  }
  return esims;
}

esim::PersistedState FullState(size_t count) {
  esim::StateStore store;
  const auto fleet = Fleet(count);
  store.SetEsims(fleet);
  std::vector<esim::ListedEsim> listing;
  for (size_t i = 0; i < count; ++i) {
    esim::ApiResult result;
    result.code = "OK";
    result.api_up = true;
    esim::EsimStatus status;
    status.iccid = fleet[i].iccid;
    status.status = "ACTIVE";
    status.esim_status = "Enabled";
    status.smdp_status = "Installed";
    status.last_network.operator_name = "Swisscom";
    status.last_network.mcc = "228";
    status.last_network.mnc = "01";
    status.last_network.country = "Switzerland";
    status.last_network.country_iso2 = "CH";
    status.last_network.connection_type = "5G";
    status.device.model = "Teltonika RUTX50";
    status.activation_time = kNow - 86400.0 * (i % 30) - 0.123;
    status.last_usage_time = kNow - 60.0 * (i % 600) - 0.456;
    status.expiry_time = kNow + 86400.0 * (1 + i % 300);
    status.used_bytes = 0.37 * kGiB * static_cast<double>(1 + i % 17);
    status.total_bytes = 10 * kGiB;
    result.status = status;
    store.RecordPoll(fleet[i].Key(), result, kNow - static_cast<double>(i % 900));
    esim::ListedEsim listed;
    listed.id = static_cast<int64_t>(100000 + i);
    listed.iccid = fleet[i].iccid;
    listed.package_code = "CH_10GB_30D";
    listed.package_name = "Switzerland 10 GB 30 days";
    listed.countries = {"CH", "LI"};
    listed.status = "ACTIVE";
    listed.used_bytes = status.used_bytes;
    listed.total_bytes = status.total_bytes;
    listing.push_back(listed);
  }
  store.RecordListed(listing, kNow - 3600);  // one page: the index is rebuilt once
  const auto snapshot = store.Snapshot();
  esim::PersistedState state;
  state.fingerprint = "0123456789abcdef0123456789abcdef";
  state.written = kNow;
  for (const auto& record : snapshot->esims) {
    esim::PersistedEsim& esim = state.esims.emplace_back();
    esim.record = *record;
    esim.record.labels.reset();
    esim.last_attempt = record->last_live_time - 0.2;
  }
  state.account = snapshot->account;
  return state;
}

}  // namespace

int main(int argc, char** argv) {
  int runs = 5;
  std::string dir = "build/state_bench";
  std::vector<size_t> sizes;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg.rfind("--runs=", 0) == 0) {
      runs = std::max(1, std::atoi(arg.c_str() + 7));
    } else if (arg.rfind("--dir=", 0) == 0) {
      dir = arg.substr(6);
    } else {
      sizes.push_back(static_cast<size_t>(std::atol(arg.c_str())));
    }
  }
  if (sizes.empty()) sizes = {1000, 10000, 50000};
  std::filesystem::remove_all(dir);
  esim::StorageDir storage(dir);
  std::printf("%8s %12s %10s %10s %10s %10s %12s\n", "esims", "file_bytes", "encode_s", "write_s",
              "restore_s", "bytes/esim", "restore_mib");
  for (const size_t count : sizes) {
    const esim::PersistedState state = FullState(count);
    const auto fleet = Fleet(count);
    std::vector<double> encode, write, restore, restore_mib;
    size_t bytes = 0;
    for (int run = 0; run < runs; ++run) {
      // Encode: the whole file as one string (the copy of the records included).
      auto start = Clock::now();
      {
        esim::PersistedState copy = state;
        bytes = esim::EncodeState(copy).size();
      }
      encode.push_back(Seconds(start));
      // Write: what the persister does, streamed.
      start = Clock::now();
      const std::string error = storage.WriteAtomically(
          esim::kStateFileName, [&state](esim::ByteSink& out) { esim::WriteState(state, out); });
      write.push_back(Seconds(start));
      if (!error.empty()) {
        std::fprintf(stderr, "%s\n", error.c_str());
        return 1;
      }
      // Restore: what startup does before the server listens.
      ResetPeak();
      const double rss_before = StatusMiB("VmRSS");
      start = Clock::now();
      esim::FileSource file;
      std::string read_error;
      bool missing = false;
      if (!file.Open(storage.File(esim::kStateFileName), read_error, missing)) {
        std::fprintf(stderr, "%s\n", read_error.c_str());
        return 1;
      }
      esim::StateStore store;
      store.SetEsims(fleet);
      std::vector<std::shared_ptr<esim::EsimRecord>> records;
      const auto decoded = esim::DecodeState(
          file,
          [&records](esim::PersistedEsim&& esim) {
            records.push_back(std::make_shared<esim::EsimRecord>(std::move(esim.record)));
          },
          read_error);
      if (!decoded) {
        std::fprintf(stderr, "%s\n", read_error.c_str());
        return 1;
      }
      const size_t restored = store.Restore(std::move(records), decoded->account, false);
      restore.push_back(Seconds(start));
      restore_mib.push_back(StatusMiB("VmHWM") - rss_before);
      if (restored != count) {
        std::fprintf(stderr, "restored %zu of %zu\n", restored, count);
        return 1;
      }
    }
    std::printf("%8zu %12zu %10.3f %10.3f %10.3f %10zu %12.1f\n", count, bytes, Median(encode),
                Median(write), Median(restore), bytes / count, Median(restore_mib));
    std::fflush(stdout);
    std::printf(
        "RESULT esims=%zu bytes=%zu encode_s=%.4f write_s=%.4f restore_s=%.4f restore_mib=%.1f "
        "runs=%d\n",
        count, bytes, Median(encode), Median(write), Median(restore), Median(restore_mib), runs);
  }
  std::filesystem::remove_all(dir);
  return 0;
}
