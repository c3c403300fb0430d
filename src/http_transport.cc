#include "http_transport.h"

#include <httplib.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <memory>
#include <optional>
#include <stdexcept>

#include "local_file.h"
#include "text.h"

namespace esim {
namespace {

constexpr size_t kMaxCaFileBytes = 16 << 20;  // as the config allows

// Splits "https://host:port/prefix" into "https://host:port" and "/prefix".
std::pair<std::string, std::string> SplitBaseUrl(const std::string& url) {
  const size_t scheme_end = url.find("://");
  if (scheme_end == std::string::npos) throw std::invalid_argument("URL without scheme: " + url);
  const size_t path_start = url.find('/', scheme_end + 3);
  if (path_start == std::string::npos) return {url, ""};
  std::string prefix = url.substr(path_start);
  while (!prefix.empty() && prefix.back() == '/') prefix.pop_back();
  return {url.substr(0, path_start), prefix};
}

TransportError Classify(httplib::Error error, bool cut_off,
                        std::chrono::steady_clock::duration took,
                        std::chrono::milliseconds timeout) {
  if (cut_off) return TransportError::kBodyTooLarge;
  switch (error) {
    case httplib::Error::ConnectionTimeout:
    case httplib::Error::Timeout:
      return TransportError::kTimeout;
    case httplib::Error::SSLConnection:
    case httplib::Error::SSLLoadingCerts:
    case httplib::Error::SSLServerVerification:
    case httplib::Error::SSLServerHostnameVerification:  // its own code since 0.2x
      return TransportError::kTls;
    case httplib::Error::Read:
    case httplib::Error::Write:
      // cpp-httplib reports an expired read timeout as a plain read error.
      return took + std::chrono::milliseconds(50) >= timeout ? TransportError::kTimeout
                                                             : TransportError::kConnection;
    default:
      return TransportError::kConnection;
  }
}

// The directory lookup X509_STORE_set_default_paths adds: $SSL_CERT_DIR, else OpenSSL's default.
const std::string& DefaultCaDirectory() {
  static const std::string directory = [] {
    const char* from_environment = std::getenv(X509_get_default_cert_dir_env());
    return std::string(from_environment != nullptr ? from_environment
                                                   : X509_get_default_cert_dir());
  }();
  return directory;
}

// The system CAs plus ca_file, parsed once, from the text the config loaded when given: the file
// is then not opened again, so the store holds what the config validated.
std::shared_ptr<X509_STORE> LoadCaStore(const std::string& ca_file, std::string ca_pem) {
  std::shared_ptr<X509_STORE> store(X509_STORE_new(), X509_STORE_free);
  if (!store) throw std::runtime_error("cannot allocate an X509 store");
  X509_STORE_set_default_paths(store.get());
  if (ca_file.empty()) return store;
  if (ca_pem.empty()) {
    std::string error;
    std::optional<LocalFile> file = ReadLocalFile(ca_file, kMaxCaFileBytes, error);
    if (!file) throw std::invalid_argument("cannot load CA file " + ca_file + ": " + error);
    ca_pem = std::move(file->content);
  }
  const std::unique_ptr<BIO, decltype(&BIO_free)> bio(
      BIO_new_mem_buf(ca_pem.data(), static_cast<int>(ca_pem.size())), BIO_free);
  const std::unique_ptr<STACK_OF(X509_INFO), void (*)(STACK_OF(X509_INFO)*)> infos(
      bio ? PEM_X509_INFO_read_bio(bio.get(), nullptr, nullptr, nullptr) : nullptr,
      [](STACK_OF(X509_INFO) * list) { sk_X509_INFO_pop_free(list, X509_INFO_free); });
  int added = 0;
  for (int i = 0; infos && i < sk_X509_INFO_num(infos.get()); ++i) {
    const X509_INFO* info = sk_X509_INFO_value(infos.get(), i);
    if (info->x509 != nullptr && X509_STORE_add_cert(store.get(), info->x509) == 1) ++added;
  }
  ERR_clear_error();
  if (added == 0) throw std::invalid_argument("cannot load CA file " + ca_file + ": no PEM CA");
  return store;
}

}  // namespace

std::optional<std::chrono::seconds> KeepAliveReuseWindow(std::string_view keep_alive) {
  // Parameters are "name=value" separated by commas, names in any case, values maybe quoted.
  while (!keep_alive.empty()) {
    const size_t comma = keep_alive.find(',');
    std::string_view parameter = keep_alive.substr(0, comma);
    keep_alive = comma == std::string_view::npos ? "" : keep_alive.substr(comma + 1);
    const size_t equals = parameter.find('=');
    if (equals == std::string_view::npos) continue;
    const std::string_view name = TrimAsciiSpace(parameter.substr(0, equals));
    std::string_view value = TrimAsciiSpace(parameter.substr(equals + 1));
    if (!EqualsIgnoringAsciiCase(name, "timeout")) continue;
    if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
      value = value.substr(1, value.size() - 2);
    }
    if (value.empty() || value.size() > 9) return std::nullopt;  // not a count of seconds
    long seconds = 0;
    for (const char digit : value) {
      if (digit < '0' || digit > '9') return std::nullopt;
      seconds = seconds * 10 + (digit - '0');
    }
    return std::chrono::seconds(std::max(seconds - 1, 0L));
  }
  return std::nullopt;
}

