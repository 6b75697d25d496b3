// The multipart/form-data parser: well-formed bodies as curl and browsers send them, and every
// framing, header and limit rule that must turn into an error.
#include <gtest/gtest.h>

#include <string>

#include "http/multipart.h"

namespace faceauth {
namespace {

using namespace std::string_literals;

const std::string kType = "multipart/form-data; boundary=------------------------d74496d66958873e";
const std::string kBoundary = "------------------------d74496d66958873e";

std::string dash() { return "--" + kBoundary; }

// One part: delimiter line, headers, empty line, data, and the CRLF that belongs to the next delimiter.
std::string part(const std::string& headers, const std::string& data) {
  return dash() + "\r\n" + headers + "\r\n" + data + "\r\n";
}

std::string field(const std::string& name, const std::string& value) {
  return part("Content-Disposition: form-data; name=\"" + name + "\"\r\n", value);
}

// "f" + std::to_string(i) written without operator+(const char*, string&&), which trips a
// GCC 12 -Wrestrict false positive at -O3.
std::string numbered(std::string prefix, int i) {
  prefix += std::to_string(i);
  return prefix;
}

std::string close() { return dash() + "--\r\n"; }

bool inside(std::string_view view, std::string_view body) {
  return view.data() >= body.data() && view.data() + view.size() <= body.data() + body.size();
}

void expect_error(const MultipartResult& result, MultipartError error) {
  ASSERT_TRUE(result.error.has_value()) << "expected " << multipart_error_name(error);
  EXPECT_EQ(multipart_error_name(*result.error), std::string(multipart_error_name(error))) << result.detail;
  EXPECT_TRUE(result.parts.empty());
  EXPECT_FALSE(result.detail.empty());
}

TEST(Multipart, CurlStyleBodyWithFileAndFields) {
  const std::string image = "\xFF\xD8\xFF\xE0\x00\x10JFIF\x00\r\n--\r\n\xFF\xD9"s;
  const std::string body = field("user_id", "alice") +
                           part(
                               "Content-Disposition: form-data; name=\"image\"; filename=\"face.jpg\"\r\n"
                               "Content-Type: image/jpeg\r\n",
                               image) +
                           field("mode", "verify") + close();
  const MultipartResult result = parse_multipart(kType, body);
  ASSERT_FALSE(result.error) << result.detail;
  ASSERT_EQ(result.parts.size(), 3u);
  EXPECT_EQ(result.parts[0].name, "user_id");
  EXPECT_EQ(result.parts[0].data, "alice");
  EXPECT_FALSE(result.parts[0].filename);
  EXPECT_EQ(result.parts[0].content_type, "");
  EXPECT_EQ(result.parts[1].name, "image");
  ASSERT_TRUE(result.parts[1].filename);
  EXPECT_EQ(*result.parts[1].filename, "face.jpg");
  EXPECT_EQ(result.parts[1].content_type, "image/jpeg");
  EXPECT_EQ(result.parts[1].data, image);
  EXPECT_EQ(result.parts[2].name, "mode");
  EXPECT_EQ(result.parts[2].data, "verify");
  for (const MultipartPart& p : result.parts) EXPECT_TRUE(inside(p.data, body));
}

TEST(Multipart, BoundaryExtraction) {
  EXPECT_EQ(multipart_boundary("multipart/form-data; boundary=abc"), "abc");
  EXPECT_EQ(multipart_boundary("Multipart/Form-Data;boundary=\"a b:c\""), "a b:c");
  EXPECT_EQ(multipart_boundary("multipart/form-data ; charset=utf-8 ;\tBOUNDARY=xyz"), "xyz");
  EXPECT_EQ(multipart_boundary("multipart/form-data; boundary=\"abc \""), std::nullopt);  // ends in space
  EXPECT_EQ(multipart_boundary("multipart/form-data; boundary=\"\""), std::nullopt);
  EXPECT_EQ(multipart_boundary("multipart/form-data; boundary=a!b"), std::nullopt);  // '!' is no bchar
  EXPECT_EQ(multipart_boundary("multipart/form-data; boundary=a; boundary=b"), std::nullopt);
  EXPECT_EQ(multipart_boundary("multipart/form-data; boundary=\"abc"), std::nullopt);
  EXPECT_EQ(multipart_boundary("multipart/form-data"), std::nullopt);
  EXPECT_EQ(multipart_boundary(std::string(70, 'b')), std::nullopt);  // no media type
  EXPECT_EQ(multipart_boundary("multipart/form-data; boundary=" + std::string(70, 'b')), std::string(70, 'b'));
}

TEST(Multipart, QuotedBoundaryInHeader) {
  const std::string boundary = "simple boundary'()+_,-./:=?";
  const std::string body =
      "--" + boundary + "\r\nContent-Disposition: form-data; name=a\r\n\r\nx\r\n--" + boundary + "--";
  const MultipartResult result = parse_multipart("multipart/form-data; boundary=\"" + boundary + "\"", body);
  ASSERT_FALSE(result.error) << result.detail;
  ASSERT_EQ(result.parts.size(), 1u);
  EXPECT_EQ(result.parts[0].name, "a");
  EXPECT_EQ(result.parts[0].data, "x");
}

TEST(Multipart, QuotedNamesWithEscapesAndSemicolons) {
  const std::string body =
      part("content-disposition: form-data; name=\"we\\\"ird;name\"; filename=\"a;b \\\\ \\\"c\\\".png\"\r\n", "1") +
      part("CONTENT-DISPOSITION:form-data;name=token_name\r\n", "2") +
      part("Content-Disposition: form-data; filename*=UTF-8''%e2%82%ac.txt; name=\"euro\"; filename=\"e.txt\"\r\n",
           "3") +
      close();
  const MultipartResult result = parse_multipart(kType, body);
  ASSERT_FALSE(result.error) << result.detail;
  ASSERT_EQ(result.parts.size(), 3u);
  EXPECT_EQ(result.parts[0].name, "we\"ird;name");
  EXPECT_EQ(result.parts[0].filename, "a;b \\ \"c\".png");
  EXPECT_EQ(result.parts[1].name, "token_name");
  EXPECT_EQ(result.parts[2].name, "euro");
  EXPECT_EQ(result.parts[2].filename, "e.txt");
}

TEST(Multipart, PreambleAndEpilogueAreIgnored) {
  const std::string body = "This is the preamble.\r\nStill preamble\r\n" + field("a", "1") + field("b", "2") + dash() +
                           "--\r\nThis is the epilogue, even with " + dash() + "\r\n in it.";
  const MultipartResult result = parse_multipart(kType, body);
  ASSERT_FALSE(result.error) << result.detail;
  ASSERT_EQ(result.parts.size(), 2u);
  EXPECT_EQ(result.parts[0].data, "1");
  EXPECT_EQ(result.parts[1].data, "2");
}

TEST(Multipart, PreambleMustEndWithCrlf) {
  expect_error(parse_multipart(kType, "preamble" + field("a", "1") + close()), MultipartError::malformed);
  expect_error(parse_multipart(kType, "preamble\n" + field("a", "1") + close()), MultipartError::malformed);
}

TEST(Multipart, TransportPaddingAfterDelimiter) {
  const std::string body = dash() + " \t\r\nContent-Disposition: form-data; name=a\r\n\r\n1\r\n" + dash() + "--";
  const MultipartResult result = parse_multipart(kType, body);
  ASSERT_FALSE(result.error) << result.detail;
  ASSERT_EQ(result.parts.size(), 1u);
  EXPECT_EQ(result.parts[0].data, "1");
}

TEST(Multipart, BareLfIsMalformed) {
  const std::string lf_everywhere = dash() + "\nContent-Disposition: form-data; name=\"a\"\n\n1\n" + dash() + "--\n";
  expect_error(parse_multipart(kType, lf_everywhere), MultipartError::malformed);
  const std::string lf_in_headers =
      dash() + "\r\nContent-Disposition: form-data; name=\"a\"\nContent-Type: text/plain\r\n\r\n1\r\n" + close();
  expect_error(parse_multipart(kType, lf_in_headers), MultipartError::malformed);
  const std::string lf_after_headers = dash() + "\r\nContent-Disposition: form-data; name=\"a\"\r\n\n1\r\n" + close();
  expect_error(parse_multipart(kType, lf_after_headers), MultipartError::malformed);
  const std::string bare_cr = dash() + "\r\nContent-Disposition: form-data;\r name=\"a\"\r\n\r\n1\r\n" + close();
  expect_error(parse_multipart(kType, bare_cr), MultipartError::malformed);
}

TEST(Multipart, FoldedHeaderIsMalformed) {
  const std::string body = dash() + "\r\nContent-Disposition: form-data;\r\n name=\"a\"\r\n\r\n1\r\n" + close();
  expect_error(parse_multipart(kType, body), MultipartError::malformed);
}

TEST(Multipart, ContentTypeErrors) {
  const std::string body = field("a", "1") + close();
  expect_error(parse_multipart("multipart/form-data", body), MultipartError::missing_boundary);
  expect_error(parse_multipart("multipart/form-data; charset=utf-8", body), MultipartError::missing_boundary);
  expect_error(parse_multipart("multipart/form-data; boundary=", body), MultipartError::missing_boundary);
  expect_error(parse_multipart("multipart/form-data; boundary=" + std::string(71, 'a'), body),
               MultipartError::missing_boundary);
  expect_error(parse_multipart("application/json", body), MultipartError::not_multipart);
  expect_error(parse_multipart("multipart/mixed; boundary=" + kBoundary, body), MultipartError::not_multipart);
  expect_error(parse_multipart("", body), MultipartError::not_multipart);
  expect_error(parse_multipart("multipart/form-data-x; boundary=" + kBoundary, body), MultipartError::not_multipart);
  const MultipartResult upper = parse_multipart("MULTIPART/Form-Data; Boundary=\"" + kBoundary + "\"", body);
  EXPECT_FALSE(upper.error) << upper.detail;
}

TEST(Multipart, SeventyCharBoundaryIsAccepted) {
  const std::string boundary(70, 'z');
  const std::string body =
      "--" + boundary + "\r\nContent-Disposition: form-data; name=a\r\n\r\nv\r\n--" + boundary + "--\r\n";
  const MultipartResult result = parse_multipart("multipart/form-data; boundary=" + boundary, body);
  ASSERT_FALSE(result.error) << result.detail;
  ASSERT_EQ(result.parts.size(), 1u);
}

TEST(Multipart, DuplicateField) {
  expect_error(parse_multipart(kType, field("a", "1") + field("b", "2") + field("a", "3") + close()),
               MultipartError::duplicate_field);
}

TEST(Multipart, TruncatedBodyIsMalformed) {
  const std::string full = field("a", "1") + field("b", "22222") + close();
  expect_error(parse_multipart(kType, field("a", "1") + field("b", "22222")), MultipartError::malformed);
  // Every strict prefix that drops the close delimiter's "--" is truncated.
  const size_t close_at = full.rfind(dash());
  for (size_t cut = 0; cut < close_at + dash().size() + 2; ++cut) {
    const MultipartResult result = parse_multipart(kType, std::string_view(full).substr(0, cut));
    ASSERT_TRUE(result.error) << "prefix of " << cut << " bytes";
    EXPECT_EQ(*result.error, MultipartError::malformed) << cut;
  }
  expect_error(parse_multipart(kType, ""), MultipartError::malformed);
}

TEST(Multipart, EmptyFilePart) {
  const std::string body =
      part(
          "Content-Disposition: form-data; name=\"image\"; filename=\"\"\r\nContent-Type: application/octet-stream\r\n",
          "") +
      close();
  const MultipartResult result = parse_multipart(kType, body);
  ASSERT_FALSE(result.error) << result.detail;
  ASSERT_EQ(result.parts.size(), 1u);
  EXPECT_TRUE(result.parts[0].data.empty());
  EXPECT_TRUE(inside(result.parts[0].data, body));
  ASSERT_TRUE(result.parts[0].filename);
  EXPECT_EQ(*result.parts[0].filename, "");
  EXPECT_EQ(result.parts[0].content_type, "application/octet-stream");
}

TEST(Multipart, BinaryDataWithCrlfAndDashes) {
  std::string data = "\r\n--\r\n--" + kBoundary.substr(0, 20) + "\r\n\r\n-----\0\r\n\r"s;
  data += "--" + kBoundary;  // the boundary, but not after CRLF
  data += "\r\n-"s + "\x00\xFF\r"s;
  for (int i = 0; i < 256; ++i) data.push_back(static_cast<char>(i));
  const std::string body = part("Content-Disposition: form-data; name=\"blob\"; filename=\"b.bin\"\r\n", data) +
                           field("after", "ok") + close();
  const MultipartResult result = parse_multipart(kType, body);
  ASSERT_FALSE(result.error) << result.detail;
  ASSERT_EQ(result.parts.size(), 2u);
  EXPECT_EQ(result.parts[0].data, data);
  EXPECT_EQ(result.parts[1].data, "ok");
}

TEST(Multipart, DelimiterWithTrailingGarbageIsMalformed) {
  // CRLF--boundary inside data must be a real delimiter; anything else after it is an error.
  const std::string body = part("Content-Disposition: form-data; name=\"a\"\r\n", "x\r\n" + dash() + "X") + close();
  expect_error(parse_multipart(kType, body), MultipartError::malformed);
}

TEST(Multipart, ContentDispositionRules) {
  expect_error(parse_multipart(kType, part("Content-Type: text/plain\r\n", "1") + close()), MultipartError::malformed);
  expect_error(parse_multipart(kType, part("", "1") + close()), MultipartError::malformed);
  expect_error(parse_multipart(kType, part("Content-Disposition: attachment; name=\"a\"\r\n", "1") + close()),
               MultipartError::malformed);
  expect_error(parse_multipart(kType, part("Content-Disposition: form-data\r\n", "1") + close()),
               MultipartError::malformed);
  expect_error(parse_multipart(kType, part("Content-Disposition: form-data; name=\"\"\r\n", "1") + close()),
               MultipartError::malformed);
  expect_error(parse_multipart(kType, part("Content-Disposition: form-data; name=\"a\r\n", "1") + close()),
               MultipartError::malformed);
  expect_error(parse_multipart(kType, part("Content-Disposition: form-data; name=a; name=b\r\n", "1") + close()),
               MultipartError::malformed);
  expect_error(parse_multipart(kType, part("Content-Disposition: form-data; name=\"a\"\r\n"
                                           "Content-Disposition: form-data; name=\"b\"\r\n",
                                           "1") +
                                          close()),
               MultipartError::malformed);
  expect_error(parse_multipart(kType, part("Content-Disposition form-data; name=a\r\n", "1") + close()),
               MultipartError::malformed);
  expect_error(parse_multipart(kType, part("Content-Disposition: form-data; name=a b\r\n", "1") + close()),
               MultipartError::malformed);
}

TEST(Multipart, TooManyParts) {
  MultipartLimits limits;
  limits.max_parts = 3;
  std::string body;
  for (int i = 0; i < 3; ++i) body += field(numbered("f", i), "v");
  const MultipartResult ok = parse_multipart(kType, body + close(), limits);
  ASSERT_FALSE(ok.error) << ok.detail;
  EXPECT_EQ(ok.parts.size(), 3u);
  expect_error(parse_multipart(kType, body + field("f3", "v") + close(), limits), MultipartError::too_many_parts);

  std::string many;
  for (int i = 0; i < 33; ++i) many += field(numbered("f", i), "v");
  expect_error(parse_multipart(kType, many + close()), MultipartError::too_many_parts);
}

TEST(Multipart, HeaderBlockTooLarge) {
  MultipartLimits limits;
  limits.max_part_headers = 128;
  const std::string disposition = "Content-Disposition: form-data; name=\"a\"\r\n";
  const std::string filler = "X-Filler: " + std::string(200, 'f') + "\r\n";
  expect_error(parse_multipart(kType, part(disposition + filler, "1") + close(), limits), MultipartError::malformed);
  // Exactly at the limit (header lines plus the empty line) passes; one byte more does not.
  const size_t pad = 128 - disposition.size() - std::string("X-P: \r\n\r\n").size();
  const std::string at_limit = disposition + "X-P: " + std::string(pad, 'p') + "\r\n";
  const MultipartResult ok = parse_multipart(kType, part(at_limit, "1") + close(), limits);
  EXPECT_FALSE(ok.error) << ok.detail;
  const std::string over = disposition + "X-P: " + std::string(pad + 1, 'p') + "\r\n";
  expect_error(parse_multipart(kType, part(over, "1") + close(), limits), MultipartError::malformed);
  // The default limit (8 KiB) applies too.
  const std::string big = disposition + "X-Big: " + std::string(9000, 'b') + "\r\n";
  expect_error(parse_multipart(kType, part(big, "1") + close()), MultipartError::malformed);
}

TEST(Multipart, ZeroPartsWithOnlyCloseDelimiter) {
  const MultipartResult result = parse_multipart(kType, close());
  ASSERT_FALSE(result.error) << result.detail;
  EXPECT_TRUE(result.parts.empty());
}

TEST(Multipart, ErrorNames) {
  EXPECT_STREQ(multipart_error_name(MultipartError::not_multipart), "not_multipart");
  EXPECT_STREQ(multipart_error_name(MultipartError::missing_boundary), "missing_boundary");
  EXPECT_STREQ(multipart_error_name(MultipartError::malformed), "malformed");
  EXPECT_STREQ(multipart_error_name(MultipartError::duplicate_field), "duplicate_field");
  EXPECT_STREQ(multipart_error_name(MultipartError::too_many_parts), "too_many_parts");
}

TEST(Multipart, DetailNeverContainsBodyBytes) {
  const std::string secret = "SECRET-PAYLOAD";
  const MultipartResult result =
      parse_multipart(kType, part("Content-Disposition: form-data; name=\"" + secret + "\"\r\n", secret) +
                                 part("Content-Disposition: form-data; name=\"" + secret + "\"\r\n", secret) + close());
  ASSERT_TRUE(result.error);
  EXPECT_EQ(result.detail.find(secret), std::string::npos);
}

struct Utf8Row {
  const char* name;
  std::string bytes;
  bool valid;
};

TEST(Utf8, Table) {
  const std::vector<Utf8Row> rows = {
      {"empty", "", true},
      {"ascii", "hello", true},
      {"two bytes", "caf\xC3\xA9", true},
      {"three bytes", "\xE2\x82\xAC", true},
      {"four bytes", "\xF0\x9F\x98\x80", true},
      {"largest code point", "\xF4\x8F\xBF\xBF", true},
      {"last before surrogates", "\xED\x9F\xBF", true},
      {"first after surrogates", "\xEE\x80\x80", true},
      {"nul is valid", "a\0b"s, true},
      {"overlong C0 80", "\xC0\x80", false},
      {"overlong C1 BF", "\xC1\xBF", false},
      {"overlong E0 80 80", "\xE0\x80\x80", false},
      {"overlong F0 80 80 80", "\xF0\x80\x80\x80", false},
      {"surrogate ED A0 80", "\xED\xA0\x80", false},
      {"surrogate ED BF BF", "\xED\xBF\xBF", false},
      {"above U+10FFFF F4 90 80 80", "\xF4\x90\x80\x80", false},
      {"F5 lead", "\xF5\x80\x80\x80", false},
      {"FF byte", "\xFF", false},
      {"truncated E2 82", "\xE2\x82", false},
      {"truncated at end after ascii", "ok\xF0\x9F\x98", false},
      {"lone continuation", "\x80", false},
      {"bad continuation", "\xC3\x28", false},
  };
  for (const Utf8Row& row : rows) EXPECT_EQ(is_valid_utf8(row.bytes), row.valid) << row.name;
}

// Text a store keeps exactly: valid UTF-8 without NUL (PostgreSQL's text cannot hold one).
TEST(Multipart, ValidTextIsUtf8WithoutNul) {
  EXPECT_TRUE(is_valid_text(""));
  EXPECT_TRUE(is_valid_text("caf\xC3\xA9 \t\n"));
  EXPECT_FALSE(is_valid_text("a\0b"s));
  EXPECT_FALSE(is_valid_text("\0"s));
  EXPECT_FALSE(is_valid_text("alice\0"s));
  EXPECT_FALSE(is_valid_text("\xFF"));
}

TEST(Multipart, Utf8PrefixNeverCutsACharacter) {
  EXPECT_EQ(utf8_prefix("abc", 64), "abc");
  EXPECT_EQ(utf8_prefix("abcdef", 3), "abc");
  EXPECT_EQ(utf8_prefix("a\xC3\xA9", 2), "a");                            // é is two bytes: not cut in half
  EXPECT_EQ(utf8_prefix("\xE2\x82\xAC\xE2\x82\xAC", 5), "\xE2\x82\xAC");  // € is three
  EXPECT_EQ(utf8_prefix("\xF0\x9F\x98\x80", 3), "");
  std::string name = "a";
  for (int i = 0; i < 40; ++i) name += "\xC3\xA9";  // 81 bytes: a cut at 64 falls inside a character
  EXPECT_EQ(utf8_prefix(name, 64).size(), 63u);
  EXPECT_TRUE(is_valid_utf8(utf8_prefix(name, 64)));
}

}  // namespace
}  // namespace faceauth
