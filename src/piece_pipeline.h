// A bounded hand-over of text pieces from the thread that renders a page to the thread that
// compresses and sends it, so that on two cores rendering the next piece overlaps writing the
// previous one (a 50,000-eSIM /metrics page is ~110 MB: rendering it and sending it each take
// tens of milliseconds). At most `depth` pieces wait; their buffers are reused. Thread safe for
// one producer and one consumer.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace esim {

class PiecePipeline {
 public:
  explicit PiecePipeline(size_t depth) : depth_(depth < 1 ? 1 : depth) {}
  PiecePipeline(const PiecePipeline&) = delete;
  PiecePipeline& operator=(const PiecePipeline&) = delete;

  // Producer: queues a copy of `piece` with `head_room` bytes before it and `tail_room` after it
  // (their contents unspecified: room for the consumer to frame the piece in place), waiting
  // while `depth` pieces wait already. False once the consumer has stopped (the piece is dropped).
  bool Put(std::string_view piece, size_t head_room = 0, size_t tail_room = 0);
  // Producer: no piece follows.
  void Close();

  // Consumer: gives `piece`'s buffer back and moves the next piece into it, waiting for one.
  // False once the producer has closed and every piece was taken.
  bool Take(std::string& piece);
  // Consumer: takes nothing more; the producer's Put returns false from now on.
  void Stop();

 private:
  const size_t depth_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<std::string> waiting_;
  std::vector<std::string> spare_;
  bool closed_ = false;
  bool stopped_ = false;
};

}  // namespace esim