HttplibTransport::HttplibTransport(HttpTransportOptions options) : options_(std::move(options)) {
  std::tie(scheme_host_port_, path_prefix_) = SplitBaseUrl(options_.base_url);
  if (scheme_host_port_.rfind("https://", 0) == 0)
    ca_store_ = LoadCaStore(options_.ca_file, options_.ca_pem);
  NewClient();  // fail early on an unusable URL
}

HttplibTransport::~HttplibTransport() = default;

std::unique_ptr<httplib::Client> HttplibTransport::NewClient() const {
  auto client = std::make_unique<httplib::Client>(scheme_host_port_);
  if (!client->is_valid()) throw std::invalid_argument("unusable API URL: " + options_.base_url);
  client->set_keep_alive(true);
  // Small requests on kept-alive connections: without TCP_NODELAY, Nagle and delayed ACKs add
  // tens of milliseconds to each one.
  client->set_tcp_nodelay(true);
  client->set_follow_location(false);
  client->set_connection_timeout(options_.timeout);
  client->set_read_timeout(options_.timeout);
  client->set_write_timeout(options_.timeout);
  client->enable_server_certificate_verification(true);
  if (ca_store_) {
    // The client's SSL context takes one reference to the shared store.
    X509_STORE_up_ref(ca_store_.get());
    client->set_ca_cert_store(ca_store_.get());
    // With no CA path, cpp-httplib loads the system bundle into the store again on the first
    // connection; naming the default directory, already in the store, makes that a no-op.
    client->set_ca_cert_path("", DefaultCaDirectory());
  }
  return client;
}

std::unique_ptr<httplib::Client> HttplibTransport::Acquire() {
  std::vector<IdleClient> expired;  // closed outside the lock
  {
    std::lock_guard<std::mutex> lock(mutex_);
    const auto now = std::chrono::steady_clock::now();
    const auto usable = std::stable_partition(idle_.begin(), idle_.end(), [&](const auto& idle) {
      return !idle.reuse_before || now < *idle.reuse_before;
    });
    expired.assign(std::make_move_iterator(usable), std::make_move_iterator(idle_.end()));
    idle_.erase(usable, idle_.end());
    if (!idle_.empty()) {
      auto client = std::move(idle_.back().client);
      idle_.pop_back();
      return client;
    }
  }
  return NewClient();
}

void HttplibTransport::Release(std::unique_ptr<httplib::Client> client,
                               std::optional<std::chrono::steady_clock::duration> reuse_within) {
  std::optional<std::chrono::steady_clock::time_point> reuse_before;
  if (reuse_within) reuse_before = std::chrono::steady_clock::now() + *reuse_within;
  std::lock_guard<std::mutex> lock(mutex_);
  if (idle_.size() < options_.max_connections) {
    idle_.push_back({std::move(client), reuse_before});
  }
}

HttpResponse HttplibTransport::Send(const HttpRequest& request) {
  HttpResponse result;
  std::unique_ptr<httplib::Client> client;
  try {
    client = Acquire();
  } catch (const std::exception& e) {
    result.error = TransportError::kTls;
    result.error_detail = e.what();
    return result;
  }

  httplib::Request req;
  req.method = request.method;
  req.path = path_prefix_ + request.path;
  for (const auto& [name, value] : request.headers) req.headers.emplace(name, value);
  req.body = request.body;
  bool cut_off = false;
  bool too_slow = false;
  const auto started = std::chrono::steady_clock::now();
  // api.timeout bounds the whole answer, not each read: a server dribbling a byte every few
  // seconds must not hold a request slot for ever.
  const auto deadline = started + options_.timeout;
  req.content_receiver = [&](const char* data, size_t size, uint64_t, uint64_t) {
    if (result.body.size() + size > options_.max_body_bytes) {
      cut_off = true;
      return false;
    }
    if (std::chrono::steady_clock::now() > deadline) {
      too_slow = true;
      return false;
    }
    result.body.append(data, size);
    return true;
  };

  httplib::Response res;
  httplib::Error error = httplib::Error::Success;
  const bool ok = client->send(req, res, error);
  const auto took = std::chrono::steady_clock::now() - started;
  if (!ok) {
    result.error =
        too_slow ? TransportError::kTimeout : Classify(error, cut_off, took, options_.timeout);
    result.error_detail = httplib::to_string(error);
    result.body.clear();
    client.reset();  // the connection state is unknown: never reuse it
    return result;
  }
  result.status = res.status;
  for (const auto& [name, value] : res.headers) result.headers.emplace(AsciiLower(name), value);
  const auto keep_alive = result.headers.find("keep-alive");
  Release(std::move(client), keep_alive == result.headers.end()
                                 ? std::nullopt
                                 : KeepAliveReuseWindow(keep_alive->second));
  return result;
}

}  // namespace esim
