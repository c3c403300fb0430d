#!/usr/bin/env bash
# Installs the Debian 12 packages esim_exporter needs, only when some are missing.
#   scripts/install-deps.sh          build + demo
#   scripts/install-deps.sh --test   also everything the test suite, the sanitizer and the fuzz
#                                    runs use (promtool, clang, ...)
set -euo pipefail

# cpp-httplib is vendored (third_party/cpp-httplib), not Debian's libcpp-httplib-dev (0.11.4).
packages=(build-essential cmake ninja-build pkg-config ccache git curl ca-certificates openssl
  libssl-dev libyaml-cpp-dev nlohmann-json3-dev prometheus-cpp-dev
  zlib1g-dev libisal-dev libsystemd-dev libcrypt-dev libgtest-dev libgmock-dev)
if [[ "${1:-}" == "--test" ]]; then
  packages+=(prometheus prometheus-alertmanager python3 python3-yaml systemd clang-format
    clang-tidy)
  # tests/browser: the landing page rendered by a real browser, headless.
  packages+=(chromium)
  # scripts/fuzz.sh: clang with libFuzzer and its sanitizer runtimes, llvm-symbolizer for
  # readable reports (scripts/sanitizers.sh uses GCC's, which build-essential brings).
  packages+=(clang libclang-rt-14-dev llvm)
fi

missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" ||
    missing+=("$package")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

echo "Installing missing Debian packages: ${missing[*]}"
sudo=()
[[ $(id -u) -ne 0 ]] && sudo=(sudo)
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
# Installing the prometheus packages must not start their services (ports 9090, 9093) on a
# developer's machine: the tests start their own. policy-rc.d tells Debian not to start any.
policy=/usr/sbin/policy-rc.d
if [[ ! -e $policy ]]; then
  printf '#!/bin/sh\nexit 101\n' | "${sudo[@]}" tee "$policy" >/dev/null
  "${sudo[@]}" chmod +x "$policy"
  trap '"${sudo[@]}" rm -f "$policy"' EXIT
fi
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
