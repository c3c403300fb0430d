// The config's two URLs, checked as text: api.url (normalised) and webhook.public_url (kept as
// written, since it is compared with the key's subscription). Pure: the loader adds FILE:LINE:COL.
// No message ever echoes a URL holding a user name or password.
#pragma once

#include <string>
#include <string_view>

namespace esim {

struct UrlCheck {
  std::string url;          // when `error` is empty: the URL to use
  std::string error;        // the whole message ("api.url \"x\" ...; fix"), empty when valid
  bool plain_http = false;  // api.url uses http://, allowed with a warning
};

// api.url: http(s)://HOST[:PORT][/PATH], no user, query or fragment. The scheme's letters are
// lowered, trailing slashes are removed.
UrlCheck NormalizeApiUrl(std::string_view url);

// The warning for an api.url with plain http://.
extern const char kPlainHttpApiUrlWarning[];

// webhook.public_url: https://HOST[:PORT][/PATH][?QUERY], no user or fragment, at most 2048
// characters; returned unchanged.
UrlCheck CheckPublicUrl(std::string_view url);

}  // namespace esim
