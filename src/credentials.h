// Where the config's credentials come from (api.access_code, api.secret_key, webhook.secret):
// inline, a *_file, an environment variable or a systemd credential, tried in that order by
// one resolver that every credential shares. Values are never put in a message.
#pragma once

#include <sys/types.h>
#include <yaml-cpp/yaml.h>

#include <functional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "config.h"

namespace esim {

// A value the config file gives, with where it stands; `present` is false when not given.
struct GivenValue {
  bool present = false;
  YAML::Mark key;
  YAML::Mark value;
  std::string text;
};

// One credential: its keys and variables, and the words its messages use.
struct CredentialKeys {
  std::string_view key;       // the inline value, e.g. "api.secret_key"
  std::string_view file_key;  // the file holding it, e.g. "api.secret_key_file"
  std::string_view env;       // the environment variable, e.g. "ESIMFLY_SECRET_KEY"
  // The name a systemd unit gives it with LoadCredential=NAME:PATH; empty: not looked for.
  std::string_view systemd_name;
  std::string_view empty_fix;  // what "KEY is empty; " goes on with
  // For a secret: the warning an inline value gets (and a file read is checked for group or
  // other read permission). Empty: not a secret.
  std::string_view inline_warning;
  bool printable_inline = true;  // inline and environment values must be printable ASCII too
  std::string_view missing;      // the message when nothing gives the credential
};

// The config's credentials.
extern const CredentialKeys kAccessCodeKeys;
extern const CredentialKeys kSecretKeyKeys;
extern const CredentialKeys kWebhookSecretKeys;

// How the config file gave one credential, and where the file's other values are.
struct GivenCredential {
  const GivenValue& inline_value;
  const GivenValue& file;
  YAML::Mark section;  // the section's key: where messages about the environment point
};

// What resolution needs from around it.
struct CredentialContext {
  const EnvLookup& env;
  mode_t config_mode = 0;   // the config file's st_mode: an inline secret is as private as it
  std::string config_path;  // for the chmod hint
  std::function<std::string(const std::string&)> resolve_path;  // relative to the config
};

// Where a message goes: a FILE:LINE:COL is made of `mark` by the loader.
struct LocatedMessage {
  YAML::Mark mark;
  std::string text;
};

// The first problem with a credential; what() is the message without its position.
class CredentialError : public std::runtime_error {
 public:
  CredentialError(const YAML::Mark& mark, const std::string& message)
      : std::runtime_error(message), mark_(mark) {}
  const YAML::Mark& mark() const { return mark_; }

 private:
  YAML::Mark mark_;
};

struct ResolvedCredential {
  std::string value;
  // The secret's file, read: for its permission check and messages. Empty when inline, from
  // the environment, or not a secret.
  std::string file;
  LocatedMessage file_what;  // how messages name that file, and where they point
  std::vector<LocatedMessage> warnings;
};

// Resolves one credential: inline, else its file, else the environment variable, else the
// systemd credential. Throws CredentialError when none gives a usable value.
ResolvedCredential ResolveCredential(const CredentialKeys& keys, const GivenCredential& given,
                                     const CredentialContext& context);

// Editors and `echo` add a final newline that is not part of the secret; only one is removed so
// that a secret which really ends in whitespace is not silently changed.
std::string StripOneNewline(std::string text);

}  // namespace esim
