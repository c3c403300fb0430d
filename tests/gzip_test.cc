#include "gzip.h"

#include <gtest/gtest.h>

#include <random>
#include <stdexcept>
#include <string>

#include "gunzip.h"

namespace esim {
namespace {

using esim_test::Gunzip;

TEST(GzipTest, RoundTripsEmptySmallAndMultiChunkInputs) {
  std::mt19937 random(7);
  std::string large;  // exposition-like and partly random, several 128 KiB output chunks
  for (int i = 0; i < 200000; ++i) {
    large += "esim_data_used_bytes{iccid=\"89480100100367" + std::to_string(random()) + "\"} " +
             std::to_string(random() % 100000) + "\n";
  }
  for (const std::string& input : {std::string(), std::string("esim_up 1\n"), large}) {
    const std::string compressed = GzipCompress(input);
    ASSERT_GE(compressed.size(), 18u);  // 10-byte header, 8-byte trailer
    EXPECT_EQ(static_cast<unsigned char>(compressed[0]), 0x1f);
    EXPECT_EQ(static_cast<unsigned char>(compressed[1]), 0x8b);
    EXPECT_EQ(Gunzip(compressed), input);
  }
  EXPECT_LT(GzipCompress(large).size(), large.size() / 2);
}

TEST(GzipTest, AStreamOfPiecesIsOneMemberOfTheirConcatenation) {
  std::string input, compressed;
  GzipStream stream;
  for (int i = 0; i < 5000; ++i) {
    const std::string piece = "esim_poll_success{iccid=\"" + std::to_string(i) + "\"} 1\n";
    input += piece;
    stream.Compress(piece, /*finish=*/false, compressed);
  }
  stream.Compress("", /*finish=*/true, compressed);
  EXPECT_EQ(Gunzip(compressed), input);
  EXPECT_THROW(stream.Compress("more", false, compressed), std::logic_error);
}

TEST(GzipTest, AcceptEncodingFollowsTheCodingsAndTheirWeights) {
  EXPECT_TRUE(AcceptsGzip("gzip"));
  EXPECT_TRUE(AcceptsGzip("GZIP"));
  EXPECT_TRUE(AcceptsGzip("x-gzip"));
  EXPECT_TRUE(AcceptsGzip("deflate, gzip;q=0.5, br"));
  EXPECT_TRUE(AcceptsGzip("gzip ; q=1.0"));
  EXPECT_TRUE(AcceptsGzip("identity, *"));
  EXPECT_TRUE(AcceptsGzip("gzip;level=9"));
  EXPECT_FALSE(AcceptsGzip(""));
  EXPECT_FALSE(AcceptsGzip("identity"));
  EXPECT_FALSE(AcceptsGzip("deflate, br"));
  EXPECT_FALSE(AcceptsGzip("gzip;q=0"));
  EXPECT_FALSE(AcceptsGzip("gzip;q=0.000"));
  EXPECT_FALSE(AcceptsGzip("gzip;q=0, *"));  // naming gzip overrides the wildcard
  EXPECT_FALSE(AcceptsGzip("*;q=0"));
  EXPECT_FALSE(AcceptsGzip("gzip;q=zero"));  // a malformed weight does not accept
  EXPECT_FALSE(AcceptsGzip("gzipper"));
}

}  // namespace
}  // namespace esim
