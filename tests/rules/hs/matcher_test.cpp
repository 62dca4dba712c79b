// CompiledRules::build(), fast pattern selection and scan(): which rules each buffer's
// Hyperscan database proposes as candidates.
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
using vigil::rules::hs::BuildReport;
using vigil::rules::hs::CompiledRules;
using vigil::rules::hs::Scratch;

namespace {

Rule rule(uint32_t sid, std::vector<BufferMatch> buffers) {
  Rule r;
  r.sid = sid;
  r.buffers = std::move(buffers);
  return r;
}

Rule payload_rule(uint32_t sid, std::vector<BufferItem> items) {
  return rule(sid, {BufferMatch{Buffer::Payload, std::move(items)}});
}

std::span<const uint8_t> bytes(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

std::vector<uint32_t> scan(const CompiledRules& cr, Scratch& s, Buffer b, const std::string& data) {
  std::vector<uint32_t> out;
  REQUIRE(cr.scan(s, b, bytes(data), out));
  return out;
}

std::unique_ptr<CompiledRules> build(std::vector<Rule> rules, BuildReport* report = nullptr) {
  auto built = CompiledRules::build(std::move(rules), report);
  REQUIRE(built.ok());
  return std::move(*built);
}

using V = std::vector<uint32_t>;

}  // namespace

TEST_CASE("scan: shared patterns across rules and buffers", "[rules][hs]") {
  BuildReport report;
  auto cr = build(
      {
          payload_rule(100, {Content{.bytes = "hello"}}),                          // 0
          payload_rule(101, {Content{.bytes = "hello", .nocase = true}}),          // 1
          payload_rule(102, {Content{.bytes = "HELLO", .nocase = true}}),          // 2
          rule(103, {BufferMatch{Buffer::HttpUri, {Content{.bytes = "hello"}}}}),  // 3
          payload_rule(104, {Content{.bytes = "hello", .negated = true}}),         // 4
          payload_rule(105, {Pcre{.pattern = "h.llo"}}),                           // 5
          payload_rule(106, {Content{.bytes = "hello"}, Content{.bytes = "x"}}),   // 6
          payload_rule(107, {Content{.bytes = std::string("\0lo\0", 4)}}),          // 7
          rule(108, {BufferMatch{Buffer::HttpHost, {Content{.bytes = "world"}}}}), // 8
          payload_rule(109, {IsDataAt{.offset = 3}}),                              // 9
      },
      &report);
  CHECK(report.rejected.empty());
  // payload: "hello" (cs, rules 0 and 6), "hello" (ci, rules 1 and 2), "\0lo\0"; uri: "hello";
  // host: "world".
  CHECK(report.patterns == 5);
  CHECK(report.database_bytes > 0);

  auto scratch = cr->make_scratch();
  REQUIRE(scratch.ok());
  Scratch& s = *scratch;

  CHECK(scan(*cr, s, Buffer::Payload, "say hello") == V{0, 1, 2, 6});
  CHECK(scan(*cr, s, Buffer::Payload, "say HELLO") == V{1, 2});
  CHECK(scan(*cr, s, Buffer::Payload, "say hell0") == V{});
  CHECK(scan(*cr, s, Buffer::Payload, std::string("x\0lo\0hello", 10)) == V{0, 1, 2, 6, 7});
  CHECK(scan(*cr, s, Buffer::Payload, std::string("x\0lo\1", 5)) == V{});
  CHECK(scan(*cr, s, Buffer::HttpUri, "/hello") == V{3});
  CHECK(scan(*cr, s, Buffer::HttpUri, "/HELLO") == V{});
  CHECK(scan(*cr, s, Buffer::HttpHost, "world.example") == V{8});
  CHECK(scan(*cr, s, Buffer::DnsQuery, "hello world") == V{});  // no database
  CHECK(scan(*cr, s, Buffer::Payload, "") == V{});

  // Each candidate once even when its pattern occurs many times; stamps reset between calls.
  for (int i = 0; i < 3; ++i) {
    CHECK(scan(*cr, s, Buffer::Payload, "hello hello HELLO hello") == V{0, 1, 2, 6});
  }

  CHECK(cr->unfiltered_rules() == V{4, 5, 9});
  CHECK(cr->prefilter_buffer(0) == Buffer::Payload);
  CHECK(cr->prefilter_buffer(3) == Buffer::HttpUri);
  CHECK_FALSE(cr->prefilter_buffer(4).has_value());
  CHECK_FALSE(cr->prefilter_buffer(5).has_value());
}

TEST_CASE("scan: appends to the caller's vector and keeps its contents", "[rules][hs]") {
  auto cr = build({payload_rule(1, {Content{.bytes = "zz"}}), payload_rule(2, {Content{.bytes = "aa"}})});
  auto scratch = cr->make_scratch();
  REQUIRE(scratch.ok());
  std::vector<uint32_t> out{42};
  const std::string data = "aazz";
  REQUIRE(cr->scan(*scratch, Buffer::Payload, bytes(data), out));
  CHECK(out == V{42, 0, 1});
}

TEST_CASE("scan: a scratch from another rule set is refused", "[rules][hs]") {
  auto a = build({payload_rule(1, {Content{.bytes = "abc"}})});
  auto b = build({payload_rule(1, {Content{.bytes = "abc"}})});
  auto sb = b->make_scratch();
  REQUIRE(sb.ok());
  std::vector<uint32_t> out;
  const std::string data = "abc";
  CHECK_FALSE(a->scan(*sb, Buffer::Payload, bytes(data), out));
  CHECK(out.empty());
  CHECK_FALSE(a->inspect(*sb, 0, Buffer::Payload, bytes(data)));
}

TEST_CASE("scan: many rules, one scratch, exact candidate sets", "[rules][hs]") {
  std::vector<Rule> rules;
  // 3000 rules: rule i looks for "tok<i>|"; every tenth also shares "common".
  for (uint32_t i = 0; i < 3000; ++i) {
    std::vector<BufferItem> items{Content{.bytes = "tok" + std::to_string(i) + "|"}};
    if (i % 10 == 0) items.push_back(Content{.bytes = "common-pattern-longer", .fast_pattern = true});
    rules.push_back(payload_rule(i + 1, std::move(items)));
  }
  BuildReport report;
  auto cr = build(std::move(rules), &report);
  CHECK(report.patterns == 2700 + 1);
  auto scratch = cr->make_scratch();
  REQUIRE(scratch.ok());

  CHECK(scan(*cr, *scratch, Buffer::Payload, "xx tok17| tok2999| tok3| tok17|") == V{3, 17, 2999});
  CHECK(scan(*cr, *scratch, Buffer::Payload, "tok10|") == V{});  // rule 10 uses "common..."
  auto common = scan(*cr, *scratch, Buffer::Payload, "common-pattern-longer tok1|");
  REQUIRE(common.size() == 301);
  CHECK(common.front() == 0);
  CHECK(common[1] == 1);
  CHECK(common.back() == 2990);
  CHECK(std::is_sorted(common.begin(), common.end()));
}

TEST_CASE("fast pattern: Suricata's choice", "[rules][hs]") {
  auto cr = build({
      // 0: longest wins.
      payload_rule(1, {Content{.bytes = "ab"}, Content{.bytes = "abcdef"}, Content{.bytes = "xyz"}}),
      // 1: explicit fast_pattern wins over a longer content.
      payload_rule(2, {Content{.bytes = "abcdef"}, Content{.bytes = "ab", .fast_pattern = true}}),
      // 2: negated contents are never chosen.
      payload_rule(3, {Content{.bytes = "averylongnegated", .negated = true}, Content{.bytes = "pos"}}),
      // 3: an app-layer buffer (priority 2) beats the payload (3), even when shorter.
      rule(4, {BufferMatch{Buffer::Payload, {Content{.bytes = "long-payload-content"}}},
               BufferMatch{Buffer::HttpUri, {Content{.bytes = "/x"}}}}),
      // 4: http.method (priority 4) loses to the payload.
      rule(5, {BufferMatch{Buffer::HttpMethod, {Content{.bytes = "POST"}}},
               BufferMatch{Buffer::Payload, {Content{.bytes = "p"}}}}),
      // 5: same length: the stronger (more diverse, less alphabetic) pattern wins.
      payload_rule(6, {Content{.bytes = "aaaa"}, Content{.bytes = "a|%b"}}),
      // 6: same length and strength: the first one.
      payload_rule(7, {Content{.bytes = "abcd"}, Content{.bytes = "efgh"}}),
      // 7: fast_pattern:offset,length chops the literal.
      payload_rule(8, {Content{.bytes = "abcdefg", .fast_pattern_chop = std::pair<uint16_t, uint16_t>{2, 3}}}),
      // 8: nocase carries over.
      payload_rule(9, {Content{.bytes = "MiXeD", .nocase = true}}),
      // 9: explicit fast_pattern on a negated content: no usable prefilter.
      payload_rule(10, {Content{.bytes = "pos"}, Content{.bytes = "neg", .negated = true, .fast_pattern = true}}),
  });
  auto fp = [&](uint32_t i) {
    const auto* p = cr->fast_pattern(i);
    REQUIRE(p != nullptr);
    return *p;
  };
  CHECK(fp(0).bytes == "abcdef");
  CHECK(fp(0).item == 1);
  CHECK_FALSE(fp(0).explicit_choice);
  CHECK(fp(1).bytes == "ab");
  CHECK(fp(1).explicit_choice);
  CHECK(fp(2).bytes == "pos");
  CHECK(fp(3).buffer == Buffer::HttpUri);
  CHECK(fp(3).buffer_match == 1);
  CHECK(fp(4).buffer == Buffer::Payload);
  CHECK(fp(4).bytes == "p");
  CHECK(fp(5).bytes == "a|%b");
  CHECK(fp(6).bytes == "abcd");
  CHECK(fp(7).bytes == "cde");
  CHECK(fp(8).caseless);
  CHECK(fp(8).bytes == "MiXeD");
  CHECK(cr->fast_pattern(9) == nullptr);
  CHECK(cr->unfiltered_rules() == V{9});

  auto scratch = cr->make_scratch();
  REQUIRE(scratch.ok());
  // The chopped literal alone triggers rule 7; inspect still wants the whole content.
  CHECK(scan(*cr, *scratch, Buffer::Payload, "xcdex") == V{7});
  const std::string chopped_only = "xcdex";
  CHECK_FALSE(cr->inspect(*scratch, 7, Buffer::Payload, bytes(chopped_only)));
  CHECK(scan(*cr, *scratch, Buffer::Payload, "mixed") == V{8});
}

TEST_CASE("build: bad rules are rejected, the rest still work", "[rules][hs]") {
  BuildReport report;
  auto cr = build(
      {
          payload_rule(1, {Content{.bytes = "good"}}),
          payload_rule(2, {Content{.bytes = "x"}, Pcre{.pattern = "a(b"}}),
          payload_rule(3, {Content{.bytes = "a"}, Content{.bytes = "abcd", .within = 2}}),
          payload_rule(4, {Content{.bytes = "abcd", .depth = 3}}),
          payload_rule(5, {Content{.bytes = ""}}),
          payload_rule(6, {Content{.bytes = "good"}, Pcre{.pattern = "g(o+)d", .relative = false}}),
      },
      &report);
  REQUIRE(report.rejected.size() == 4);
  CHECK(report.rejected[0].sid == 2);
  CHECK(report.rejected[0].keyword == "pcre");
  CHECK(report.rejected[1].sid == 3);
  CHECK(report.rejected[1].keyword == "within");
  CHECK(report.rejected[2].sid == 4);
  CHECK(report.rejected[3].sid == 5);
  CHECK(cr->rule_ok(0));
  CHECK_FALSE(cr->rule_ok(1));
  CHECK_FALSE(cr->rule_ok(2));
  CHECK(cr->rule_ok(5));
  CHECK_FALSE(cr->rule_ok(99));
  CHECK(cr->rules().size() == 6);  // indexes stay stable

  auto scratch = cr->make_scratch();
  REQUIRE(scratch.ok());
  CHECK(scan(*cr, *scratch, Buffer::Payload, "good x abcd") == V{0, 5});
  const std::string data = "good";
  CHECK(cr->inspect(*scratch, 0, Buffer::Payload, bytes(data)));
  CHECK(cr->inspect(*scratch, 5, Buffer::Payload, bytes(data)));
  CHECK_FALSE(cr->inspect(*scratch, 1, Buffer::Payload, bytes(data)));  // rejected rule
}

TEST_CASE("build: empty rule set", "[rules][hs]") {
  auto cr = build({});
  auto scratch = cr->make_scratch();
  REQUIRE(scratch.ok());
  CHECK(scan(*cr, *scratch, Buffer::Payload, "anything") == V{});
  CHECK(cr->unfiltered_rules().empty());
}

TEST_CASE("scratch: moves keep working", "[rules][hs]") {
  auto cr = build({payload_rule(1, {Content{.bytes = "abc"}})});
  auto made = cr->make_scratch();
  REQUIRE(made.ok());
  Scratch moved = std::move(*made);
  CHECK(scan(*cr, moved, Buffer::Payload, "xabc") == V{0});
}
