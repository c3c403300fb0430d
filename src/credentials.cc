#include "credentials.h"

#include <sys/stat.h>

#include <cstdio>
#include <optional>

#include "local_file.h"
#include "yaml_reader.h"

namespace esim {

const CredentialKeys kAccessCodeKeys = {
    .key = "api.access_code",
    .file_key = "api.access_code_file",
    .env = "ESIMFLY_ACCESS_CODE",
    .systemd_name = "",
    .empty_fix = "give the API access code",
    .inline_warning = "",
    .printable_inline = true,
    .missing =
        "no API access code given; set api.access_code or api.access_code_file, or the "
        "environment variable ESIMFLY_ACCESS_CODE",
};

const CredentialKeys kSecretKeyKeys = {
    .key = "api.secret_key",
    .file_key = "api.secret_key_file",
    .env = "ESIMFLY_SECRET_KEY",
    .systemd_name = "esimfly_secret_key",
    .empty_fix = "put the secret key in a file named by api.secret_key_file",
    .inline_warning =
        "api.secret_key is written in the config, which is discouraged: whoever can "
        "read the config can use the key; move it to a file named by "
        "api.secret_key_file",
    .printable_inline = true,
    .missing =
        "no API secret key given; set api.secret_key_file (recommended) or api.secret_key, "
        "the environment variable ESIMFLY_SECRET_KEY, or the systemd credential "
        "esimfly_secret_key (LoadCredential=)",
};

// The webhook secret is an HMAC key, not sent anywhere: only its file is checked for stray
// whitespace (as it always was).
const CredentialKeys kWebhookSecretKeys = {
    .key = "webhook.secret",
    .file_key = "webhook.secret_file",
    .env = "ESIMFLY_WEBHOOK_SECRET",
    .systemd_name = "esimfly_webhook_secret",
    .empty_fix = "put the webhook secret in a file named by webhook.secret_file",
    .inline_warning =
        "webhook.secret is written in the config, which is discouraged: whoever can "
        "read the config can forge deliveries; move it to a file named by "
        "webhook.secret_file",
    .printable_inline = false,
    .missing =
        "no webhook secret given; set webhook.secret_file (recommended) or webhook.secret, "
        "the environment variable ESIMFLY_WEBHOOK_SECRET, or the systemd credential "
        "esimfly_webhook_secret (the secret is shown once by the vendor when the "
        "subscription is set)",
};

namespace {

constexpr char kCredentialsDirectoryEnv[] = "CREDENTIALS_DIRECTORY";
// A mistyped path (a log file, /dev/zero) is never slurped whole.
constexpr size_t kMaxSecretFileSize = 64 << 10;

// API credentials are printable ASCII without spaces; a stray blank, tab or line break (from an
// editor or `echo`) would be signed or sent in a header and refused by the API. The message never
// shows the value.
void RequirePrintable(const std::string& value, const std::string& what, const YAML::Mark& mark) {
  for (size_t i = 0; i < value.size(); ++i) {
    const auto c = static_cast<unsigned char>(value[i]);
    if (c <= 0x20 || c == 0x7f) {
      throw CredentialError(
          mark, what + " holds whitespace or a control character at position " +
                    std::to_string(i + 1) +
                    "; API credentials never do: remove the stray space, tab or line break");
    }
  }
}

// Reads a credential file; `what` names its source in messages (never its content).
std::string ReadCredentialFile(const std::string& path, const std::string& what,
                               const YAML::Mark& mark) {
  std::string error;
  const std::optional<LocalFile> file = ReadLocalFile(path, kMaxSecretFileSize, error);
  if (!file) {
    throw CredentialError(mark, what + " " + Quoted(path) + ": cannot read: " + error +
                                    "; check the path and that the exporter's user may read it");
  }
  std::string value = StripOneNewline(file->content);
  if (value.empty()) {
    throw CredentialError(mark, what + " " + Quoted(path) + " is empty; write the value into it");
  }
  RequirePrintable(value, what + " " + Quoted(path) + " (after removing one final newline)", mark);
  return value;
}

std::optional<std::string> NonEmptyEnv(const EnvLookup& env, const std::string& name) {
  std::optional<std::string> value = env(name);
  if (value && value->empty()) return std::nullopt;
  return value;
}

// An inline secret is only as private as the config file: when group or others may read the
// file, they may read the secret too, so the warning says so and how to fix it.
std::string InlineSecretWarning(std::string_view warning, const CredentialContext& context) {
  if ((context.config_mode & (S_IRGRP | S_IROTH)) == 0) return std::string(warning);
  char mode[8];
  std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(context.config_mode & 07777));
  return std::string(warning) + "; the config is readable by group or others (mode " + mode +
         "), so they can read the secret: until it moves, restrict the config with chmod 600 " +
         Quoted(context.config_path);
}

// The credential read from `path`; a secret's file is remembered for its permission check.
ResolvedCredential FromFile(const CredentialKeys& keys, const std::string& path,
                            const std::string& what, const YAML::Mark& mark) {
  ResolvedCredential resolved;
  resolved.value = ReadCredentialFile(path, what, mark);
  if (!keys.inline_warning.empty()) {
    resolved.file = path;
    resolved.file_what = {mark, what};
  }
  return resolved;
}

// systemd's LoadCredential= puts the credential in a private directory named by a variable.
std::optional<ResolvedCredential> FromSystemd(const CredentialKeys& keys,
                                              const GivenCredential& given,
                                              const CredentialContext& context) {
  if (keys.systemd_name.empty()) return std::nullopt;
  const std::optional<std::string> directory = NonEmptyEnv(context.env, kCredentialsDirectoryEnv);
  if (!directory) return std::nullopt;
  const std::string path = *directory + "/" + std::string(keys.systemd_name);
  struct stat info;
  if (::stat(path.c_str(), &info) != 0) return std::nullopt;
  return FromFile(keys, path, "the systemd credential " + std::string(keys.systemd_name),
                  given.section);
}

}  // namespace

std::string StripOneNewline(std::string text) {
  if (text.ends_with("\r\n")) {
    text.resize(text.size() - 2);
  } else if (text.ends_with('\n')) {
    text.pop_back();
  }
  return text;
}

ResolvedCredential ResolveCredential(const CredentialKeys& keys, const GivenCredential& given,
                                     const CredentialContext& context) {
  const std::string key(keys.key);
  if (given.inline_value.present) {
    const GivenValue& inline_value = given.inline_value;
    if (inline_value.text.empty()) {
      throw CredentialError(inline_value.value, key + " is empty; " + std::string(keys.empty_fix));
    }
    if (keys.printable_inline) RequirePrintable(inline_value.text, key, inline_value.value);
    ResolvedCredential resolved;
    resolved.value = inline_value.text;
    if (!keys.inline_warning.empty()) {
      resolved.warnings.push_back(
          {inline_value.key, InlineSecretWarning(keys.inline_warning, context)});
    }
    return resolved;
  }
  if (given.file.present) {
    return FromFile(keys, context.resolve_path(given.file.text), std::string(keys.file_key),
                    given.file.value);
  }
  const std::string env(keys.env);
  if (std::optional<std::string> from_env = NonEmptyEnv(context.env, env)) {
    if (keys.printable_inline) {
      RequirePrintable(*from_env, "the environment variable " + env, given.section);
    }
    ResolvedCredential resolved;
    resolved.value = std::move(*from_env);
    return resolved;
  }
  if (std::optional<ResolvedCredential> resolved = FromSystemd(keys, given, context)) {
    return std::move(*resolved);
  }
  throw CredentialError(given.section, std::string(keys.missing));
}

}  // namespace esim
