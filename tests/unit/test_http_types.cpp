// Case-insensitive header lookup, first-value query lookup and target splitting.
#include <gtest/gtest.h>

#include <map>
#include <string>

#include "http/http_types.h"

namespace faceauth {
namespace {

TEST(HttpTypes, CaseInsensitiveLess) {
  const CaseInsensitiveLess less;
  EXPECT_FALSE(less("Content-Type", "content-type"));
  EXPECT_FALSE(less("content-type", "CONTENT-TYPE"));
  EXPECT_TRUE(less("abc", "ABD"));
  EXPECT_TRUE(less("ab", "ABC"));
  EXPECT_FALSE(less("ABC", "ab"));
  EXPECT_FALSE(less("", ""));
  EXPECT_TRUE(less("", "a"));
  EXPECT_TRUE(less("\x7f", "\x80"));  // bytes compare unsigned
}

TEST(HttpTypes, HeaderLookupIsCaseInsensitiveAndFirstValue) {
  HttpRequest request;
  request.headers.emplace("Content-Type", "multipart/form-data");
  request.headers.emplace("X-Tag", "first");
  request.headers.emplace("x-tag", "second");
  request.headers.emplace("X-TAG", "third");
  ASSERT_NE(request.header("content-type"), nullptr);
  EXPECT_EQ(*request.header("CONTENT-TYPE"), "multipart/form-data");
  ASSERT_NE(request.header("x-Tag"), nullptr);
  EXPECT_EQ(*request.header("x-Tag"), "first");
  EXPECT_EQ(request.header("X-Ta"), nullptr);
  EXPECT_EQ(request.header("X-Tags"), nullptr);
  EXPECT_EQ(request.header(""), nullptr);
}

TEST(HttpTypes, QueryLookupIsCaseSensitiveAndFirstValue) {
  HttpRequest request;
  request.query.emplace("id", "1");
  request.query.emplace("id", "2");
  request.query.emplace("ID", "3");
  ASSERT_NE(request.query_value("id"), nullptr);
  EXPECT_EQ(*request.query_value("id"), "1");
  EXPECT_EQ(*request.query_value("ID"), "3");
  EXPECT_EQ(request.query_value("Id"), nullptr);
  EXPECT_EQ(request.query_value("i"), nullptr);
}

using Query = std::multimap<std::string, std::string>;

TEST(HttpTypes, SplitTargetPlainPath) {
  std::string path;
  Query query;
  ASSERT_TRUE(split_target("/v1/verify", path, query));
  EXPECT_EQ(path, "/v1/verify");
  EXPECT_TRUE(query.empty());
  ASSERT_TRUE(split_target("", path, query));
  EXPECT_EQ(path, "");
}

TEST(HttpTypes, SplitTargetDecodes) {
  std::string path;
  Query query;
  ASSERT_TRUE(split_target("/users/a%20b+c%2Fd?name=J%C3%B6rg+M&x%3Dy=1%262&flag&&=v&empty=", path, query));
  EXPECT_EQ(path, "/users/a b+c/d");  // '+' is literal in the path
  const Query expected = {{"name", "J\xC3\xB6rg M"}, {"x=y", "1&2"}, {"flag", ""}, {"", "v"}, {"empty", ""}};
  EXPECT_EQ(query, expected);
}

TEST(HttpTypes, SplitTargetFirstQuestionMarkSplits) {
  std::string path;
  Query query;
  ASSERT_TRUE(split_target("/p?a=b?c&d=e=f", path, query));
  EXPECT_EQ(path, "/p");
  const Query expected = {{"a", "b?c"}, {"d", "e=f"}};
  EXPECT_EQ(query, expected);
}

TEST(HttpTypes, SplitTargetRepeatedKeysKeepOrder) {
  HttpRequest request;
  ASSERT_TRUE(split_target("/p?k=1&k=2&k=3", request.path, request.query));
  EXPECT_EQ(request.query.count("k"), 3u);
  ASSERT_NE(request.query_value("k"), nullptr);
  EXPECT_EQ(*request.query_value("k"), "1");
}

TEST(HttpTypes, SplitTargetSkipsEmptyPieces) {
  std::string path;
  Query query;
  ASSERT_TRUE(split_target("/p?", path, query));
  EXPECT_EQ(path, "/p");
  EXPECT_TRUE(query.empty());
  ASSERT_TRUE(split_target("/p?&&a=1&&", path, query));
  EXPECT_EQ(query.size(), 1u);
}

TEST(HttpTypes, SplitTargetRejectsInvalidEscapes) {
  for (const char* target : {"/a%", "/a%2", "/a%zz", "/a%2g", "/p?a=%", "/p?a=1%4", "/p?%G0=1", "/ok?x=%%41", "/a%00b",
                             "/p?userId=a%00b", "/p?a%00=1", "/a%ff", "/p?userId=%ff", "/p?%c3%28=1"}) {
    std::string path = "stale";
    Query query = {{"stale", "1"}};
    EXPECT_FALSE(split_target(target, path, query)) << target;
  }
  std::string path;
  Query query;
  ASSERT_TRUE(split_target("/%41%62%2b?q=%2B%2b", path, query));
  EXPECT_EQ(path, "/Ab+");
  EXPECT_EQ(query.begin()->second, "++");
}

TEST(HttpTypes, SplitTargetClearsPreviousOutput) {
  std::string path = "old";
  Query query = {{"old", "1"}};
  ASSERT_TRUE(split_target("/new?a=1", path, query));
  EXPECT_EQ(path, "/new");
  const Query expected = {{"a", "1"}};
  EXPECT_EQ(query, expected);
}

TEST(HttpTypes, SplitPathKeepsTheNonEmptySegments) {
  EXPECT_EQ(split_path("/v3//faceauth/"), (std::vector<std::string>{"v3", "faceauth"}));
  EXPECT_EQ(split_path("/"), std::vector<std::string>{});
  EXPECT_EQ(split_path("admin/v1/users/a b"), (std::vector<std::string>{"admin", "v1", "users", "a b"}));
}

}  // namespace
}  // namespace faceauth
