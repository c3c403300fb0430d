#include "api_client.h"

#include <chrono>
#include <cmath>
#include <nlohmann/json.hpp>
#include <string_view>

#include "iso8601.h"
#include "json_fields.h"
#include "signer.h"

namespace esim {
namespace {

using nlohmann::json;

EsimStatus ParseStatusData(const json& data) {
  if (!data.is_object()) throw JsonWrongShape{"data is not an object"};
  EsimStatus status;
  status.iccid = OptionalText(data, "iccid").value_or("");
  const auto lifecycle = OptionalText(data, "status");
  if (!lifecycle || lifecycle->empty()) throw JsonWrongShape{"status is missing"};
  status.status = *lifecycle;
  status.esim_status = OptionalText(data, "esim_status");
  status.smdp_status = OptionalText(data, "smdp_status");
  status.profile = OptionalText(data, "profile");
  status.unlimited = OptionalBool(data, "unlimited");
  if (const json* network = OptionalObject(data, "last_network")) {
    status.last_network.operator_name = OptionalText(*network, "operator");
    status.last_network.mcc = OptionalText(*network, "mcc");
    status.last_network.mnc = OptionalText(*network, "mnc");
    status.last_network.country = OptionalText(*network, "country");
    status.last_network.country_iso2 = OptionalText(*network, "country_iso2");
    status.last_network.connection_type = OptionalText(*network, "connection_type");
  }
  if (const json* device = OptionalObject(data, "device")) {
    status.device.model = OptionalText(*device, "model");
    status.device.imei = OptionalText(*device, "imei");
  }
  status.activation_time = OptionalTime(data, "activation_date");
  status.last_usage_time = OptionalTime(data, "last_usage_date");
  status.expiry_time = OptionalTime(data, "expiry_date");
  const json* usage = OptionalObject(data, "data_usage");
  if (usage == nullptr) throw JsonWrongShape{"data_usage is missing"};
  const auto used = OptionalGigabytes(*usage, "used_gb");
  if (!used) throw JsonWrongShape{"data_usage.used_gb is missing"};
  status.used_bytes = *used;
  status.unlimited = status.unlimited || OptionalBool(*usage, "unlimited");
  // An unlimited plan has no allowance, whatever total_gb says.
  if (!status.unlimited) status.total_bytes = OptionalGigabytes(*usage, "total_gb");
  return status;
}

constexpr double kBytesPerMb = 1024.0 * 1024.0;

std::optional<double> OptionalMegabytes(const json& object, const char* key) {
  const auto mb = OptionalNumber(object, key);
  if (mb && *mb < 0) throw JsonWrongShape{std::string(key) + " is negative"};
  if (!mb) return std::nullopt;
  return *mb * kBytesPerMb;
}

// Only the fields the exporter uses are read: qr_code, manual_installation and install URLs are
// the eSIM owner's secrets and never leave this function.
ListedEsim ParseListedEsim(const json& item) {
  if (!item.is_object()) throw JsonWrongShape{"an esims entry is not an object"};
  ListedEsim esim;
  const auto id = item.find("id");
  if (id == item.end() || !id->is_number_integer()) throw JsonWrongShape{"esims[].id is missing"};
  esim.id = id->get<int64_t>();
  esim.iccid = OptionalText(item, "iccid").value_or("");
  if (esim.iccid.empty()) throw JsonWrongShape{"esims[].iccid is missing"};
  esim.package_name = OptionalText(item, "package_name").value_or("");
  esim.package_code = OptionalText(item, "package_code").value_or("");
  if (const auto countries = item.find("countries");
      countries != item.end() && !countries->is_null()) {
    if (!countries->is_array()) throw JsonWrongShape{"esims[].countries is not a list"};
    for (const json& country : *countries) {
      if (!country.is_string()) throw JsonWrongShape{"esims[].countries holds a non-string"};
      if (esim.countries.size() < 32) esim.countries.push_back(country.get<std::string>());
    }
  }
  const auto status = OptionalText(item, "status");
  if (!status || status->empty()) throw JsonWrongShape{"esims[].status is missing"};
  esim.status = *status;
  const json* data = OptionalObject(item, "data");
  if (data == nullptr) throw JsonWrongShape{"esims[].data is missing"};
  esim.unlimited = OptionalBool(*data, "is_unlimited");
  const auto used = OptionalMegabytes(*data, "used_mb");
  if (!used) throw JsonWrongShape{"esims[].data.used_mb is missing"};
  esim.used_bytes = *used;
  // Unlimited plans list total_mb 0: that is "no allowance", not "depleted".
  if (!esim.unlimited) esim.total_bytes = OptionalMegabytes(*data, "total_mb");
  if (const json* validity = OptionalObject(item, "validity")) {
    esim.activation_time = OptionalTime(*validity, "activated_at");
    esim.expiry_time = OptionalTime(*validity, "expires_at");
  }
  return esim;
}

// An order still being provisioned (docs/esimfly-api.md, "Pending entries"):
// is_pending true, or no ICCID or usage data yet. Not an error, and not an eSIM to
// monitor yet: a later sweep lists it complete. A null validity alone is not pending: the eSIM
// is complete, only its dates are unknown.
bool IsPendingEntry(const json& item) {
  if (!item.is_object()) return false;
  const auto pending = item.find("is_pending");
  if (pending != item.end() && pending->is_boolean() && pending->get<bool>()) return true;
  const auto iccid = item.find("iccid");
  if (iccid != item.end() && (iccid->is_null() || (iccid->is_string() && iccid->empty()))) {
    return true;
  }
  const auto data = item.find("data");
  return data != item.end() && data->is_null();
}

EsimListPage ParseListData(const json& data) {
  if (!data.is_object()) throw JsonWrongShape{"data is not an object"};
  const auto esims = data.find("esims");
  if (esims == data.end() || !esims->is_array()) throw JsonWrongShape{"data.esims is not a list"};
  EsimListPage page;
  page.esims.reserve(esims->size());
  // One odd entry never costs the page: it is skipped and counted, the others are merged.
  for (const json& item : *esims) {
    if (IsPendingEntry(item)) {
      ++page.skipped.pending;
      continue;
    }
    try {
      page.esims.push_back(ParseListedEsim(item));
    } catch (const JsonWrongShape& wrong) {
      if (page.skipped.malformed++ == 0) page.skipped.first_malformed = wrong.what;
    }
  }
  const json* pagination = OptionalObject(data, "pagination");
  if (pagination == nullptr) throw JsonWrongShape{"data.pagination is missing"};
  auto count = [&](const char* key) -> std::optional<int64_t> {
    const auto value = OptionalNumber(*pagination, key);
    if (!value) return std::nullopt;
    if (*value < 0 || *value > 1e9 || *value != std::floor(*value)) {
      throw JsonWrongShape{std::string("pagination.") + key + " is not a count"};
    }
    return static_cast<int64_t>(*value);
  };
  page.page = count("page").value_or(1);
  const auto total = count("total");
  if (!total) throw JsonWrongShape{"pagination.total is missing"};
  page.total = *total;
  // The list page spells it total_pages, a general page of the vendor's docs totalPages.
  page.total_pages = count("total_pages");
  if (!page.total_pages) page.total_pages = count("totalPages");
  if (!page.total_pages) {
    if (const auto limit = count("limit"); limit && *limit > 0) {
      page.total_pages = (page.total + *limit - 1) / *limit;
    }
  }
  return page;
}

AccountBalance ParseBalanceData(const json& data) {
  if (!data.is_object()) throw JsonWrongShape{"data is not an object"};
  AccountBalance balance;
  const auto amount = OptionalNumber(data, "balance");
  if (!amount) throw JsonWrongShape{"data.balance is missing"};
  balance.amount = *amount;
  balance.currency = OptionalText(data, "currency").value_or("");
  if (balance.currency.empty() || balance.currency.size() > 8) {
    throw JsonWrongShape{"data.currency is not a currency code"};
  }
  return balance;
}

// Like OptionalText, cut at `max_bytes` (a URL longer than the label limit is still compared).
std::optional<std::string> BoundedText(const json& object, const char* key, size_t max_bytes) {
  const auto it = object.find(key);
  if (it == object.end() || it->is_null()) return std::nullopt;
  if (!it->is_string()) throw JsonWrongShape{std::string(key) + " is not a string"};
  const std::string& text = it->get_ref<const std::string&>();
  if (text.size() > max_bytes) throw JsonWrongShape{std::string(key) + " is too long"};
  return text;
}

// An optional list of event names; only the first kMaxSubscriptionEvents are kept.
std::vector<std::string> EventNames(const json& data, const char* key) {
  std::vector<std::string> names;
  const auto it = data.find(key);
  if (it == data.end() || it->is_null()) return names;
  if (!it->is_array()) throw JsonWrongShape{std::string(key) + " is not a list"};
  for (const json& name : *it) {
    if (!name.is_string())
      throw JsonWrongShape{std::string(key) + " has an entry that is not a string"};
    if (names.size() >= kMaxSubscriptionEvents) break;
    names.push_back(CutLabelText(name.get<std::string>()));
  }
  return names;
}

WebhookSubscription::Delivery ParseDelivery(const json& item) {
  if (!item.is_object()) throw JsonWrongShape{"a recent_deliveries entry is not an object"};
  WebhookSubscription::Delivery delivery;
  // The id may be a number or a string, depending on the vendor's page.
  if (const auto it = item.find("id"); it != item.end() && it->is_number_integer()) {
    delivery.id = std::to_string(it->get<int64_t>());
  } else {
    delivery.id = OptionalText(item, "id").value_or("");
  }
  delivery.event = OptionalText(item, "event").value_or("");
  delivery.order_reference = OptionalText(item, "order_reference").value_or("");
  delivery.status = OptionalText(item, "status").value_or("");
  const auto attempts = OptionalNumber(item, "attempts");
  if (attempts && (*attempts < 0 || *attempts > 1e6)) {
    throw JsonWrongShape{"recent_deliveries[].attempts is out of range"};
  }
  delivery.attempts = attempts ? static_cast<int64_t>(*attempts) : 0;
  delivery.last_attempt = OptionalTime(item, "last_attempt");
  delivery.delivered_at = OptionalTime(item, "delivered_at");
  return delivery;
}

WebhookSubscription ParseWebhookSubscriptionData(const json& data) {
  if (!data.is_object()) throw JsonWrongShape{"data is not an object"};
  WebhookSubscription subscription;
  subscription.url = BoundedText(data, "webhook_url", kMaxSubscriptionUrlBytes);
  subscription.events = EventNames(data, "events");
  subscription.available_events = EventNames(data, "available_events");
  const auto deliveries = data.find("recent_deliveries");
  if (deliveries != data.end() && !deliveries->is_null()) {
    if (!deliveries->is_array()) throw JsonWrongShape{"recent_deliveries is not a list"};
    for (const json& item : *deliveries) {
      if (subscription.recent_deliveries.size() >= kMaxRecentDeliveries) break;
      subscription.recent_deliveries.push_back(ParseDelivery(item));
    }
  }
  return subscription;
}

// Error codes become label values: only the API's UPPER_SNAKE_CASE words are taken as they are.
bool IsPlainCode(std::string_view code) {
  if (code.empty() || code.size() > 64) return false;
  for (char c : code) {
    if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_')) return false;
  }
  return true;
}

std::optional<std::string> Header(const HeaderMap& headers, const char* name) {
  const auto it = headers.find(name);
  if (it == headers.end()) return std::nullopt;
  return it->second;
}

std::optional<double> ParseNumber(const std::string& text) {
  if (text.empty() || text.size() > 32) return std::nullopt;
  size_t used = 0;
  try {
    const double value = std::stod(text, &used);
    if (used != text.size() || !std::isfinite(value)) return std::nullopt;
    return value;
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

// X-RateLimit-Reset is documented both as ISO 8601 and as Unix seconds; small numbers are
// read as "seconds from now" and huge ones as milliseconds, which some gateways send.
std::optional<double> ParseResetTime(const std::string& text, double now) {
  if (const auto number = ParseNumber(text)) {
    if (*number < 0) return std::nullopt;
    if (*number < 1e9) return now + *number;
    if (*number > 1e12) return *number / 1000.0;
    return *number;
  }
  return ParseIso8601(text);
}

std::optional<double> ParseRetryAfter(const std::string& text, double now) {
  if (const auto seconds = ParseNumber(text)) {
    if (*seconds < 0) return std::nullopt;
    return now + *seconds;
  }
  return ParseHttpDate(text);
}

std::string TransportCode(TransportError error) {
  switch (error) {
    case TransportError::kTimeout:
      return "TIMEOUT";
    case TransportError::kTls:
      return "TLS_ERROR";
    case TransportError::kBodyTooLarge:
      return "INVALID_RESPONSE";
    case TransportError::kConnection:
    case TransportError::kNone:
      break;
  }
  return "CONNECTION_ERROR";
}

}  // namespace

bool IsCredentialRefusal(std::string_view code) {
  return code == "HMAC_REQUIRED" || code == "INVALID_API_KEY" || code == "INVALID_SIGNATURE" ||
         code == "INVALID_TIMESTAMP" || code == "INVALID_REQUEST_ID" ||
         code == "DUPLICATE_REQUEST" || code == "INVALID_USER";
}

std::string StatusRequestBody(const EsimConfig& esim) {
  if (!esim.iccid.empty()) return json{{"iccid", esim.iccid}}.dump();
  return json{{"esimId", esim.esim_id.value_or(0)}}.dump();
}

namespace {

// The envelope, error codes and headers are the same for every endpoint; `parse_data` reads the
// `data` object of a successful answer into the result.
template <typename ParseData>
ApiResult InterpretResponse(const HttpResponse& response, double now, ParseData parse_data) {
  ApiResult result;
  if (response.error != TransportError::kNone) {
    result.code = TransportCode(response.error);
    result.message = response.error == TransportError::kBodyTooLarge
                         ? "response body exceeds the size limit"
                         : response.error_detail;
    return result;
  }
  result.http_status = response.status;
  const HeaderMap& headers = response.headers;
  if (auto v = Header(headers, "x-ratelimit-limit")) result.rate_limit.limit = ParseNumber(*v);
  if (auto v = Header(headers, "x-ratelimit-remaining")) {
    result.rate_limit.remaining = ParseNumber(*v);
  }
  if (auto v = Header(headers, "x-ratelimit-reset")) {
    result.rate_limit.reset_time = ParseResetTime(*v, now);
  }
  if (auto v = Header(headers, "retry-after")) result.retry_after_time = ParseRetryAfter(*v, now);
  if (auto v = Header(headers, "date")) result.server_time = ParseHttpDate(*v);

  const json body = json::parse(response.body, nullptr, /*allow_exceptions=*/false);
  const bool is_envelope = body.is_object() && body.contains("success");
  const bool success_2xx = response.status >= 200 && response.status < 300;
  if (!is_envelope) {
    // Not the API's JSON at all: a gateway page, an empty body, garbage.
    if (response.status == 429) {
      result.code = "RATE_LIMIT_EXCEEDED";
      result.api_up = true;
    } else {
      result.code = success_2xx ? "INVALID_RESPONSE" : "HTTP_" + std::to_string(response.status);
    }
    result.message = "answer is not the API's JSON envelope";
    return result;
  }
  try {
    if (const auto message = OptionalText(body, "message")) {
      result.message = *message;
    } else if (const auto error = OptionalText(body, "error")) {
      result.message = *error;
    }
    const bool success = OptionalBool(body, "success");
    if (success && success_2xx) {
      const auto data = body.find("data");
      if (data == body.end()) throw JsonWrongShape{"data is missing"};
      parse_data(*data, result);
      result.code = "OK";
      result.api_up = true;
      return result;
    }
    const auto code = OptionalText(body, "code");
    if (code && IsPlainCode(*code)) {
      result.code = *code;
    } else if (response.status == 429) {
      result.code = "RATE_LIMIT_EXCEEDED";
    } else {
      result.code = success_2xx ? "INVALID_RESPONSE" : "HTTP_" + std::to_string(response.status);
      return result;
    }
    result.api_up = !IsCredentialRefusal(result.code);
  } catch (const JsonWrongShape& wrong) {
    result.code = "INVALID_RESPONSE";
    result.api_up = false;
    result.status.reset();
    result.list.reset();
    result.balance.reset();
    result.webhook_subscription.reset();
    result.message = wrong.what;
  }
  return result;
}

}  // namespace

ApiResult InterpretStatusResponse(const HttpResponse& response, double now) {
  return InterpretResponse(response, now, [](const json& data, ApiResult& result) {
    result.status = ParseStatusData(data);
  });
}

ApiResult InterpretListResponse(const HttpResponse& response, double now) {
  return InterpretResponse(response, now, [](const json& data, ApiResult& result) {
    result.list = ParseListData(data);
  });
}

ApiResult InterpretBalanceResponse(const HttpResponse& response, double now) {
  return InterpretResponse(response, now, [](const json& data, ApiResult& result) {
    result.balance = ParseBalanceData(data);
  });
}

ApiResult InterpretWebhookSubscriptionResponse(const HttpResponse& response, double now) {
  return InterpretResponse(response, now, [](const json& data, ApiResult& result) {
    result.webhook_subscription = ParseWebhookSubscriptionData(data);
  });
}

ApiClient::ApiClient(std::string access_code, Secret secret_key,
                     std::shared_ptr<HttpTransport> transport, WallClock wall_clock)
    : access_code_(std::move(access_code)),
      secret_key_(std::move(secret_key)),
      transport_(std::move(transport)),
      wall_clock_(std::move(wall_clock)) {}

ApiResult ApiClient::FetchStatus(const EsimConfig& esim) const {
  return Send("POST", "/api/v1/business/esims/status", StatusRequestBody(esim), Kind::kStatus);
}

ApiResult ApiClient::FetchListPage(const std::string& status, int64_t page, int limit) const {
  // The query string is not signed; the statuses come from the validated config.
  return Send("GET",
              "/api/v1/business/esims?page=" + std::to_string(page) +
                  "&limit=" + std::to_string(limit) + "&status=" + status,
              "", Kind::kList);
}

ApiResult ApiClient::FetchBalance() const {
  return Send("GET", "/api/v1/business/balance", "", Kind::kBalance);
}

ApiResult ApiClient::FetchWebhookSubscription() const {
  return Send("GET", "/api/v1/business/webhooks", "", Kind::kWebhookSubscription);
}

ApiResult ApiClient::Send(const std::string& method, const std::string& path,
                          const std::string& body, Kind kind) const {
  const auto started = std::chrono::steady_clock::now();
  ApiResult result;
  try {
    HttpRequest request;
    request.method = method;
    request.path = path;
    request.body = body;
    const double now = wall_clock_();
    // For a GET the body part of the signed string is empty, which is what `body` holds.
    const auto signed_headers =
        SignRequest(access_code_, secret_key_.Reveal(), static_cast<int64_t>(now * 1000.0),
                    NewRequestId(), request.body);
    request.headers = {{"RT-AccessCode", signed_headers.access_code},
                       {"RT-RequestID", signed_headers.request_id},
                       {"RT-Timestamp", signed_headers.timestamp},
                       {"RT-Signature", signed_headers.signature},
                       {"Accept", "application/json"}};
    if (method == "POST") request.headers.emplace_back("Content-Type", "application/json");
    const HttpResponse response = transport_->Send(request);
    switch (kind) {
      case Kind::kStatus:
        result = InterpretStatusResponse(response, wall_clock_());
        break;
      case Kind::kList:
        result = InterpretListResponse(response, wall_clock_());
        break;
      case Kind::kBalance:
        result = InterpretBalanceResponse(response, wall_clock_());
        break;
      case Kind::kWebhookSubscription:
        result = InterpretWebhookSubscriptionResponse(response, wall_clock_());
        break;
    }
  } catch (const std::exception& e) {
    // Nothing may escape the polling path; an internal failure is counted like a bad answer.
    result = ApiResult{};
    result.code = "INVALID_RESPONSE";
    result.message = std::string("internal error: ") + e.what();
  }
  result.duration_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  return result;
}

}  // namespace esim
