#include "state_file.h"

#include <openssl/sha.h>
#include <zlib.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <nlohmann/json.hpp>
#include <stdexcept>

namespace esim {
namespace {

using nlohmann::json;

constexpr char kFormat[] = "esim_exporter.state";
constexpr char kLedgerFormat[] = "esim_exporter.budget";
// A header is a few hundred bytes; anything longer is not one of ours.
constexpr size_t kMaxHeaderBytes = 4096;
// What the reader holds of a file at a time (plus one line when a line spans two reads).
constexpr size_t kReadBufferBytes = 1 << 20;

std::string Hex(const unsigned char* data, size_t size) {
  static const char digits[] = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < size; ++i) {
    out += digits[data[i] >> 4];
    out += digits[data[i] & 15];
  }
  return out;
}

std::string Sha256Hex(const std::string& text) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(text.data()), text.size(), digest);
  return Hex(digest, sizeof digest);
}

// CRC-32 of `first` followed by `second`, without joining them (a state may be tens of MB).
uint32_t Crc32(std::string_view first, std::string_view second = {}) {
  uLong crc = crc32(0L, Z_NULL, 0);
  for (std::string_view data : {first, second}) {
    // zlib takes uInt lengths: feed large inputs in pieces.
    while (!data.empty()) {
      const size_t piece = std::min<size_t>(data.size(), 1u << 30);
      crc = crc32(crc, reinterpret_cast<const Bytef*>(data.data()), static_cast<uInt>(piece));
      data.remove_prefix(piece);
    }
  }
  return static_cast<uint32_t>(crc);
}

json Header(const char* format, const std::string& fingerprint, double written, uint64_t lines,
            uint64_t bytes) {
  return {{"format", format},
          {"version", kStateFormatVersion},
          {"fingerprint", fingerprint},
          {"written", written},
          {"lines", lines},
          {"bytes", bytes}};
}

// The framing shared by both files: header line, then the body lines.
std::string Frame(const char* format, const std::string& fingerprint, double written,
                  std::string body, size_t lines) {
  json header = Header(format, fingerprint, written, lines, body.size());
  // The checksum covers the header's other fields too (as dumped: keys sorted, no spaces).
  header["crc32"] = Crc32(header.dump() + "\n", body);
  // The header goes in front of the body in place: no second copy of a large state.
  std::string out = std::move(body);
  out.insert(0, header.dump() + "\n");
  return out;
}

// Writes a file of `format` through `out` while its body lines are made: a header slot of fixed
// width first, the lines (counted, checksummed) as they come, then the header in its slot,
// padded with spaces before its '\n' (JSON allows trailing white space: any reader of this
// format version reads it as it reads an unpadded one).
class FramedWriter {
 public:
  FramedWriter(ByteSink& out, const char* format, const std::string& fingerprint, double written)
      : out_(out), format_(format), fingerprint_(fingerprint), written_(written) {
    // Wide enough for any line and byte count and checksum.
    json widest = Header(format, fingerprint, written, std::numeric_limits<uint64_t>::max(),
                         std::numeric_limits<uint64_t>::max());
    widest["crc32"] = std::numeric_limits<uint32_t>::max();
    slot_ = std::max(kStateHeaderSlotBytes, widest.dump().size() + 1);
    out_.Append(std::string(slot_, ' '));
  }

  void Add(const json& line) {
    line_.clear();
    line_ += line.dump(-1, ' ', false, json::error_handler_t::replace);
    line_ += '\n';
    crc_ = static_cast<uint32_t>(
        crc32(crc_, reinterpret_cast<const Bytef*>(line_.data()), static_cast<uInt>(line_.size())));
    bytes_ += line_.size();
    ++lines_;
    out_.Append(line_);
  }

  void Finish() {
    json header = Header(format_, fingerprint_, written_, lines_, bytes_);
    const std::string covered = header.dump() + "\n";
    header["crc32"] =
        static_cast<uint32_t>(crc32_combine(Crc32(covered), crc_, static_cast<z_off_t>(bytes_)));
    std::string text = header.dump();
    text.append(slot_ - 1 - text.size(), ' ');
    text += '\n';
    out_.Overwrite(0, text);
  }

