#include "credentials.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <string>

#include "temp_dir.h"

namespace esim {
namespace {

using esim_test::TempDir;

EnvLookup FakeEnv(std::map<std::string, std::string> vars) {
  return [vars = std::move(vars)](const std::string& name) -> std::optional<std::string> {
    const auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

class ResolveCredentialTest : public ::testing::Test {
 protected:
  std::string Write(const std::string& name, const std::string& content,
                    std::filesystem::perms mode = std::filesystem::perms::owner_read |
                                                  std::filesystem::perms::owner_write) {
    return temp_.Write(name, content, mode);
  }

  ResolvedCredential Resolve(const CredentialKeys& keys, const EnvLookup& env,
                             mode_t config_mode = 0600) {
    const CredentialContext context{env, config_mode, "/etc/esim/config.yml",
                                    [this](const std::string& p) { return dir_ + "/" + p; }};
    return ResolveCredential(keys, {inline_, file_, section_}, context);
  }

  // The message of the CredentialError `keys` fails with, and where it points.
  std::string Error(const CredentialKeys& keys, const EnvLookup& env, YAML::Mark* mark = nullptr) {
    try {
      Resolve(keys, env);
    } catch (const CredentialError& error) {
      if (mark != nullptr) *mark = error.mark();
      return error.what();
    }
    return "(no error)";
  }

  static GivenValue Given(const std::string& text, int line) {
    GivenValue given;
    given.present = true;
    given.key.line = line;
    given.value.line = line;
    given.value.column = 10;
    given.text = text;
    return given;
  }

  TempDir temp_;
  const std::string dir_ = temp_.path();
  GivenValue inline_;
  GivenValue file_;
  YAML::Mark section_;
};

TEST_F(ResolveCredentialTest, InlineThenFileThenEnvironmentThenSystemd) {
  const std::string credentials = dir_ + "/creds";
  std::filesystem::create_directory(credentials);
  Write("creds/esimfly_secret_key", "from-systemd\n");
  Write("secret", "from-file\n");
  const EnvLookup env =
      FakeEnv({{"ESIMFLY_SECRET_KEY", "from-env"}, {"CREDENTIALS_DIRECTORY", credentials}});
  const EnvLookup systemd_only = FakeEnv({{"CREDENTIALS_DIRECTORY", credentials}});

  EXPECT_EQ(Resolve(kSecretKeyKeys, systemd_only).value, "from-systemd");
  EXPECT_EQ(Resolve(kSecretKeyKeys, systemd_only).file, credentials + "/esimfly_secret_key");
  EXPECT_EQ(Resolve(kSecretKeyKeys, env).value, "from-env");
  EXPECT_EQ(Resolve(kSecretKeyKeys, env).file, "");
  file_ = Given("secret", 3);
  EXPECT_EQ(Resolve(kSecretKeyKeys, env).value, "from-file");
  EXPECT_EQ(Resolve(kSecretKeyKeys, env).file, dir_ + "/secret");
  EXPECT_EQ(Resolve(kSecretKeyKeys, env).file_what.text, "api.secret_key_file");
  file_ = {};
  inline_ = Given("inline", 2);
  const ResolvedCredential resolved = Resolve(kSecretKeyKeys, env);
  EXPECT_EQ(resolved.value, "inline");
  EXPECT_EQ(resolved.file, "");
  ASSERT_EQ(resolved.warnings.size(), 1u);
  EXPECT_EQ(resolved.warnings[0].mark.line, 2);
}

TEST_F(ResolveCredentialTest, AccessCodeIsNoSecret) {
  inline_ = Given("code", 2);
  EXPECT_TRUE(Resolve(kAccessCodeKeys, FakeEnv({})).warnings.empty());
  inline_ = {};
  Write("code", "code-from-file",
        std::filesystem::perms::owner_read | std::filesystem::perms::group_read);
  file_ = Given("code", 3);
  const ResolvedCredential resolved = Resolve(kAccessCodeKeys, FakeEnv({}));
  EXPECT_EQ(resolved.value, "code-from-file");
  EXPECT_EQ(resolved.file, "");  // no permission check for the access code
}

TEST_F(ResolveCredentialTest, InlineSecretInAReadableConfigSaysHowToFixIt) {
  inline_ = Given("whsec_x", 4);
  const ResolvedCredential resolved = Resolve(kWebhookSecretKeys, FakeEnv({}), 0644);
  ASSERT_EQ(resolved.warnings.size(), 1u);
  EXPECT_EQ(resolved.warnings[0].text,
            "webhook.secret is written in the config, which is discouraged: whoever can read the "
            "config can forge deliveries; move it to a file named by webhook.secret_file; the "
            "config is readable by group or others (mode 0644), so they can read the secret: "
            "until it moves, restrict the config with chmod 600 \"/etc/esim/config.yml\"");
}

TEST_F(ResolveCredentialTest, MissingAndEmptyValuesFail) {
  section_.line = 7;
  YAML::Mark mark;
  EXPECT_EQ(Error(kAccessCodeKeys, FakeEnv({{"ESIMFLY_ACCESS_CODE", ""}}), &mark),
            "no API access code given; set api.access_code or api.access_code_file, or the "
            "environment variable ESIMFLY_ACCESS_CODE");
  EXPECT_EQ(mark.line, 7);
  // The access code is not looked for among systemd credentials.
  EXPECT_EQ(Error(kAccessCodeKeys, FakeEnv({{"CREDENTIALS_DIRECTORY", dir_}})).substr(0, 28),
            "no API access code given; se");
  inline_ = Given("", 2);
  EXPECT_EQ(Error(kSecretKeyKeys, FakeEnv({}), &mark),
            "api.secret_key is empty; put the secret key in a file named by api.secret_key_file");
  EXPECT_EQ(mark.line, 2);
  inline_ = {};
  Write("empty", "\n");
  file_ = Given("empty", 5);
  EXPECT_EQ(Error(kWebhookSecretKeys, FakeEnv({}), &mark),
            "webhook.secret_file \"" + dir_ + "/empty\" is empty; write the value into it");
  EXPECT_EQ(mark.line, 5);
}

TEST_F(ResolveCredentialTest, WhitespaceIsRefusedWhereItAlwaysWas) {
  const EnvLookup env =
      FakeEnv({{"ESIMFLY_SECRET_KEY", "a b"}, {"ESIMFLY_WEBHOOK_SECRET", "whsec a"}});
  EXPECT_EQ(Error(kSecretKeyKeys, env),
            "the environment variable ESIMFLY_SECRET_KEY holds whitespace or a control character "
            "at position 2; API credentials never do: remove the stray space, tab or line break");
  // The webhook secret is checked in its file only.
  EXPECT_EQ(Resolve(kWebhookSecretKeys, env).value, "whsec a");
  Write("secret", "whsec\tx\n");
  file_ = Given("secret", 3);
  EXPECT_EQ(Error(kWebhookSecretKeys, env),
            "webhook.secret_file \"" + dir_ +
                "/secret\" (after removing one final newline) holds whitespace or a control "
                "character at position 6; API credentials never do: remove the stray space, tab "
                "or line break");
}

TEST(StripOneNewlineTest, OnlyOne) {
  EXPECT_EQ(StripOneNewline("key\n"), "key");
  EXPECT_EQ(StripOneNewline("key\r\n"), "key");
  EXPECT_EQ(StripOneNewline("key\n\n"), "key\n");
  EXPECT_EQ(StripOneNewline("key "), "key ");
  EXPECT_EQ(StripOneNewline(""), "");
}

}  // namespace
}  // namespace esim
