// Reading a small local file the operator names (the config, the web config, secret and PEM
// files) without the ways a wrong path can hurt: a FIFO or a device never blocks the reader,
// /dev/zero or a log file is never slurped past a cap, and the kind of file is judged from the
// opened descriptor, so a path swapped between the check and the read changes nothing.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <optional>
#include <string>

namespace esim {

struct LocalFile {
  std::string content;
  mode_t mode = 0;  // st_mode of the file read, e.g. for a permission warning
};

// Reads the regular file at `path` (symlinks followed), at most `max_bytes` of it. On failure
// returns nullopt and sets `error` to the reason, e.g. "not a regular file but a FIFO (named
// pipe)", "larger than 1048576 bytes" or an errno text. The reason never holds the file's content
// nor its path: callers name the file in their own words ("api.ca_file \"x\": cannot read: ...").
std::optional<LocalFile> ReadLocalFile(const std::string& path, size_t max_bytes,
                                       std::string& error);

}  // namespace esim
