#include "config_url.h"

#include <algorithm>
#include <optional>

#include "config_values.h"
#include "text.h"
#include "yaml_reader.h"

namespace esim {

const char kPlainHttpApiUrlWarning[] =
    "api.url uses plain http://: requests and eSIM data travel unencrypted; use https:// outside "
    "tests and local proxies";

namespace {

constexpr size_t kMaxPublicUrlLength = 2048;

bool HasSpaceOrControl(std::string_view text) {
  return std::any_of(text.begin(), text.end(),
                     [](char c) { return IsAsciiSpace(c) || IsAsciiControl(c); });
}

// HOST[:PORT] or [IPV6][:PORT], split; a colon with nothing after it gives an empty port.
struct HostPort {
  enum class Error { kNone, kUnclosedBracket, kTextAfterBracket };
  Error error = Error::kNone;
  std::string host;
  std::optional<std::string> port;
};

HostPort SplitHostPort(const std::string& authority) {
  HostPort split;
  split.host = authority;
  if (authority.starts_with('[')) {  // IPv6 literal, [::1]:8443
    const size_t close = authority.find(']');
    if (close == std::string::npos) {
      split.error = HostPort::Error::kUnclosedBracket;
      return split;
    }
    const std::string after = authority.substr(close + 1);
    if (!after.empty() && !after.starts_with(':')) {
      split.error = HostPort::Error::kTextAfterBracket;
      return split;
    }
    if (!after.empty()) split.port = after.substr(1);
    split.host = authority.substr(1, close - 1);
  } else if (const size_t colon = authority.rfind(':'); colon != std::string::npos) {
    split.port = authority.substr(colon + 1);
    split.host.resize(colon);
  }
  return split;
}

UrlCheck Refuse(std::string error) {
  UrlCheck check;
  check.error = std::move(error);
  return check;
}

}  // namespace

UrlCheck NormalizeApiUrl(std::string_view url_text) {
  const std::string url(url_text);
  const std::string quoted = "api.url " + Quoted(url);
  const std::string lower = AsciiLower(url);
  const bool https = lower.starts_with("https://");
  const bool http = lower.starts_with("http://");
  if (!https && !http) {
    return Refuse(quoted +
                  " must start with https:// (or http:// for tests and local proxies); write "
                  "e.g. https://esimfly.net");
  }
  std::string rest = url.substr(https ? 8 : 7);
  const std::string authority = rest.substr(0, rest.find('/'));
  // Checked before anything echoes the URL: a password must not end up in a log.
  if (authority.find('@') != std::string::npos) {
    return Refuse(
        "api.url must not contain a user name or password (user@host); the API signs requests "
        "with api.access_code and the secret key instead");
  }
  if (HasSpaceOrControl(url)) return Refuse(quoted + " contains whitespace; remove it");
  if (rest.find_first_of("?#") != std::string::npos) {
    return Refuse(quoted +
                  " must not contain a query or fragment (? or #); give only the base URL, e.g. "
                  "https://esimfly.net");
  }
  const HostPort split = SplitHostPort(authority);
  if (split.error == HostPort::Error::kUnclosedBracket) {
    return Refuse(quoted + " has an unclosed \"[\"; write an IPv6 address as [::1]");
  }
  if (split.error == HostPort::Error::kTextAfterBracket) {
    return Refuse(quoted + " has text after the \"]\"; write [ADDRESS]:PORT");
  }
  if (split.host.empty())
    return Refuse(quoted + " has no host name; write e.g. https://esimfly.net");
  if (split.port && !IsValidPort(*split.port)) {
    return Refuse(quoted + " has an invalid port " + Quoted(*split.port) +
                  "; write a number from 1 to 65535 after the colon, or no colon");
  }
  while (rest.ends_with('/')) rest.pop_back();
  UrlCheck check;
  check.url = (https ? "https://" : "http://") + rest;
  check.plain_http = http;
  return check;
}

// The vendor delivers to HTTPS URLs only, and the URL is compared as a string with the key's
// subscription: anything the vendor would refuse, or that could never compare equal, fails.
UrlCheck CheckPublicUrl(std::string_view url_text) {
  const std::string url(url_text);
  const std::string quoted = "webhook.public_url " + Quoted(url);
  const std::string example = "write e.g. https://esim.example.com/webhook";
  // Checked before anything echoes the URL: a password must not end up in a log.
  const size_t scheme_end = url.find("://");
  const std::string rest = scheme_end == std::string::npos ? url : url.substr(scheme_end + 3);
  const std::string authority = rest.substr(0, rest.find_first_of("/?#"));
  if (authority.find('@') != std::string::npos) {
    return Refuse(
        "webhook.public_url must not contain a user name or password (user@host); deliveries "
        "are authenticated by their signature");
  }
  if (!AsciiLower(url).starts_with("https://")) {
    return Refuse(quoted + " must start with https:// (the vendor delivers to HTTPS URLs only); " +
                  example);
  }
  if (HasSpaceOrControl(url)) return Refuse(quoted + " contains whitespace; remove it");
  if (url.find('#') != std::string::npos) {
    return Refuse(quoted + " must not contain a fragment (#); " + example);
  }
  const HostPort split = SplitHostPort(authority);
  if (split.error != HostPort::Error::kNone) {
    return Refuse(quoted + " has a malformed IPv6 address; " + example);
  }
  if (split.host.empty()) return Refuse(quoted + " has no host name; " + example);
  if (split.port && !IsValidPort(*split.port)) {
    return Refuse(quoted +
                  " has an invalid port; write a number from 1 to 65535 after the colon, or no "
                  "colon");
  }
  if (url.size() > kMaxPublicUrlLength) {
    return Refuse("webhook.public_url is longer than 2048 characters; use a shorter URL");
  }
  UrlCheck check;
  check.url = url;
  return check;
}

}  // namespace esim
