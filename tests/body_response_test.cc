#include "body_response.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cstring>
#include <stdexcept>
#include <string>
#include <system_error>
#include <thread>

#include "gunzip.h"

namespace esim {
namespace {

using esim_test::Gunzip;

// A page of `pieces` pieces of ~8 KB, each different, as the renderer would hand them over.
std::string PieceText(int index) {
  std::string text;
  for (int line = 0; line < 100; ++line) {
    text += "esim_data_used_bytes{iccid=\"8988303" + std::to_string(index * 100 + line) + "\"} " +
            std::to_string(line * 12345) + "\n";
  }
  return text;
}

PageWriter PageOf(int pieces, std::atomic<int>* written = nullptr) {
  return [pieces, written](const std::function<void(std::string_view)>& write) {
    for (int i = 0; i < pieces; ++i) {
      write(PieceText(i));
      if (written) ++*written;
    }
  };
}

// The text of `piece`, after writing over the room around it as a sender framing it in place
// does: room that overlapped the text would corrupt the page the tests compare, room before the
// buffer would stop the ASan build (a missing tail room inside the string's capacity is not
// caught here: PiecePipelineTest checks that the room is part of each piece).
std::string_view Received(OutgoingPiece piece) {
  std::memset(piece.text - OutgoingPiece::kHeadRoom, '#', OutgoingPiece::kHeadRoom);
  std::memset(piece.text + piece.size, '#', OutgoingPiece::kTailRoom);
  return {piece.text, piece.size};
}

std::string WholePage(int pieces) {
  std::string text;
  for (int i = 0; i < pieces; ++i) text += PieceText(i);
  return text;
}

TEST(BodyResponseTest, APageArrivesWholePlainAndGzipped) {
  for (const bool gzip : {false, true}) {
    std::string received;
    const bool complete = StreamPage(PageOf(300), gzip, [&](OutgoingPiece piece) {
      received.append(Received(piece));
      return true;
    });
    EXPECT_TRUE(complete);
    EXPECT_EQ(gzip ? Gunzip(received) : received, WholePage(300)) << "gzip " << gzip;
  }
}

TEST(BodyResponseTest, ThePageIsSentFromAThreadOfItsOwn) {
  std::thread::id rendered_on, sent_from;
  const PageWriter page = [&](const std::function<void(std::string_view)>& write) {
    rendered_on = std::this_thread::get_id();
    write("up 1\n");
  };
  std::string received;
  EXPECT_TRUE(StreamPage(page, false, [&](OutgoingPiece piece) {
    sent_from = std::this_thread::get_id();
    received.append(Received(piece));
    return true;
  }));
  EXPECT_EQ(received, "up 1\n");
  EXPECT_EQ(rendered_on, std::this_thread::get_id());
  EXPECT_NE(sent_from, std::this_thread::get_id());
}

TEST(BodyResponseTest, WithoutAThreadToSpareThePageIsSentFromTheCallingThread) {
  const PageWriter page = PageOf(50);
  const ThreadFactory no_threads = [](std::function<void()>) -> std::thread {
    throw std::system_error(std::make_error_code(std::errc::resource_unavailable_try_again));
  };
  for (const bool gzip : {false, true}) {
    std::thread::id sent_from;
    std::string received;
    EXPECT_TRUE(StreamPage(
        page, gzip,
        [&](OutgoingPiece piece) {
          sent_from = std::this_thread::get_id();
          received.append(Received(piece));
          return true;
        },
        no_threads));
    EXPECT_EQ(gzip ? Gunzip(received) : received, WholePage(50)) << "gzip " << gzip;
    EXPECT_EQ(sent_from, std::this_thread::get_id());
  }
}

TEST(BodyResponseTest, AClientThatGoesStopsTheRendering) {
  std::atomic<int> written{0};
  int sends = 0;
  const bool complete = StreamPage(PageOf(100000, &written), false, [&](OutgoingPiece) {
    return ++sends < 3;  // the third send finds the client gone
  });
  EXPECT_FALSE(complete);
  EXPECT_EQ(sends, 3);
  // The renderer ran at most a few pieces ahead of the sender, not to the end of the page.
  EXPECT_LT(written.load(), 20);
}

TEST(BodyResponseTest, APageThatThrowsIsCutShortWithoutAnEnd) {
  const PageWriter page = [](const std::function<void(std::string_view)>& write) {
    PageOf(20)(write);
    throw std::runtime_error("renderer failed");
  };
  for (const bool gzip : {false, true}) {
    std::string received;
    const bool complete = StreamPage(page, gzip, [&](OutgoingPiece piece) {
      received.append(Received(piece));
      return true;
    });
    EXPECT_FALSE(complete);
    if (gzip) {
      // What was sent is no complete gzip member: the client cannot take it for a whole page.
      EXPECT_THROW(Gunzip(received), std::runtime_error);
    } else {
      EXPECT_EQ(received, WholePage(20));
    }
  }
}

TEST(BodyResponseTest, APageThatThrowsAnythingElseIsCutShortToo) {
  const PageWriter page = [](const std::function<void(std::string_view)>& write) {
    PageOf(3)(write);
    throw 42;  // not a std::exception: still no escape with the sending thread running
  };
  std::string received;
  EXPECT_FALSE(StreamPage(page, false, [&](OutgoingPiece piece) {
    received.append(Received(piece));
    return true;
  }));
  EXPECT_EQ(received, WholePage(3));
}

}  // namespace
}  // namespace esim