 private:
  ByteSink& out_;
  const char* format_;
  const std::string& fingerprint_;
  double written_;
  size_t slot_ = 0;
  std::string line_;  // reused: one line's buffer, whatever the fleet
  uint32_t crc_ = static_cast<uint32_t>(crc32(0L, Z_NULL, 0));
  uint64_t bytes_ = 0;
  uint64_t lines_ = 0;
};

void AddLine(std::string& body, size_t& lines, const json& line) {
  body += line.dump(-1, ' ', false, json::error_handler_t::replace);
  body += '\n';
  ++lines;
}

// What the header says besides the counts and checksum checked by Unframe.
struct FileIdentity {
  std::string fingerprint;
  double written = 0;
};

// Reads `size` bytes at `offset` (fewer only at the end of the source).
size_t ReadFully(const ByteSource& source, uint64_t offset, char* buffer, size_t size) {
  size_t done = 0;
  while (done < size) {
    const size_t got = source.ReadAt(offset + done, buffer + done, size - done);
    if (got == 0) break;
    done += got;
  }
  return done;
}

// Checks the whole file (header, size, checksum), then hands each body line, parsed, to
// `on_line`, reading through one fixed buffer: the file is never whole in memory. Throws
// std::runtime_error (or a json exception) saying what is wrong.
FileIdentity Unframe(const ByteSource& source, const char* format,
                     const std::function<void(json&&)>& on_line) {
  const uint64_t size = source.Size();
  if (size == 0) throw std::runtime_error("empty file");
  std::string head(static_cast<size_t>(std::min<uint64_t>(size, kMaxHeaderBytes + 1)), '\0');
  head.resize(ReadFully(source, 0, head.data(), head.size()));
  const size_t end = head.find('\n');
  if (end == std::string::npos) {
    throw std::runtime_error(size > kMaxHeaderBytes ? "no header line"
                                                    : "truncated: no complete header line");
  }
  if (end > kMaxHeaderBytes) throw std::runtime_error("no header line");
  const std::string_view header_line = std::string_view(head).substr(0, end);
  // The JSON parser stops at a NUL byte: one in the (unchecksummed) padding would pass.
  if (header_line.find('\0') != std::string_view::npos) {
    throw std::runtime_error("malformed header");
  }
  const json header = json::parse(header_line);
  if (!header.is_object() || header.value("format", "") != format) {
    throw std::runtime_error(std::string("not an ") + format + " file");
  }
  const json& version = header.at("version");
  if (!version.is_number_integer() || version.get<int64_t>() != kStateFormatVersion) {
    throw std::runtime_error("format version " + version.dump() + ", this exporter reads " +
                             std::to_string(kStateFormatVersion));
  }
  const json& bytes = header.at("bytes");
  const json& lines = header.at("lines");
  const json& crc = header.at("crc32");
  if (!bytes.is_number_unsigned() || !lines.is_number_unsigned() || !crc.is_number_unsigned()) {
    throw std::runtime_error("malformed header");
  }
  const uint64_t body_start = end + 1;
  const uint64_t body_size = size - body_start;
  const uint64_t expected = bytes.get<uint64_t>();
  if (body_size < expected) {
    throw std::runtime_error("truncated: " + std::to_string(body_size) + " of " +
                             std::to_string(expected) + " body bytes");
  }
  if (body_size > expected) throw std::runtime_error("trailing bytes after the body");

  // First pass: the checksum, before anything is taken from the file.
  json covered = header;
  covered.erase("crc32");
  uLong checksum = Crc32(covered.dump() + "\n");
  std::string buffer(static_cast<size_t>(std::min<uint64_t>(body_size, kReadBufferBytes)), '\0');
  for (uint64_t at = 0; at < body_size;) {
    const size_t want = static_cast<size_t>(std::min<uint64_t>(buffer.size(), body_size - at));
    const size_t got = ReadFully(source, body_start + at, buffer.data(), want);
    if (got < want) throw std::runtime_error("truncated while read");
    checksum =
        crc32(checksum, reinterpret_cast<const Bytef*>(buffer.data()), static_cast<uInt>(got));
    at += got;
  }
  if (checksum != crc.get<uint64_t>()) throw std::runtime_error("checksum mismatch");
  const uint64_t line_count = lines.get<uint64_t>();
  if (line_count > body_size) throw std::runtime_error("malformed header");
  FileIdentity identity;
  identity.fingerprint = header.at("fingerprint").get<std::string>();
  identity.written = header.at("written").get<double>();

  // Second pass: line by line; a line split between two reads is joined in `pending`.
  uint64_t seen = 0;
  std::string pending;
  const auto parse = [&](std::string_view text) {
    json line = json::parse(text);
    if (!line.is_object()) throw std::runtime_error("body line is not an object");
    ++seen;
    on_line(std::move(line));
  };
  for (uint64_t at = 0; at < body_size;) {
    const size_t want = static_cast<size_t>(std::min<uint64_t>(buffer.size(), body_size - at));
    const size_t got = ReadFully(source, body_start + at, buffer.data(), want);
    if (got < want) throw std::runtime_error("truncated while read");
    at += got;
    std::string_view chunk(buffer.data(), got);
    for (size_t newline = chunk.find('\n'); newline != std::string_view::npos;
         newline = chunk.find('\n')) {
      if (pending.empty()) {
        parse(chunk.substr(0, newline));
      } else {
        pending.append(chunk.substr(0, newline));
        parse(pending);
        pending.clear();
      }
      chunk.remove_prefix(newline + 1);
    }
    pending.append(chunk);
  }
  if (!pending.empty()) throw std::runtime_error("unterminated body line");
  if (seen != line_count) throw std::runtime_error("line count mismatch");
  return identity;
}

