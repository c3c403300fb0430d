// Where a page rendered piece by piece goes (/metrics). The renderer hands over the buffer it
// wrote a piece in, not a view of it to be copied: a page is ~110 MB at 50,000 eSIMs, and each
// copy of it costs a scrape ~10 ms. The buffer keeps room around the piece so that the sender
// frames it in place (an HTTP chunk's size line before it, CRLF after it).
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>

namespace esim {

struct PieceSink {
  // Receives `buffer`: head_room bytes (any), a piece of text, tail_room bytes (any). Leaves in
  // it a buffer of any size and content for the next piece. May throw to stop the page.
  std::function<void(std::string& buffer)> take;
  size_t head_room = 0;
  size_t tail_room = 0;

  // A piece given as text (small pages, tests): copied into a buffer with the room around it.
  void operator()(std::string_view text) const {
    if (text.empty()) return;
    std::string buffer(head_room, '\0');
    buffer += text;
    buffer.append(tail_room, '\0');
    take(buffer);
  }
};

}  // namespace esim
