#include "state_file.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <zlib.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <vector>

#include "storage_dir.h"
#include "temp_dir.h"

namespace esim {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

PersistedState SampleState() {
  PersistedState state;
  state.fingerprint = "abc123";
  state.written = 1764547200.5;
  PersistedEsim full;
  EsimRecord& r = full.record;
  r.config.iccid = "8944000000000000001";
  r.config.name = "router \"one\"\n";
  r.config.labels = {{"site", "bern"}, {"team", "ops"}};
  EsimStatus status;  // a record's status holds no ICCID: the record names the eSIM
  status.status = "ACTIVE";
  status.esim_status = "Enabled";
  status.profile = std::nullopt;
  status.unlimited = false;
  status.last_network.operator_name = "Swisscom";
  status.last_network.mcc = "228";
  status.device.model = "iPhone";
  status.activation_time = 1764000000.25;
  status.expiry_time = 1766000000;
  status.used_bytes = 1.5 * 1024 * 1024 * 1024;
  status.total_bytes = 10.0 * 1024 * 1024 * 1024;
  r.status = status;
  r.usage_time = 1764547100;
  r.lifecycle_time = 1764547101;
  r.validity_time = 1764547102;
  r.used_from_live = true;
  r.learned_iccid = "8944000000000000009";  // the API said otherwise
  r.listed_id = 42;
  r.package =
      std::make_shared<const PackageInfo>(PackageInfo{"CH_10GB", "Switzerland 10 GB", "CH,LI"});
  r.polled = r.live_polled = true;
  r.last_poll_time = r.last_live_time = 1764547100;
  r.last_success_time = r.last_live_success_time = 1764547100;
  r.last_poll_ok = r.last_live_ok = true;
  r.last_code = "OK";
  r.last_listed_time = 1764547000;
  r.last_list_ok = true;
  full.last_attempt = 1764547099.5;
  full.failures = 0;
  state.esims.push_back(full);
  PersistedEsim by_id;
  by_id.record.config.esim_id = 77;
  by_id.record.discovered = true;
  by_id.record.polled = true;
  by_id.record.last_code = "ESIM_NOT_FOUND";
  by_id.record.last_message = "not found \xc3\xa9";
  by_id.failures = 3;
  by_id.last_attempt = 1764547000;
  state.esims.push_back(by_id);
  state.account.inventory_last_success_time = 1764546000;
  state.account.esims_by_status = {{"ACTIVE", 12}, {"EXPIRED", 3}};
  state.account.balance = AccountBalance{123.45, "USD"};
  state.next_sweep_time = 1764550000;
  state.next_balance_time = 1764548000;
  state.next_webhook_check_time = 1764549000;
  SubscriptionReads& reads = state.webhook_subscription.emplace();
  reads.last_ok = false;
  reads.last_success_time = 1764545000;
  reads.health = WebhookSubscriptionHealth{
      .url = "https://orders.example.com/esimfly",
      .events = {{"esim.status.changed", true}, {"esim.usage.threshold", false}},
      .delivered = 7,
      .failed = 2,
      .other = 1,
      .newest_failure_time = 1764544000};
  state.paused_until = 1764547500;
  state.pause_reason = "RATE_LIMIT_EXCEEDED";
  state.delivery_ids = {{"d-1", 1764540000}, {"d-2", 1764541000}};
  return state;
}

void ExpectSameRecord(const EsimRecord& a, const EsimRecord& b) {
  EXPECT_EQ(a.config.iccid, b.config.iccid);
  EXPECT_EQ(a.config.esim_id, b.config.esim_id);
  EXPECT_EQ(a.discovered, b.discovered);
  EXPECT_EQ(a.status, b.status);
  EXPECT_EQ(a.usage_time, b.usage_time);
  EXPECT_EQ(a.lifecycle_time, b.lifecycle_time);
  EXPECT_EQ(a.validity_time, b.validity_time);
  EXPECT_EQ(a.used_from_live, b.used_from_live);
  EXPECT_EQ(a.total_from_live, b.total_from_live);
  EXPECT_EQ(a.learned_iccid, b.learned_iccid);
  EXPECT_EQ(a.listed_id, b.listed_id);
  ASSERT_EQ(a.package != nullptr, b.package != nullptr);
  if (a.package) {
    EXPECT_EQ(*a.package, *b.package);
  }
  EXPECT_EQ(a.polled, b.polled);
  EXPECT_EQ(a.last_poll_time, b.last_poll_time);
  EXPECT_EQ(a.last_success_time, b.last_success_time);
  EXPECT_EQ(a.last_poll_ok, b.last_poll_ok);
  EXPECT_EQ(a.last_code, b.last_code);
  EXPECT_EQ(a.last_message, b.last_message);
  EXPECT_EQ(a.live_polled, b.live_polled);
  EXPECT_EQ(a.last_live_time, b.last_live_time);
  EXPECT_EQ(a.last_live_ok, b.last_live_ok);
  EXPECT_EQ(a.last_live_success_time, b.last_live_success_time);
  EXPECT_EQ(a.last_listed_time, b.last_listed_time);
  EXPECT_EQ(a.last_list_ok, b.last_list_ok);
}

TEST(StateFileTest, RoundTripKeepsEverything) {
  const PersistedState state = SampleState();
  const std::string encoded = EncodeState(state);
  std::string error;
  const auto decoded = DecodeState(encoded, error);
  ASSERT_TRUE(decoded) << error;
  EXPECT_EQ(decoded->fingerprint, state.fingerprint);
  EXPECT_EQ(decoded->written, state.written);
  ASSERT_EQ(decoded->esims.size(), 2u);
  for (size_t i = 0; i < 2; ++i) {
    ExpectSameRecord(decoded->esims[i].record, state.esims[i].record);
    EXPECT_EQ(decoded->esims[i].last_attempt, state.esims[i].last_attempt);
    EXPECT_EQ(decoded->esims[i].failures, state.esims[i].failures);
  }
  EXPECT_EQ(decoded->account.inventory_last_success_time, 1764546000);
  EXPECT_EQ(decoded->account.esims_by_status, state.account.esims_by_status);
  ASSERT_TRUE(decoded->account.balance);
  EXPECT_EQ(decoded->account.balance->amount, 123.45);
  EXPECT_EQ(decoded->account.balance->currency, "USD");
  EXPECT_EQ(decoded->next_sweep_time, state.next_sweep_time);
  EXPECT_EQ(decoded->next_balance_time, state.next_balance_time);
  EXPECT_EQ(decoded->next_webhook_check_time, state.next_webhook_check_time);
  ASSERT_TRUE(decoded->webhook_subscription);
  EXPECT_EQ(decoded->webhook_subscription->last_ok, false);
  EXPECT_EQ(decoded->webhook_subscription->last_success_time, 1764545000);
  EXPECT_EQ(decoded->webhook_subscription->health, state.webhook_subscription->health);
  EXPECT_EQ(decoded->paused_until, state.paused_until);
  EXPECT_EQ(decoded->pause_reason, state.pause_reason);
  EXPECT_EQ(decoded->delivery_ids, state.delivery_ids);
  // Encoding is deterministic: the same state, the same bytes.
  EXPECT_EQ(EncodeState(*decoded), encoded);
}

TEST(StateFileTest, NameAndLabelsComeFromTheConfigNotTheFile) {
  const std::string encoded = EncodeState(SampleState());
  EXPECT_THAT(encoded, Not(HasSubstr("router")));
  EXPECT_THAT(encoded, Not(HasSubstr("bern")));
}

TEST(StateFileTest, SharedRecordsEncodeLikeCopies) {
  PersistedState copies = SampleState();
  PersistedState shared = copies;
  for (PersistedEsim& esim : shared.esims) {
    esim.shared = std::make_shared<const EsimRecord>(esim.record);
    esim.record = EsimRecord{};
  }
  EXPECT_EQ(EncodeState(shared), EncodeState(copies));
}

TEST(StateFileTest, EmptyStateRoundTrips) {
  PersistedState state;
  std::string error;
  const auto decoded = DecodeState(EncodeState(state), error);
  ASSERT_TRUE(decoded) << error;
  EXPECT_TRUE(decoded->esims.empty());
}

// A file written before subscription reads existed (same format version): no subscription line,
// no next_webhook_check. It reads, with none planned and none known.
TEST(StateFileTest, FileFromBeforeSubscriptionReadsStillReads) {
  const std::string body =
      R"({"t":"account","inventory_success":0,"next_sweep":1764550000,"next_balance":1764548000})"
      "\n";
  std::string error;
  const auto decoded = DecodeState(FrameStateBody(body, "fp", 1764547000), error);
  ASSERT_TRUE(decoded) << error;
  EXPECT_EQ(decoded->next_balance_time, 1764548000);
  EXPECT_EQ(decoded->next_webhook_check_time, 0);
  EXPECT_FALSE(decoded->webhook_subscription);
}

// Earlier versions wrote the status's ICCID, and "=" for a learned ICCID equal to the configured
// one: both read into a record that holds neither (Iccid() names the eSIM).
TEST(StateFileTest, IccidCopiesOfEarlierVersionsAreNotKept) {
  const std::string body =
      R"({"t":"esim","iccid":"8944000000000000001","learned_iccid":"=",)"
      R"("status":{"iccid":"8944000000000000001","status":"ACTIVE","used":5},"times":[1,1,1,0,0]})"
      "\n"
      R"({"t":"esim","iccid":"8944000000000000002","learned_iccid":"8944000000000000002"})"
      "\n";
  std::string error;
  const auto decoded = DecodeState(FrameStateBody(body, "fp", 1764547000), error);
  ASSERT_TRUE(decoded) << error;
  ASSERT_EQ(decoded->esims.size(), 2u);
  const EsimRecord& first = decoded->esims[0].record;
  EXPECT_EQ(first.Iccid(), "8944000000000000001");
  EXPECT_EQ(first.learned_iccid, "");
  ASSERT_TRUE(first.status);
  EXPECT_EQ(first.status->iccid, "");
  EXPECT_EQ(first.status->status, "ACTIVE");
  EXPECT_EQ(first.status->used_bytes, 5);
  EXPECT_EQ(decoded->esims[1].record.learned_iccid, "");
  EXPECT_EQ(decoded->esims[1].record.Iccid(), "8944000000000000002");
}

TEST(StateFileTest, HeaderNamesFormatVersionAndFingerprint) {
  const std::string encoded = EncodeState(SampleState());
  const std::string header = encoded.substr(0, encoded.find('\n'));
  EXPECT_THAT(header, HasSubstr("\"format\":\"esim_exporter.state\"")) << header;
  EXPECT_THAT(header, HasSubstr("\"version\":1")) << header;
  EXPECT_THAT(header, HasSubstr("\"fingerprint\":\"abc123\"")) << header;
}

TEST(StateFileTest, EveryTruncationIsRefused) {
  const std::string encoded = EncodeState(SampleState());
  for (size_t length = 0; length < encoded.size(); ++length) {
    std::string error;
    EXPECT_FALSE(DecodeState(encoded.substr(0, length), error)) << "length " << length;
    EXPECT_FALSE(error.empty());
  }
}

TEST(StateFileTest, EveryFlippedByteIsRefused) {
  const std::string encoded = EncodeState(SampleState());
  for (size_t at = 0; at < encoded.size(); ++at) {
    for (const unsigned char flip : {0x01, 0x20, 0x80}) {
      std::string altered = encoded;
      altered[at] = static_cast<char>(altered[at] ^ flip);
      std::string error;
      EXPECT_FALSE(DecodeState(altered, error)) << "at " << at << " flip " << int(flip);
    }
  }
}

TEST(StateFileTest, OtherVersionIsRefusedWithTheVersionNamed) {
  std::string encoded = EncodeState(SampleState());
  const size_t at = encoded.find("\"version\":1");
  ASSERT_NE(at, std::string::npos);
  encoded.replace(at, 11, "\"version\":2");
  std::string error;
  EXPECT_FALSE(DecodeState(encoded, error));
  EXPECT_THAT(error, HasSubstr("format version 2")) << error;
}

TEST(StateFileTest, HugeLengthFieldsAreRefusedWithoutAllocating) {
  PersistedState state;
  const std::string encoded = EncodeState(state);
  for (const char* field : {"\"bytes\":", "\"lines\":"}) {
    std::string altered = encoded;
    const size_t at = altered.find(field);
    ASSERT_NE(at, std::string::npos);
    const size_t value = at + std::string(field).size();
    const size_t end = altered.find_first_of(",}", value);
    altered.replace(value, end - value, "18446744073709551615");
    std::string error;
    EXPECT_FALSE(DecodeState(altered, error)) << field;
  }
}

TEST(StateFileTest, GarbageEmptyAndForeignFilesAreRefused) {
  for (const std::string& input :
       {std::string(), std::string("\n"), std::string("{}\n"), std::string("not json\n"),
        std::string(10000, 'x'), std::string("{\"format\":\"other\",\"version\":1}\n"),
        EncodeLedger(PersistedLedger{})}) {
    std::string error;
    EXPECT_FALSE(DecodeState(input, error)) << input.substr(0, 40);
    EXPECT_FALSE(error.empty());
  }
}

TEST(StateFileTest, TrailingBytesAreRefused) {
  std::string error;
  EXPECT_FALSE(DecodeState(EncodeState(SampleState()) + "x", error));
  EXPECT_THAT(error, HasSubstr("trailing")) << error;
}

TEST(StateFileTest, LedgerRoundTripsAndRefusesCorruption) {
  PersistedLedger ledger;
  ledger.fingerprint = "f";
  ledger.written = 1764547200;
  ledger.sent = {1764547100.125, 1764547150.5};
  ledger.reserved = 3;
  ledger.paused_until = 1764548000;
  ledger.backoff_seconds = 60;
  const std::string encoded = EncodeLedger(ledger);
  std::string error;
  const auto decoded = DecodeLedger(encoded, error);
  ASSERT_TRUE(decoded) << error;
  // Sends are kept per second, rounded up (the safe side).
  EXPECT_EQ(decoded->sent, (std::vector<double>{1764547101, 1764547151}));
  EXPECT_EQ(decoded->reserved, 3);
  EXPECT_EQ(decoded->paused_until, ledger.paused_until);
  EXPECT_EQ(decoded->backoff_seconds, 60);
  for (size_t length = 0; length < encoded.size(); ++length) {
    EXPECT_FALSE(DecodeLedger(encoded.substr(0, length), error)) << length;
  }
  EXPECT_FALSE(DecodeLedger(EncodeState(SampleState()), error));
}

TEST(StateFileTest, LedgerGroupsSendsPerSecond) {
  PersistedLedger ledger;
  for (int i = 0; i < 5000; ++i) ledger.sent.push_back(1764547100.0 + i / 1000.0);
  const std::string encoded = EncodeLedger(ledger);
  EXPECT_LT(encoded.size(), 500u);
  std::string error;
  const auto decoded = DecodeLedger(encoded, error);
  ASSERT_TRUE(decoded) << error;
  ASSERT_EQ(decoded->sent.size(), 5000u);
  EXPECT_EQ(decoded->sent.front(), 1764547100);
  EXPECT_EQ(decoded->sent.back(), 1764547105);
}

TEST(StateFileTest, FingerprintDependsOnUrlAndAccessCodeNotOnTheSecret) {
  Config a;
  a.api.url = "https://esimfly.net";
  a.api.access_code = "esf_one";
  Config b = a;
  b.api.secret_key = Secret("sk_other");
  EXPECT_EQ(ConfigFingerprint(a), ConfigFingerprint(b));
  Config c = a;
  c.api.access_code = "esf_two";
  EXPECT_NE(ConfigFingerprint(a), ConfigFingerprint(c));
  Config d = a;
  d.api.url = "http://127.0.0.1:1";
  EXPECT_NE(ConfigFingerprint(a), ConfigFingerprint(d));
  EXPECT_THAT(ConfigFingerprint(a), Not(HasSubstr("esf_one")));
}

TEST(StateFileTest, FiftyThousandEsimsStayWellUnder64MiB) {
  PersistedState state = SampleState();
  const PersistedEsim model = state.esims[0];
  state.esims.clear();
  for (int i = 0; i < 50000; ++i) {
    PersistedEsim esim = model;
    esim.record.config.iccid = "89440000000" + std::to_string(10000000 + i);
    state.esims.push_back(std::move(esim));
  }
  const std::string encoded = EncodeState(state);
  EXPECT_LT(encoded.size(), 64u * 1024 * 1024 / 2);
  std::string error;
  const auto decoded = DecodeState(encoded, error);
  ASSERT_TRUE(decoded) << error;
  EXPECT_EQ(decoded->esims.size(), 50000u);
}

// The reader of format version 1 as exporters before the streaming writer had it (header line
// parsed as it is, checksum over the header's other fields dumped and the body): a file this
// exporter writes must stay readable by them. Returns "" or what it refused.
std::string OldReaderRefusal(const std::string& data, size_t& lines_read) {
  using nlohmann::json;
  try {
    const size_t end = data.find('\n');
    if (end == std::string::npos || end > 4096) return "no header line";
    const json header = json::parse(data.substr(0, end));
    if (header.value("format", "") != "esim_exporter.state") return "format";
    if (header.at("version") != 1) return "version";
    const std::string body = data.substr(end + 1);
    if (body.size() != header.at("bytes").get<uint64_t>()) return "size";
    json covered = header;
    covered.erase("crc32");
    const std::string checked = covered.dump() + "\n" + body;
    const uLong crc = crc32(crc32(0L, Z_NULL, 0), reinterpret_cast<const Bytef*>(checked.data()),
                            static_cast<uInt>(checked.size()));
    if (crc != header.at("crc32").get<uint64_t>()) return "checksum mismatch";
    lines_read = 0;
    for (size_t at = 0; at < body.size();) {
      const size_t newline = body.find('\n', at);
      if (newline == std::string::npos) return "unterminated";
      if (!json::parse(body.substr(at, newline - at)).is_object()) return "not an object";
      ++lines_read;
      at = newline + 1;
    }
    if (lines_read != header.at("lines").get<uint64_t>()) return "line count mismatch";
    return "";
  } catch (const std::exception& e) {
    return e.what();
  }
}

TEST(StateFileTest, PaddedHeaderIsReadByTheOlderReader) {
  const std::string encoded = EncodeState(SampleState());
  const size_t end = encoded.find('\n');
  // The header fills its slot: the body can be streamed before the header is known.
  EXPECT_EQ(end + 1, kStateHeaderSlotBytes);
  EXPECT_EQ(encoded[end - 1], ' ');
  size_t lines = 0;
  EXPECT_EQ(OldReaderRefusal(encoded, lines), "");
  EXPECT_EQ(lines, 6u);  // account, two eSIMs, subscription, two delivery ids
  // And the older reader still refuses what it should in such a file.
  std::string altered = encoded;
  altered[end + 10] = static_cast<char>(altered[end + 10] ^ 0x01);
  EXPECT_EQ(OldReaderRefusal(altered, lines), "checksum mismatch");
}

// Files written by older exporters have the header unpadded: they still read, to the same state.
TEST(StateFileTest, UnpaddedHeaderOfOlderExportersReads) {
  const PersistedState state = SampleState();
  const std::string encoded = EncodeState(state);
  const std::string body = encoded.substr(encoded.find('\n') + 1);
  const std::string old_style = FrameStateBody(body, state.fingerprint, state.written);
  ASSERT_LT(old_style.find('\n'), encoded.find('\n') - 20);  // no padding
  std::string error;
  const auto decoded = DecodeState(old_style, error);
  ASSERT_TRUE(decoded) << error;
  EXPECT_EQ(EncodeState(*decoded), encoded);
}

// The padding is not checksummed; anything but white space in it is refused, a NUL byte too (the
// JSON parser would stop there and take the header).
TEST(StateFileTest, AnythingButSpacesInTheHeaderPaddingIsRefused) {
  const std::string encoded = EncodeState(SampleState());
  const size_t end = encoded.find('\n');
  for (const char bad : {'\0', 'x', '}', ','}) {
    std::string altered = encoded;
    altered[end - 3] = bad;
    std::string error;
    EXPECT_FALSE(DecodeState(altered, error)) << int(bad);
    EXPECT_FALSE(error.empty());
  }
}

class StateFileStreamTest : public ::testing::Test {
 protected:
  esim_test::TempDir dir_;
  StorageDir storage_{dir_.path()};
};

TEST_F(StateFileStreamTest, StreamedWriteAndReadRoundTripThroughAFile) {
  // Enough eSIMs for the file to span several write buffers and read buffers.
  PersistedState state = SampleState();
  const PersistedEsim model = state.esims[0];
  state.esims.clear();
  for (int i = 0; i < 5000; ++i) {
    PersistedEsim esim = model;
    esim.record.config.iccid = "89440000000" + std::to_string(10000000 + i);
    esim.failures = i % 7;
    state.esims.push_back(std::move(esim));
  }
  // One eSIM whose line alone is larger than the reader's buffer.
  state.esims[4000].record.last_message = std::string(3 << 20, 'm');
  ASSERT_EQ(
      storage_.WriteAtomically(kStateFileName, [&state](ByteSink& out) { WriteState(state, out); }),
      "");
  // The same bytes as the whole-string encoding.
  const std::string encoded = EncodeState(state);
  std::string content, error;
  bool missing = false;
  ASSERT_TRUE(ReadWholeFile(storage_.File(kStateFileName), content, error, missing));
  ASSERT_GT(content.size(), 2 * StorageDir::kWriteBufferBytes);
  EXPECT_TRUE(content == encoded);

  FileSource file;
  ASSERT_TRUE(file.Open(storage_.File(kStateFileName), error, missing)) << error;
  std::vector<PersistedEsim> received;
  const auto decoded = DecodeState(
      file, [&received](PersistedEsim&& esim) { received.push_back(std::move(esim)); }, error);
  ASSERT_TRUE(decoded) << error;
  EXPECT_TRUE(decoded->esims.empty());  // handed over, not kept
  ASSERT_EQ(received.size(), state.esims.size());
  for (size_t i = 0; i < received.size(); ++i) {
    ExpectSameRecord(received[i].record, state.esims[i].record);
    EXPECT_EQ(received[i].failures, state.esims[i].failures);
  }
  EXPECT_EQ(decoded->delivery_ids, state.delivery_ids);
}

// The eSIMs handed over before a malformed line further on do not make the file good.
TEST_F(StateFileStreamTest, ALineRefusedAfterEsimsWereHandedOverRefusesTheFile) {
  const std::string good = R"({"t":"esim","iccid":"8944000000000000001"})"
                           "\n";
  for (const std::string& bad :
       {std::string("{\"t\":\"esim\"}\n"),  // no id
        std::string("{\"t\":\"esim\",\"iccid\":\"1\",\"status\":{},\"times\":[1]}\n"),
        std::string("[1]\n"), std::string("{\"t\":\n"), std::string("{\"t\":\"esim\"")}) {
    std::ofstream(storage_.File(kStateFileName), std::ios::trunc)
        << FrameStateBody(good + good + bad, "fp", 1764547000);
    FileSource file;
    std::string error;
    bool missing = false;
    ASSERT_TRUE(file.Open(storage_.File(kStateFileName), error, missing)) << error;
    size_t handed = 0;
    EXPECT_FALSE(DecodeState(
        file, [&handed](PersistedEsim&&) { ++handed; }, error))
        << bad;
    EXPECT_FALSE(error.empty());
    EXPECT_EQ(handed, 2u) << bad;  // streamed: the good ones went first
  }
}

TEST_F(StateFileStreamTest, FileRefusalsMatchTheStringReader) {
  const std::string encoded = EncodeState(SampleState());
  for (const std::string& input : {encoded.substr(0, encoded.size() - 1), encoded + "x",
                                   encoded.substr(0, 100), std::string()}) {
    std::ofstream(storage_.File(kStateFileName), std::ios::trunc) << input;
    FileSource file;
    std::string file_error, string_error;
    bool missing = false;
    ASSERT_TRUE(file.Open(storage_.File(kStateFileName), file_error, missing));
    EXPECT_FALSE(DecodeState(
        file, [](PersistedEsim&&) {}, file_error));
    EXPECT_FALSE(DecodeState(input, string_error));
    EXPECT_EQ(file_error, string_error);
    EXPECT_FALSE(file_error.empty());
  }
}

}  // namespace
}  // namespace esim
