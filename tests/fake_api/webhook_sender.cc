#include "webhook_sender.h"

#include <httplib.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <nlohmann/json.hpp>
#include <stdexcept>

namespace fake_esimfly {
namespace {

constexpr int64_t kStaleMillis = 2 * 3600 * 1000;

std::string Hex(const unsigned char* data, size_t size) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < size; ++i) {
    out += kDigits[data[i] >> 4];
    out += kDigits[data[i] & 0x0f];
  }
  return out;
}

int64_t NowMillis() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

int64_t CreatedMillis(WebhookFault fault) {
  return NowMillis() - (fault == WebhookFault::kStale ? kStaleMillis : 0);
}

std::string Iccid(const std::string& iccid) { return iccid; }

}  // namespace

std::string WebhookSignatureOf(const std::string& secret, const std::string& body) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  if (HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
           reinterpret_cast<const unsigned char*>(body.data()), body.size(), mac,
           &size) == nullptr) {
    throw std::runtime_error("HMAC failed");
  }
  return "sha256=" + Hex(mac, size);
}

std::string NewDeliveryId() {
  unsigned char bytes[12];
  if (RAND_bytes(bytes, sizeof bytes) != 1) throw std::runtime_error("RAND_bytes failed");
  return "whd_" + Hex(bytes, sizeof bytes);
}

std::string IsoMillis(int64_t unix_millis) {
  const time_t seconds = static_cast<time_t>(unix_millis / 1000);
  struct tm utc;
  gmtime_r(&seconds, &utc);
  char text[96];
  std::snprintf(text, sizeof text, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", utc.tm_year + 1900,
                utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec,
                static_cast<int>(unix_millis % 1000));
  return text;
}

WebhookDelivery SignedDelivery(const std::string& secret, const std::string& event,
                               const std::string& body, WebhookFault fault) {
  WebhookDelivery delivery;
  delivery.event = event;
  delivery.id = NewDeliveryId();
  delivery.timestamp = IsoMillis(CreatedMillis(fault));
  delivery.body = body;
  switch (fault) {
    case WebhookFault::kBadSignature:
      delivery.signature = WebhookSignatureOf(secret, body + " ");
      break;
    case WebhookFault::kNoSignature:
      break;
    default:
      delivery.signature = WebhookSignatureOf(secret, body);
  }
  return delivery;
}

WebhookDelivery UsageThresholdDelivery(const std::string& secret, const std::string& iccid,
                                       double used_gb, double total_gb, int threshold_mb,
                                       WebhookFault fault) {
  const std::string at = IsoMillis(CreatedMillis(fault));
  const nlohmann::json body = {{"event", "esim.usage.threshold"},
                               {"timestamp", at},
                               {"data",
                                {{"iccid", Iccid(iccid)},
                                 {"esim_id", nullptr},
                                 {"package_code", "DEMO-5GB"},
                                 {"order_reference", "order_fake"},
                                 {"source", "usage_threshold"},
                                 {"threshold_remaining_mb", threshold_mb},
                                 {"used_percent", total_gb > 0 ? 100.0 * used_gb / total_gb : 0.0},
                                 {"used_gb", used_gb},
                                 {"total_gb", total_gb},
                                 {"remaining_gb", total_gb - used_gb},
                                 {"package_id", 1},
                                 {"reported_at", at}}}};
  WebhookDelivery delivery = SignedDelivery(secret, "esim.usage.threshold", body.dump(), fault);
  delivery.timestamp = at;
  return delivery;
}

WebhookDelivery StatusChangedDelivery(const std::string& secret, const std::string& iccid,
                                      const std::string& old_status, const std::string& new_status,
                                      WebhookFault fault) {
  const std::string at = IsoMillis(CreatedMillis(fault));
  const nlohmann::json body = {{"event", "esim.status.changed"},
                               {"timestamp", at},
                               {"data",
                                {{"iccid", iccid},
                                 {"old_status", old_status},
                                 {"new_status", new_status},
                                 {"changed_at", at},
                                 {"expiry_date", nullptr}}}};
  WebhookDelivery delivery = SignedDelivery(secret, "esim.status.changed", body.dump(), fault);
  delivery.timestamp = at;
  return delivery;
}

WebhookSender::WebhookSender(const std::string& url, const std::string& ca_file) {
  // scheme://host:port/path
  const size_t scheme_end = url.find("://");
  const size_t path_start = url.find('/', scheme_end == std::string::npos ? 0 : scheme_end + 3);
  const std::string origin = path_start == std::string::npos ? url : url.substr(0, path_start);
  path_ = path_start == std::string::npos ? "/" : url.substr(path_start);
  client_ = std::make_unique<httplib::Client>(origin);
  if (!ca_file.empty()) client_->set_ca_cert_path(ca_file.c_str());
  client_->set_keep_alive(true);
  // Headers and body go out in two writes: without this, Nagle and the receiver's delayed ACK
  // add 40 ms to every delivery, which would measure the kernel, not the receiver.
  client_->set_tcp_nodelay(true);
  client_->set_connection_timeout(5, 0);
  client_->set_read_timeout(15, 0);
}

WebhookSender::~WebhookSender() = default;

int WebhookSender::Send(const WebhookDelivery& delivery) {
  httplib::Headers headers = {{"User-Agent", "eSIMfly-Webhook/1.0"},
                              {"X-Webhook-Event", delivery.event},
                              {"X-Webhook-Timestamp", delivery.timestamp},
                              {"X-Webhook-Id", delivery.id}};
  if (!delivery.signature.empty()) headers.emplace("X-Webhook-Signature", delivery.signature);
  const auto result = client_->Post(path_, headers, delivery.body, "application/json");
  return result ? result->status : 0;
}

}  // namespace fake_esimfly