// Finite numbers only: NaN and infinities have no JSON form.
double Finite(double value) { return std::isfinite(value) ? value : 0; }

template <typename T>
void PutOpt(json& out, const char* key, const std::optional<T>& value) {
  if (value) out[key] = *value;
}
void PutOpt(json& out, const char* key, const std::optional<double>& value) {
  if (value) out[key] = Finite(*value);
}
void PutOpt(json& out, const char* key, const PooledText& value) {
  if (value) out[key] = *value;
}
template <typename T>
void GetOpt(const json& in, const char* key, std::optional<T>& value) {
  if (const auto it = in.find(key); it != in.end()) value = it->get<T>();
}
void GetOpt(const json& in, const char* key, PooledText& value) {
  if (const auto it = in.find(key); it != in.end()) value = it->get<std::string>();
}
template <typename T>
void Get(const json& in, const char* key, T& value) {
  if (const auto it = in.find(key); it != in.end()) value = it->get<T>();
}

// An integer of type T, range-checked (a double or an out-of-range number is refused rather
// than converted: that conversion would be undefined).
template <typename T>
T Int(const json& value) {
  if (value.is_number_unsigned()) {
    const uint64_t number = value.get<uint64_t>();
    if (number > static_cast<uint64_t>(std::numeric_limits<T>::max())) {
      throw std::runtime_error("integer out of range");
    }
    return static_cast<T>(number);
  }
  if (value.is_number_integer()) {
    const int64_t number = value.get<int64_t>();
    if (number < static_cast<int64_t>(std::numeric_limits<T>::min()) ||
        number > static_cast<int64_t>(std::numeric_limits<T>::max())) {
      throw std::runtime_error("integer out of range");
    }
    return static_cast<T>(number);
  }
  throw std::runtime_error("not an integer: " + value.dump());
}
void Get(const json& in, const char* key, int& value) {
  if (const auto it = in.find(key); it != in.end()) value = Int<int>(*it);
}
void GetOpt(const json& in, const char* key, std::optional<int64_t>& value) {
  if (const auto it = in.find(key); it != in.end()) value = Int<int64_t>(*it);
}

