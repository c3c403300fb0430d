// Inflates a whole gzip member with zlib (an implementation independent of the compressor the
// exporter uses), for tests of gzip answers.
#pragma once

#include <string>

namespace esim_test {

// The member's content; throws std::runtime_error when `compressed` is not exactly one complete
// gzip member.
std::string Gunzip(const std::string& compressed);

}  // namespace esim_test
