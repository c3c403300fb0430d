// The files of --storage.path: what is kept across restarts and its on-disk format.
//
// Format (JSON Lines, version kStateFormatVersion): a header line
//   {"format":"esim_exporter.state","version":1,"fingerprint":"...","written":<unix s>,
//    "lines":<n>,"bytes":<b>,"crc32":<c>}
// (padded with spaces to kStateHeaderSlotBytes by this exporter: the header is filled in after
// the body is streamed; JSON allows the white space, so any reader of version 1 reads it)
// then exactly `b` bytes of `n` body lines, each one JSON object, whose CRC-32 is `c`. A file
// that is truncated, altered, of another format or version, or written for another API account
// (fingerprint) is refused as a whole: the caller moves it aside and starts fresh. All times are
// wall-clock Unix seconds (steady clocks do not survive a restart).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "byte_stream.h"
#include "config.h"
#include "state_store.h"

namespace esim {

inline constexpr int kStateFormatVersion = 1;
inline constexpr char kStateFileName[] = "state.jsonl";
inline constexpr char kLedgerFileName[] = "budget.jsonl";
// The width of a state file's header line as written, '\n' included (a header is ~170 bytes).
inline constexpr size_t kStateHeaderSlotBytes = 256;

// One account's files: kStateFileName and kLedgerFileName for the unnamed account,
// state-<name>.jsonl and budget-<name>.jsonl for a named one (account names are letters,
// digits, '_' and '-': safe in a file name).
std::string StateFileName(const std::string& account);
std::string LedgerFileName(const std::string& account);

// What identifies the API account a state belongs to: api.url and a hash of the access code
// (never the secret). A state of another account is not restored.
std::string ConfigFingerprint(const Config& config);

// One eSIM: its record (labels are rendered again on restore) and its live-poll schedule.
struct PersistedEsim {
  EsimRecord record;
  // When set, encoded instead of `record`: the writer's snapshot, without a copy of each record.
  std::shared_ptr<const EsimRecord> shared;
  double last_attempt = 0;  // Unix seconds the latest live poll started; 0: none
  int failures = 0;         // failed live polls in a row (backoff)
};

struct PersistedState {
  std::string fingerprint;
  double written = 0;  // Unix seconds
  std::vector<PersistedEsim> esims;
  AccountState account;
  double next_sweep_time = 0;    // when the next inventory sweep is due; 0: none planned
  double next_balance_time = 0;  // when the next balance read is due; 0: none planned
  // When the next webhook subscription read is due; 0: none planned (or a file from before
  // subscription reads, which has no such field).
  double next_webhook_check_time = 0;
  // What the latest successful subscription read said; nullopt: none (or an older file).
  std::optional<SubscriptionReads> webhook_subscription;
  double paused_until = 0;  // an API-imposed pause as the metrics show it; 0: none
  std::string pause_reason;
  // Webhook delivery ids seen, with when (Unix seconds).
  std::vector<std::pair<std::string, double>> delivery_ids;
};

// The request-budget ledger: written before requests are sent (see RateBudget::Ledger).
struct PersistedLedger {
  std::string fingerprint;
  double written = 0;
  std::vector<double> sent;  // send times within the last day, oldest first
  int reserved = 0;          // requests reserved at `written` and not yet in `sent`
  double paused_until = 0;   // an API-imposed pause; 0: none
  std::string pause_reason;
  double backoff_seconds = 0;
};

// The eSIMs to write, handed one at a time to the visitor: the writer's snapshot, without a
// PersistedEsim per eSIM held at once.
using EsimVisitor = std::function<void(const PersistedEsim&)>;
using EsimSource = std::function<void(const EsimVisitor&)>;

// Writes the state file through `out` a line at a time (the eSIMs from `esims` when set, else
// from state.esims). Throws what `out` throws.
void WriteState(const PersistedState& state, ByteSink& out, const EsimSource& esims = {});
// The same file as one string (tests, the fuzzer, small states).
std::string EncodeState(const PersistedState& state);
std::string EncodeLedger(const PersistedLedger& ledger);

// Frames `body` (JSON lines, each ending in '\n') as a state file with a valid header: for
// tests and the fuzzer, to reach the body's parser past the checksum.
std::string FrameStateBody(const std::string& body, const std::string& fingerprint, double written);

// Decoding never throws: nullopt and `error` says what is wrong ("truncated: ...",
// "checksum mismatch", "format version 2, this exporter reads 1", ...).
std::optional<PersistedState> DecodeState(std::string_view data, std::string& error);
// The same, streamed: the whole file is checked (size, checksum) before its lines are parsed,
// then each eSIM is handed to `on_esim` as its line is parsed (to be moved where it is kept);
// the returned state has no `esims`. On failure (even after eSIMs were handed over: a malformed
// line further on) the file is refused as a whole, and what `on_esim` got must be dropped.
using EsimReceiver = std::function<void(PersistedEsim&&)>;
std::optional<PersistedState> DecodeState(const ByteSource& file, const EsimReceiver& on_esim,
                                          std::string& error);
std::optional<PersistedLedger> DecodeLedger(std::string_view data, std::string& error);
std::optional<PersistedLedger> DecodeLedger(const ByteSource& file, std::string& error);

}  // namespace esim