json StatusJson(const EsimStatus& status) {
  json out = {{"iccid", status.iccid}, {"status", status.status}};
  PutOpt(out, "esim_status", status.esim_status);
  PutOpt(out, "smdp_status", status.smdp_status);
  PutOpt(out, "profile", status.profile);
  if (status.unlimited) out["unlimited"] = true;
  json network = json::object();
  PutOpt(network, "operator", status.last_network.operator_name);
  PutOpt(network, "mcc", status.last_network.mcc);
  PutOpt(network, "mnc", status.last_network.mnc);
  PutOpt(network, "country", status.last_network.country);
  PutOpt(network, "iso2", status.last_network.country_iso2);
  PutOpt(network, "type", status.last_network.connection_type);
  if (!network.empty()) out["network"] = std::move(network);
  json device = json::object();
  PutOpt(device, "model", status.device.model);
  PutOpt(device, "imei", status.device.imei);
  if (!device.empty()) out["device"] = std::move(device);
  PutOpt(out, "activation", status.activation_time);
  PutOpt(out, "last_usage", status.last_usage_time);
  PutOpt(out, "expiry", status.expiry_time);
  out["used"] = Finite(status.used_bytes);
  PutOpt(out, "total", status.total_bytes);
  return out;
}

EsimStatus StatusFrom(const json& in) {
  EsimStatus status;
  Get(in, "iccid", status.iccid);
  Get(in, "status", status.status);
  GetOpt(in, "esim_status", status.esim_status);
  GetOpt(in, "smdp_status", status.smdp_status);
  GetOpt(in, "profile", status.profile);
  Get(in, "unlimited", status.unlimited);
  if (const auto it = in.find("network"); it != in.end()) {
    GetOpt(*it, "operator", status.last_network.operator_name);
    GetOpt(*it, "mcc", status.last_network.mcc);
    GetOpt(*it, "mnc", status.last_network.mnc);
    GetOpt(*it, "country", status.last_network.country);
    GetOpt(*it, "iso2", status.last_network.country_iso2);
    GetOpt(*it, "type", status.last_network.connection_type);
  }
  if (const auto it = in.find("device"); it != in.end()) {
    GetOpt(*it, "model", status.device.model);
    GetOpt(*it, "imei", status.device.imei);
  }
  GetOpt(in, "activation", status.activation_time);
  GetOpt(in, "last_usage", status.last_usage_time);
  GetOpt(in, "expiry", status.expiry_time);
  Get(in, "used", status.used_bytes);
  GetOpt(in, "total", status.total_bytes);
  return status;
}

// Whole seconds as integers (most times are): "1764547100" rather than "1764547100.0".
json Num(double value) {
  value = Finite(value);
  if (value == std::floor(value) && std::fabs(value) < 9e15) return static_cast<int64_t>(value);
  return value;
}

// One eSIM, compactly: 50,000 of them must stay well under 64 MiB and restore in a second or
// two. Its name and labels are not kept (they come from the config in force); defaults are
// left out.
json EsimJson(const PersistedEsim& esim) {
  const EsimRecord& r = esim.shared ? *esim.shared : esim.record;
  json out = {{"t", "esim"}};
  if (!r.config.iccid.empty()) out["iccid"] = r.config.iccid;
  PutOpt(out, "esim_id", r.config.esim_id);
  if (r.discovered) out["discovered"] = 1;
  if (r.status) {
    json status = StatusJson(*r.status);
    // The record names the eSIM (Iccid()); its status holds no ICCID of its own.
    status.erase("iccid");
    for (const char* key : {"activation", "last_usage", "expiry", "used", "total"}) {
      if (const auto it = status.find(key); it != status.end()) *it = Num(it->get<double>());
    }
    out["status"] = std::move(status);
    // When each field group was observed, and whether used/total came from a live answer.
    out["times"] = {Num(r.usage_time), Num(r.lifecycle_time), Num(r.validity_time),
                    r.used_from_live ? 1 : 0, r.total_from_live ? 1 : 0};
  }
  if (!r.learned_iccid.empty()) out["learned_iccid"] = r.learned_iccid;
  PutOpt(out, "listed_id", r.listed_id);
  if (r.package) out["package"] = {r.package->code, r.package->name, r.package->countries};
  // Any observation: [polled, time, success time, ok, code, message].
  if (r.polled) {
    out["poll"] = {
        1,           Num(r.last_poll_time), Num(r.last_success_time), r.last_poll_ok ? 1 : 0,
        r.last_code, r.last_message};
  }
  // Live polls: [time, ok, success time].
  if (r.live_polled) {
    out["live"] = {Num(r.last_live_time), r.last_live_ok ? 1 : 0, Num(r.last_live_success_time)};
  }
  // Listings: [time, ok].
  if (r.last_listed_time > 0) out["list"] = {Num(r.last_listed_time), r.last_list_ok ? 1 : 0};
  // Schedule: [last attempt, failures in a row].
  if (esim.last_attempt > 0 || esim.failures > 0) {
    out["schedule"] = {Num(esim.last_attempt), esim.failures};
  }
  return out;
}

