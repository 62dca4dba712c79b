// Table tests of CompiledRules::inspect(): Suricata's content inspection semantics, one rule
// per row, built from Rule values directly (no parser involved).
#include <catch2/catch.hpp>

// Rows use designated initializers that name only the fields under test; the rest keep their
// defaults on purpose.
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

#include <string>
#include <vector>

#include "vigil/rules/hs/matcher.h"

using vigil::rules::Buffer;
using vigil::rules::BufferItem;
using vigil::rules::BufferMatch;
using vigil::rules::Content;
using vigil::rules::IsDataAt;
using vigil::rules::Pcre;
using vigil::rules::Rule;
using vigil::rules::hs::CompiledRules;

namespace {

struct Row {
  const char* name;
  std::vector<BufferItem> items;
  std::string data;
  bool expect;
};

Rule make_rule(std::vector<BufferItem> items, Buffer b = Buffer::Payload, uint32_t sid = 1) {
  Rule r;
  r.sid = sid;
  r.buffers.push_back(BufferMatch{b, std::move(items)});
  return r;
}

std::span<const uint8_t> bytes(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

// Builds a one-rule set and inspects `data` as the payload.
bool inspect_one(const std::vector<BufferItem>& items, const std::string& data) {
  std::vector<Rule> rules{make_rule(items)};
  auto built = CompiledRules::build(std::move(rules));
  REQUIRE(built.ok());
  auto& cr = **built;
  REQUIRE(cr.rule_ok(0));
  auto scratch = cr.make_scratch();
  REQUIRE(scratch.ok());
  return cr.inspect(*scratch, 0, Buffer::Payload, bytes(data));
}

void run_rows(const std::vector<Row>& rows) {
  for (const auto& row : rows) {
    INFO(row.name << " on \"" << row.data << "\"");
    CHECK(inspect_one(row.items, row.data) == row.expect);
  }
}

}  // namespace

TEST_CASE("inspect: absolute content modifiers", "[rules][hs]") {
  run_rows({
      {"plain hit", {Content{.bytes = "abc"}}, "xxabcxx", true},
      {"plain miss", {Content{.bytes = "abc"}}, "xxabxcx", false},
      {"case matters", {Content{.bytes = "AbC"}}, "xxabcxx", false},
      {"nocase", {Content{.bytes = "AbC", .nocase = true}}, "xxaBcxx", true},
      {"nocase no letters", {Content{.bytes = "1|2", .nocase = true}}, "x1|2", true},
      {"nocase miss", {Content{.bytes = "AbC", .nocase = true}}, "xxaBdxx", false},
      {"offset skips first", {Content{.bytes = "abc", .offset = 2}}, "abcabc", true},
      {"offset too far", {Content{.bytes = "abc", .offset = 2}}, "abcab", false},
      {"depth hit", {Content{.bytes = "abc", .depth = 3}}, "abcxx", true},
      {"depth miss", {Content{.bytes = "abc", .depth = 3}}, "xabc", false},
      {"offset+depth counts from offset", {Content{.bytes = "def", .offset = 3, .depth = 3}},
       "abcdef", true},
      {"offset+depth window too small", {Content{.bytes = "def", .offset = 3, .depth = 3}},
       "abcxdef", false},
      {"offset beyond buffer", {Content{.bytes = "a", .offset = 10}}, "aaaa", false},
      {"startswith", {Content{.bytes = "GET", .startswith = true}}, "GET /", true},
      {"startswith miss", {Content{.bytes = "GET", .startswith = true}}, " GET /", false},
      {"endswith", {Content{.bytes = "end", .endswith = true}}, "the end", true},
      {"endswith miss", {Content{.bytes = "end", .endswith = true}}, "the end ", false},
      {"endswith later occurrence", {Content{.bytes = "end", .endswith = true}}, "endend", true},
      {"endswith nocase", {Content{.bytes = "END", .nocase = true, .endswith = true}},
       "the eNd", true},
      {"startswith+endswith exact", {Content{.bytes = "abc", .startswith = true, .endswith = true}},
       "abc", true},
      {"startswith+endswith longer", {Content{.bytes = "abc", .startswith = true, .endswith = true}},
       "abcabc", false},
      {"two absolute contents any order", {Content{.bytes = "world"}, Content{.bytes = "hello"}},
       "hello world", true},
      {"second absolute content missing", {Content{.bytes = "hello"}, Content{.bytes = "zzz"}},
       "hello world", false},
      {"content longer than buffer", {Content{.bytes = "abcdef"}}, "abc", false},
      {"empty buffer", {Content{.bytes = "a"}}, "", false},
  });
}

TEST_CASE("inspect: NUL and high bytes in patterns", "[rules][hs]") {
  const std::string pat("\0\x01\0", 3);
  const std::string hit("ab\0\x01\0cd", 7);
  const std::string miss("ab\0\x02\0cd", 7);
  run_rows({
      {"NUL pattern hit", {Content{.bytes = pat}}, hit, true},
      {"NUL pattern miss", {Content{.bytes = pat}}, miss, false},
      {"NUL pattern nocase", {Content{.bytes = std::string("A\0b", 3), .nocase = true}},
       std::string("xa\0Bx", 5), true},
      {"high bytes", {Content{.bytes = "\xff\xfe"}}, "\x01\xff\xfe", true},
      {"high bytes are not folded", {Content{.bytes = "\xc0", .nocase = true}}, "\xe0", false},
  });
}

TEST_CASE("inspect: relative contents", "[rules][hs]") {
  run_rows({
      {"distance", {Content{.bytes = "a"}, Content{.bytes = "b", .distance = 2}}, "axxb", true},
      {"distance too short", {Content{.bytes = "a"}, Content{.bytes = "b", .distance = 2}}, "axb",
       false},
      {"distance finds later b", {Content{.bytes = "a"}, Content{.bytes = "b", .distance = 2}},
       "axbab", true},
      {"within hit", {Content{.bytes = "a"}, Content{.bytes = "b", .within = 2}}, "axb", true},
      {"within miss", {Content{.bytes = "a"}, Content{.bytes = "b", .within = 2}}, "axxb", false},
      {"distance+within window",
       {Content{.bytes = "ab"}, Content{.bytes = "cd", .distance = 1, .within = 2}}, "abxcd", true},
      {"distance+within window miss",
       {Content{.bytes = "ab"}, Content{.bytes = "cd", .distance = 1, .within = 2}}, "abxxcd",
       false},
      {"negative distance looks back",
       {Content{.bytes = "bc"}, Content{.bytes = "a", .distance = -3, .within = 1}}, "abc", true},
      {"negative distance clamps at 0",
       {Content{.bytes = "bc"}, Content{.bytes = "a", .distance = -30}}, "abc", true},
      {"relative first item anchors at 0", {Content{.bytes = "b", .distance = 1}}, "bb", true},
      {"relative first item miss", {Content{.bytes = "b", .distance = 1}}, "b", false},
      {"relative nocase",
       {Content{.bytes = "a"}, Content{.bytes = "BC", .nocase = true, .distance = 0, .within = 2}},
       "abc", true},
      {"chain of three",
       {Content{.bytes = "GET "}, Content{.bytes = "/admin", .distance = 0, .within = 6},
        Content{.bytes = "HTTP/1.", .distance = 0}},
       "GET /admin.php HTTP/1.1", true},
      {"chain of three, last missing",
       {Content{.bytes = "GET "}, Content{.bytes = "/admin", .distance = 0, .within = 6},
        Content{.bytes = "HTTP/1.", .distance = 0}},
       "GET /admin.php HTTP/2", false},
  });
}

TEST_CASE("inspect: backtracking to the next occurrence", "[rules][hs]") {
  run_rows({
      {"retry first content (brief example)",
       {Content{.bytes = "a"}, Content{.bytes = "b", .distance = 0, .within = 1}}, "aXab", true},
      {"no occurrence fits",
       {Content{.bytes = "a"}, Content{.bytes = "b", .distance = 0, .within = 1}}, "aXaXb", false},
      {"two levels of retry",
       {Content{.bytes = "a"}, Content{.bytes = "b", .distance = 0, .within = 1},
        Content{.bytes = "c", .distance = 0, .within = 1}},
       "abxabc", true},
      {"middle content retries",
       {Content{.bytes = "a"}, Content{.bytes = "b", .distance = 0},
        Content{.bytes = "c", .distance = 0, .within = 1}},
       "abXbc", true},
      {"distance-only follower searches to the end",
       {Content{.bytes = "a"}, Content{.bytes = "b", .distance = 1}}, "abab", true},
      {"retry for negated distance follower",
       {Content{.bytes = "a"}, Content{.bytes = "b", .negated = true, .distance = 0}}, "ab a",
       true},
      {"retry for negated within follower",
       {Content{.bytes = "a"}, Content{.bytes = "b", .negated = true, .within = 2}}, "abxa", true},
      {"negated within follower never satisfied",
       {Content{.bytes = "a"}, Content{.bytes = "b", .negated = true, .within = 2}}, "abxab",
       false},
  });
}

TEST_CASE("inspect: negated contents", "[rules][hs]") {
  run_rows({
      {"absent", {Content{.bytes = "evil", .negated = true}}, "good", true},
      {"present", {Content{.bytes = "evil", .negated = true}}, "so evil", false},
      {"negated with depth, outside window",
       {Content{.bytes = "x", .negated = true, .depth = 2}}, "abx", true},
      {"negated with depth, inside window",
       {Content{.bytes = "x", .negated = true, .depth = 2}}, "xab", false},
      {"negated after positive, absent",
       {Content{.bytes = "user"}, Content{.bytes = "root", .negated = true, .distance = 0}},
       "user admin", true},
      {"negated after positive, present",
       {Content{.bytes = "user"}, Content{.bytes = "root", .negated = true, .distance = 0}},
       "user root", false},
      {"negated before the anchor is not seen",
       {Content{.bytes = "user"}, Content{.bytes = "root", .negated = true, .distance = 0}},
       "root user", true},
      {"negated nocase",
       {Content{.bytes = "EVIL", .negated = true, .nocase = true}}, "so evil", false},
      {"negated on empty buffer matches", {Content{.bytes = "a", .negated = true}}, "", true},
  });
}

TEST_CASE("inspect: pcre", "[rules][hs]") {
  run_rows({
      {"plain", {Pcre{.pattern = "fo+"}}, "xfoooy", true},
      {"plain miss", {Pcre{.pattern = "fo+"}}, "xfy", false},
      {"negated absent", {Pcre{.pattern = "evil", .negated = true}}, "good", true},
      {"negated present", {Pcre{.pattern = "evil", .negated = true}}, "evil", false},
      {"i", {Pcre{.pattern = "ABC", .caseless = true}}, "xabc", true},
      {"no i", {Pcre{.pattern = "ABC"}}, "xabc", false},
      {"m", {Pcre{.pattern = "^b", .multiline = true}}, "a\nb", true},
      {"no m", {Pcre{.pattern = "^b"}}, "a\nb", false},
      {"s", {Pcre{.pattern = "a.b", .dotall = true}}, "a\nb", true},
      {"no s", {Pcre{.pattern = "a.b"}}, "a\nb", false},
      {"x", {Pcre{.pattern = "a b c", .extended = true}}, "abc", true},
      {"A anchored miss", {Pcre{.pattern = "bc", .anchored = true}}, "abc", false},
      {"A anchored hit", {Pcre{.pattern = "bc", .anchored = true}}, "bcd", true},
      {"E", {Pcre{.pattern = "c$", .dollar_endonly = true}}, "abc\n", false},
      {"no E", {Pcre{.pattern = "c$"}}, "abc\n", true},
      {"NUL in subject", {Pcre{.pattern = "a\\x00b"}}, std::string("xa\0b", 4), true},
      {"R anchors at previous match",
       {Content{.bytes = "abc"}, Pcre{.pattern = "^def", .relative = true}}, "abcdef", true},
      {"R miss", {Content{.bytes = "abc"}, Pcre{.pattern = "^def", .relative = true}}, "abcxdef",
       false},
      {"R retries the content",
       {Content{.bytes = "a"}, Pcre{.pattern = "^b", .relative = true}}, "acab", true},
      {"content relative to pcre end",
       {Pcre{.pattern = "a+"}, Content{.bytes = "b", .distance = 0, .within = 1}}, "aaab", true},
      {"content relative to pcre end, miss",
       {Pcre{.pattern = "a+"}, Content{.bytes = "b", .distance = 0, .within = 1}}, "aaaxb", false},
      {"greedy pcre end", {Pcre{.pattern = "a.*b"}, Content{.bytes = "c", .distance = 0, .within = 1}},
       "axbxbc", true},
      {"G makes it ungreedy",
       {Pcre{.pattern = "a.*b", .ungreedy = true}, Content{.bytes = "c", .distance = 0, .within = 1}},
       "axbxbc", false},
      {"pcre retries its next occurrence",
       {Pcre{.pattern = "k\\d"}, Content{.bytes = "!", .distance = 0, .within = 1}}, "k1 k2!", true},
      {"negated R after content",
       {Content{.bytes = "id="}, Pcre{.pattern = "^\\d+$", .negated = true, .relative = true}},
       "id=12x", true},
      {"negated R after content, digits",
       {Content{.bytes = "id="}, Pcre{.pattern = "^\\d+$", .negated = true, .relative = true}},
       "id=123", false},
  });
}

TEST_CASE("inspect: isdataat", "[rules][hs]") {
  run_rows({
      {"absolute hit", {IsDataAt{.offset = 3}}, "abcd", true},
      {"absolute miss", {IsDataAt{.offset = 4}}, "abcd", false},
      {"absolute negated", {IsDataAt{.offset = 4, .negated = true}}, "abcd", true},
      {"absolute negated miss", {IsDataAt{.offset = 3, .negated = true}}, "abcd", false},
      {"relative hit", {Content{.bytes = "ab"}, IsDataAt{.offset = 2, .relative = true}}, "abcd",
       true},
      {"relative miss", {Content{.bytes = "ab"}, IsDataAt{.offset = 3, .relative = true}}, "abcd",
       false},
      {"relative negated at end",
       {Content{.bytes = "ab"}, IsDataAt{.offset = 1, .negated = true, .relative = true}}, "ab",
       true},
      {"relative negated retries content",
       {Content{.bytes = "a"}, IsDataAt{.offset = 1, .negated = true, .relative = true}}, "abca",
       true},
      {"relative negated never at end",
       {Content{.bytes = "a"}, IsDataAt{.offset = 1, .negated = true, .relative = true}}, "abcab",
       false},
      {"relative to pcre",
       {Pcre{.pattern = "x+"}, IsDataAt{.offset = 2, .relative = true}}, "xxxab", true},
      {"isdataat keeps the anchor for the next content",
       {Content{.bytes = "a"}, IsDataAt{.offset = 1, .relative = true},
        Content{.bytes = "b", .distance = 0, .within = 1}},
       "ab", true},
  });
}

TEST_CASE("inspect: recursion is bounded like Suricata's", "[rules][hs]") {
  const std::vector<BufferItem> items{Content{.bytes = "a"},
                                      Content{.bytes = "b", .distance = 0, .within = 1},
                                      Content{.bytes = "c", .distance = 0, .within = 1}};
  // Every "a" is followed by "b" but never "c": each occurrence costs a few recursion steps.
  std::string small;
  for (int i = 0; i < 100; ++i) small += "ab";
  CHECK_FALSE(inspect_one(items, small));
  CHECK(inspect_one(items, small + "abc"));
  std::string big;
  for (int i = 0; i < 5000; ++i) big += "ab";
  // 5000 retries exceed the 3000-step limit: the inspection gives up before the real match.
  CHECK_FALSE(inspect_one(items, big + "abc"));
}

TEST_CASE("inspect: buffers are inspected independently", "[rules][hs]") {
  Rule r;
  r.sid = 7;
  r.buffers.push_back(BufferMatch{Buffer::HttpUri, {Content{.bytes = "/admin"}}});
  r.buffers.push_back(BufferMatch{Buffer::HttpHost, {Content{.bytes = "example"}}});
  auto built = CompiledRules::build({r});
  REQUIRE(built.ok());
  auto& cr = **built;
  auto scratch = cr.make_scratch();
  REQUIRE(scratch.ok());
  const std::string uri = "/admin/x";
  const std::string host = "www.example.com";
  CHECK(cr.inspect(*scratch, 0, Buffer::HttpUri, bytes(uri)));
  CHECK_FALSE(cr.inspect(*scratch, 0, Buffer::HttpUri, bytes(host)));
  CHECK(cr.inspect(*scratch, 0, Buffer::HttpHost, bytes(host)));
  CHECK_FALSE(cr.inspect(*scratch, 0, Buffer::HttpHost, bytes(uri)));
  // No items for the payload: nothing to confirm there.
  CHECK(cr.inspect(*scratch, 0, Buffer::Payload, bytes(uri)));
}

TEST_CASE("inspect: repeated buffer entries are one list", "[rules][hs]") {
  // http.uri; content:"a"; http.host; content:"x"; http.uri; content:"b"; distance:0; within:1
  Rule r;
  r.buffers.push_back(BufferMatch{Buffer::HttpUri, {Content{.bytes = "a"}}});
  r.buffers.push_back(BufferMatch{Buffer::HttpHost, {Content{.bytes = "x"}}});
  r.buffers.push_back(
      BufferMatch{Buffer::HttpUri, {Content{.bytes = "b", .distance = 0, .within = 1}}});
  auto built = CompiledRules::build({r});
  REQUIRE(built.ok());
  auto scratch = (*built)->make_scratch();
  REQUIRE(scratch.ok());
  const std::string good = "aXab";
  const std::string bad = "aXaXb";
  CHECK((*built)->inspect(*scratch, 0, Buffer::HttpUri, bytes(good)));
  CHECK_FALSE((*built)->inspect(*scratch, 0, Buffer::HttpUri, bytes(bad)));
}
