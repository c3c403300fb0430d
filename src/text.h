// Small text helpers every module shares: ASCII case and classes (no locale: the inputs are
// protocol and config text), strict UTF-8 validation, errno messages.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace esim {

inline char AsciiLower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; }
inline char AsciiUpper(char c) { return c >= 'a' && c <= 'z' ? static_cast<char>(c - 32) : c; }
std::string AsciiLower(std::string_view text);
std::string AsciiUpper(std::string_view text);
bool EqualsIgnoringAsciiCase(std::string_view a, std::string_view b);

// ' ', \t, \n, \r, \v, \f.
inline bool IsAsciiSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}
// `text` without the IsAsciiSpace characters at either end.
std::string_view TrimAsciiSpace(std::string_view text);
// C0 controls and DEL.
inline bool IsAsciiControl(char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; }

// The length in bytes of the valid UTF-8 sequence at text[at], or 0 when there is none there.
// Strict: no overlong forms, no surrogates, nothing above U+10FFFF (what Prometheus accepts).
size_t Utf8SequenceLength(std::string_view text, size_t at);
// The offset of the first byte that is not part of valid UTF-8, or npos.
size_t FirstInvalidUtf8(std::string_view text);
// The number of code points, or nullopt when `text` is not valid UTF-8.
std::optional<size_t> Utf8Length(std::string_view text);
// At most `max_bytes` of `text`, cut at a code point boundary, with "…" when cut.
std::string TruncateUtf8(std::string_view text, size_t max_bytes);

// strerror's text for an errno value, thread safe.
std::string ErrnoText(int error);

}  // namespace esim