bool Flag(const json& value) {
  if (value.is_boolean()) return value.get<bool>();
  return Int<int64_t>(value) != 0;
}

PersistedEsim EsimFrom(const json& in) {
  PersistedEsim esim;
  EsimRecord& r = esim.record;
  Get(in, "iccid", r.config.iccid);
  GetOpt(in, "esim_id", r.config.esim_id);
  if (r.config.iccid.empty() && !r.config.esim_id) throw std::runtime_error("eSIM without id");
  if (const auto it = in.find("discovered"); it != in.end()) r.discovered = Flag(*it);
  Get(in, "learned_iccid", r.learned_iccid);
  // "=" (written by earlier versions): the configured one, which the record does not repeat.
  if (r.learned_iccid == "=" || r.learned_iccid == r.config.iccid) r.learned_iccid.clear();
  GetOpt(in, "listed_id", r.listed_id);
  if (const auto it = in.find("status"); it != in.end()) {
    r.status = StatusFrom(*it);
    r.status->iccid.clear();
    const json& times = in.at("times");
    r.usage_time = times.at(0).get<double>();
    r.lifecycle_time = times.at(1).get<double>();
    r.validity_time = times.at(2).get<double>();
    r.used_from_live = Flag(times.at(3));
    r.total_from_live = Flag(times.at(4));
  }
  if (const auto it = in.find("package"); it != in.end()) {
    r.package = std::make_shared<const PackageInfo>(PackageInfo{
        it->at(0).get<std::string>(), it->at(1).get<std::string>(), it->at(2).get<std::string>()});
  }
  if (const auto it = in.find("poll"); it != in.end()) {
    r.polled = Flag(it->at(0));
    r.last_poll_time = it->at(1).get<double>();
    r.last_success_time = it->at(2).get<double>();
    r.last_poll_ok = Flag(it->at(3));
    r.last_code = it->at(4).get<std::string>();
    r.last_message = it->at(5).get<std::string>();
  }
  if (const auto it = in.find("live"); it != in.end()) {
    r.live_polled = true;
    r.last_live_time = it->at(0).get<double>();
    r.last_live_ok = Flag(it->at(1));
    r.last_live_success_time = it->at(2).get<double>();
  }
  if (const auto it = in.find("list"); it != in.end()) {
    r.last_listed_time = it->at(0).get<double>();
    r.last_list_ok = Flag(it->at(1));
  }
  if (const auto it = in.find("schedule"); it != in.end()) {
    esim.last_attempt = it->at(0).get<double>();
    esim.failures = std::clamp(Int<int>(it->at(1)), 0, 30);
  }
  return esim;
}

// The subscription read's summary (a line of its own: an exporter from before subscription
// reads skips it, and one reading an older file finds none).
json SubscriptionJson(const SubscriptionReads& reads) {
  const WebhookSubscriptionHealth& health = *reads.health;
  json out = {{"t", "webhook_subscription"},
              {"last_ok", reads.last_ok.value_or(false)},
              {"last_success", Finite(reads.last_success_time)},
              {"events", health.events},
              {"delivered", health.delivered},
              {"failed", health.failed},
              {"other", health.other}};
  PutOpt(out, "url", health.url);
  PutOpt(out, "newest_failure", health.newest_failure_time);
  return out;
}

