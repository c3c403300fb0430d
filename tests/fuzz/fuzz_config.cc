// libFuzzer target for the config loader: the input is written to a file and loaded with an
// empty environment. A ConfigError is the expected answer to a bad config; any other exception,
// a crash, a hang or a sanitizer report is a bug.
//
// The file lives in a private temporary directory that also holds a `secret_key` file (mode
// 0600) and a `ca.pem`, as tests/testdata/config/valid/full.yml expects, so configs naming them
// get past those checks and on to the rest of the validation.
//
// Run by scripts/fuzz.sh; replay an input: build/fuzz/tests/fuzz/fuzz_config FILE
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>

#include "config.h"

namespace {

struct Scratch {
  std::filesystem::path dir, config;
  Scratch() {
    std::string pattern = (std::filesystem::temp_directory_path() / "fuzz_config.XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr) {
      std::perror("mkdtemp");
      std::abort();
    }
    dir = pattern;
    config = dir / "config.yml";
    const auto secret = dir / "secret_key";
    std::ofstream(secret) << "fuzz-secret-key\n";
    std::filesystem::permissions(
        secret, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
    // The loader only checks that the file holds a PEM certificate block.
    std::ofstream(dir / "ca.pem")
        << "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
  }
  ~Scratch() {
    std::error_code ignored;
    std::filesystem::remove_all(dir, ignored);
  }
};

Scratch& TheScratch() {
  static Scratch scratch;
  return scratch;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const Scratch& scratch = TheScratch();
  {
    std::ofstream out(scratch.config, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
    if (!out) std::abort();
  }
  const esim::EnvLookup no_environment = [](const std::string&) -> std::optional<std::string> {
    return std::nullopt;
  };
  try {
    const esim::Config config = esim::LoadConfig(scratch.config.string(), no_environment);
    volatile size_t sink = config.warnings.size();
    (void)sink;
  } catch (const esim::ConfigError&) {
    // The expected answer to a bad config.
  } catch (const std::exception& e) {
    std::fprintf(stderr, "LoadConfig threw something other than ConfigError: %s\n", e.what());
    std::abort();
  } catch (...) {
    std::fprintf(stderr, "LoadConfig threw a non-std exception\n");
    std::abort();
  }
  return 0;
}
