#!/usr/bin/env bash
# Static checks of our own C++ (third_party/ is upstream's and left as it is):
#   1. clang-format --dry-run -Werror over src/ and tests/ (.clang-format: Google, 100 columns);
#   2. clang-tidy over src/ with .clang-tidy (bugprone, performance, a cognitive-complexity bound),
#      every finding an error. Needs the dev build's compile_commands.json (scripts/test.sh makes it).
#
#   scripts/lint.sh              both
#   scripts/lint.sh format       only the formatting check (seconds)
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh --test

mapfile -t sources < <(git ls-files 'src/*.cc' 'src/*.h' 'tests/*.cc' 'tests/*.h')
echo "lint: clang-format on ${#sources[@]} files"
clang-format --dry-run -Werror "${sources[@]}"
[[ ${1:-all} == format ]] && exit 0

[[ -f build/dev/compile_commands.json ]] || cmake --preset dev >/dev/null
start=$(date +%s)
echo "lint: clang-tidy on src/"
# Only the files of src/ (the header filter in .clang-tidy covers src/*.h through them).
run-clang-tidy -p build/dev -j "$(nproc)" -quiet "$PWD/src/.*\.cc\$" >build/dev/clang-tidy.log 2>&1 ||
  {
    grep -E "(error|warning):" build/dev/clang-tidy.log | sort -u >&2
    echo "lint: clang-tidy found problems (full output: build/dev/clang-tidy.log)" >&2
    exit 1
  }
echo "lint: clean (clang-tidy took $(($(date +%s) - start))s)"
