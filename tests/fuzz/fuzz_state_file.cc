// libFuzzer target for the durable state reader (--storage.path): the input is read as a whole
// state file, as a ledger file, and as the body of a state file behind a valid header (so that
// mutations reach the line parser past the checksum). Reading must never throw nor crash,
// whatever the bytes; what decodes must encode to a file that decodes to the same bytes again,
// and restore into a StateStore.
//
// Run by scripts/fuzz.sh; replay an input: build/fuzz/tests/fuzz/fuzz_state_file FILE
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "state_file.h"
#include "state_store.h"

namespace {

void Check(const std::optional<esim::PersistedState>& state) {
  if (!state) return;
  const std::string encoded = esim::EncodeState(*state);
  std::string error;
  const auto again = esim::DecodeState(encoded, error);
  if (!again || esim::EncodeState(*again) != encoded) std::abort();  // not a fixed point
  std::vector<esim::EsimRecord> records;
  std::vector<esim::EsimConfig> configured;
  for (const auto& esim : state->esims) {
    records.push_back(esim.record);
    if (configured.size() < 8) configured.push_back(esim.record.config);
  }
  esim::StateStore store;
  store.SetEsims(configured, true);
  store.Restore(records, state->account, true);
  store.Snapshot();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string input(reinterpret_cast<const char*>(data), size);
  std::string error;
  Check(esim::DecodeState(input, error));
  esim::DecodeLedger(input, error);
  Check(esim::DecodeState(esim::FrameStateBody(input, "fuzz", 1764547200), error));
  return 0;
}