SubscriptionReads SubscriptionFrom(const json& in) {
  SubscriptionReads reads;
  reads.last_ok = in.at("last_ok").get<bool>();
  reads.last_success_time = in.at("last_success").get<double>();
  WebhookSubscriptionHealth& health = reads.health.emplace();
  for (const auto& [event, subscribed] : in.at("events").items()) {
    if (health.events.size() >= kMaxSubscriptionEvents) break;
    health.events[event] = subscribed.get<bool>();
  }
  health.delivered = Int<int64_t>(in.at("delivered"));
  health.failed = Int<int64_t>(in.at("failed"));
  health.other = Int<int64_t>(in.at("other"));
  GetOpt(in, "url", health.url);
  GetOpt(in, "newest_failure", health.newest_failure_time);
  return reads;
}

// One body line of a state file, into `state` (an eSIM to `on_esim`).
void ReadStateLine(const json& line, PersistedState& state, const EsimReceiver& on_esim) {
  const std::string type = line.at("t").get<std::string>();
  if (type == "esim") {
    on_esim(EsimFrom(line));
  } else if (type == "account") {
    Get(line, "inventory_success", state.account.inventory_last_success_time);
    if (const auto it = line.find("by_status"); it != line.end()) {
      for (const auto& [status, count] : it->items()) {
        state.account.esims_by_status[status] = Int<int64_t>(count);
      }
    }
    if (const auto it = line.find("balance"); it != line.end()) {
      AccountBalance balance;
      balance.amount = it->at("amount").get<double>();
      balance.currency = it->at("currency").get<std::string>();
      state.account.balance = balance;
    }
    Get(line, "next_sweep", state.next_sweep_time);
    Get(line, "next_balance", state.next_balance_time);
    Get(line, "next_webhook_check", state.next_webhook_check_time);
    Get(line, "paused_until", state.paused_until);
    Get(line, "pause_reason", state.pause_reason);
  } else if (type == "webhook_subscription") {
    state.webhook_subscription = SubscriptionFrom(line);
  } else if (type == "delivery") {
    state.delivery_ids.emplace_back(line.at("id").get<std::string>(), line.at("at").get<double>());
  }
  // Other types: written by a later exporter of the same format version; skipped.
}

PersistedLedger DecodeLedgerOrThrow(const ByteSource& file) {
  std::vector<json> lines;
  const FileIdentity identity =
      Unframe(file, kLedgerFormat, [&lines](json&& line) { lines.push_back(std::move(line)); });
  PersistedLedger ledger;
  ledger.fingerprint = identity.fingerprint;
  ledger.written = identity.written;
  if (lines.size() != 1) throw std::runtime_error("a ledger has one body line");
  const json& line = lines[0];
  for (const json& group : line.at("sent")) {
    const double second = group.at(0).get<double>();
    const int64_t count = Int<int64_t>(group.at(1));
    // No window holds more than a day of sends; a larger count is not one of ours.
    if (count < 0 || count > 10000000 || ledger.sent.size() + count > 10000000) {
      throw std::runtime_error("implausible send count");
    }
    ledger.sent.insert(ledger.sent.end(), static_cast<size_t>(count), second);
  }
  Get(line, "reserved", ledger.reserved);
  Get(line, "paused_until", ledger.paused_until);
  Get(line, "pause_reason", ledger.pause_reason);
  Get(line, "backoff", ledger.backoff_seconds);
  if (ledger.reserved < 0) throw std::runtime_error("negative reservation");
  return ledger;
}

}  // namespace

std::string ConfigFingerprint(const Config& config) {
  return Sha256Hex("esim_exporter\n" + config.api.url + "\n" + Sha256Hex(config.api.access_code))
      .substr(0, 32);
}

