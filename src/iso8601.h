// Parsing of the API's ISO 8601 / RFC 3339 timestamps ("2026-06-26T14:34:40.000Z").
#pragma once

#include <optional>
#include <string_view>

namespace esim {

// Unix seconds (fraction kept) for "YYYY-MM-DDTHH:MM:SS[.fff][Z|+hh:mm|-hh:mm]"; a missing
// zone is read as UTC. nullopt when malformed or out of range.
std::optional<double> ParseIso8601(std::string_view text);

}  // namespace esim

namespace esim {
// Unix seconds of an HTTP-date ("Wed, 21 Oct 2015 07:28:00 GMT", RFC 9110 IMF-fixdate).
std::optional<double> ParseHttpDate(std::string_view text);
}  // namespace esim
