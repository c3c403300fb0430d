#!/usr/bin/env bash
# Installs what is missing, builds with warnings as errors, and runs every test through ctest:
# unit tests, integration tests against the fake API (HTTP and HTTPS), promtool checks of the
# rules and of live /metrics output, and checks of the deployment files.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh --test
cmake --preset dev
cmake --build build/dev
ctest --preset dev --parallel 2