void WriteState(const PersistedState& state, ByteSink& out, const EsimSource& esims) {
  FramedWriter file(out, kFormat, state.fingerprint, Finite(state.written));
  json account = {{"t", "account"},
                  {"inventory_success", Finite(state.account.inventory_last_success_time)},
                  {"next_sweep", Finite(state.next_sweep_time)},
                  {"next_balance", Finite(state.next_balance_time)},
                  {"next_webhook_check", Finite(state.next_webhook_check_time)}};
  if (state.paused_until > 0) {
    account["paused_until"] = Finite(state.paused_until);
    account["pause_reason"] = state.pause_reason;
  }
  if (!state.account.esims_by_status.empty()) {
    account["by_status"] = state.account.esims_by_status;
  }
  if (state.account.balance) {
    account["balance"] = {{"amount", Finite(state.account.balance->amount)},
                          {"currency", state.account.balance->currency}};
  }
  file.Add(account);
  const EsimVisitor add_esim = [&file](const PersistedEsim& esim) { file.Add(EsimJson(esim)); };
  if (esims) {
    esims(add_esim);
  } else {
    for (const PersistedEsim& esim : state.esims) add_esim(esim);
  }
  if (state.webhook_subscription && state.webhook_subscription->health) {
    file.Add(SubscriptionJson(*state.webhook_subscription));
  }
  for (const auto& [id, at] : state.delivery_ids) {
    file.Add(json{{"t", "delivery"}, {"id", id}, {"at", Finite(at)}});
  }
  file.Finish();
}

std::string EncodeState(const PersistedState& state) {
  std::string out;
  out.reserve(state.esims.size() * 700 + 1024);
  StringSink sink(out);
  WriteState(state, sink);
  return out;
}

std::string FrameStateBody(const std::string& body, const std::string& fingerprint,
                           double written) {
  const size_t lines = static_cast<size_t>(std::count(body.begin(), body.end(), '\n'));
  return Frame(kFormat, fingerprint, Finite(written), std::string(body), lines);
}

std::string EncodeLedger(const PersistedLedger& ledger) {
  std::string body;
  size_t lines = 0;
  // Sends grouped by second, [second, count], each rounded up to the next whole second (later
  // is the safe side: a send then leaves its windows no earlier than it did): a busy key's
  // ledger stays small.
  json sent = json::array();
  for (const double time : ledger.sent) {
    const double second = std::ceil(Finite(time));
    if (!sent.empty() && sent.back()[0].get<double>() == second) {
      sent.back()[1] = sent.back()[1].get<int64_t>() + 1;
    } else {
      sent.push_back({Num(second), 1});
    }
  }
  AddLine(body, lines,
          json{{"sent", std::move(sent)},
               {"reserved", ledger.reserved},
               {"paused_until", Finite(ledger.paused_until)},
               {"pause_reason", ledger.pause_reason},
               {"backoff", Finite(ledger.backoff_seconds)}});
  return Frame(kLedgerFormat, ledger.fingerprint, Finite(ledger.written), std::move(body), lines);
}

std::optional<PersistedState> DecodeState(const ByteSource& file, const EsimReceiver& on_esim,
                                          std::string& error) {
  try {
    PersistedState state;
    FileIdentity identity =
        Unframe(file, kFormat, [&](json&& line) { ReadStateLine(line, state, on_esim); });
    state.fingerprint = std::move(identity.fingerprint);
    state.written = identity.written;
    return state;
  } catch (const std::exception& e) {
    error = e.what();
    return std::nullopt;
  }
}

std::optional<PersistedState> DecodeState(std::string_view data, std::string& error) {
  std::vector<PersistedEsim> esims;
  auto state = DecodeState(
      StringSource(data), [&esims](PersistedEsim&& esim) { esims.push_back(std::move(esim)); },
      error);
  if (state) state->esims = std::move(esims);
  return state;
}

std::optional<PersistedLedger> DecodeLedger(std::string_view data, std::string& error) {
  return DecodeLedger(StringSource(data), error);
}

std::optional<PersistedLedger> DecodeLedger(const ByteSource& file, std::string& error) {
  try {
    return DecodeLedgerOrThrow(file);
  } catch (const std::exception& e) {
    error = e.what();
    return std::nullopt;
  }
}

std::string StateFileName(const std::string& account) {
  return account.empty() ? kStateFileName : "state-" + account + ".jsonl";
}

std::string LedgerFileName(const std::string& account) {
  return account.empty() ? kLedgerFileName : "budget-" + account + ".jsonl";
}

}  // namespace esim
