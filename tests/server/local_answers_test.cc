// CHAOS and ANY answered from the query alone.
#include "server/local_answers.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "dns/header.h"
#include "dns/message.h"
#include "dns/wire.h"

namespace holdfast::server {
namespace {

// A query for `name` (dotted, no trailing dot), with `qtype`/`qclass`, ID 0xbeef, RD, and an OPT
// record when `edns`.
std::vector<std::uint8_t> query(const std::string& name, std::uint16_t qtype, std::uint16_t qclass,
                                bool edns = false) {
  std::vector<std::uint8_t> q = {
      0xbe, 0xef, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, static_cast<std::uint8_t>(edns ? 1 : 0)};
  std::size_t start = 0;
  while (start < name.size()) {
    std::size_t dot = name.find('.', start);
    if (dot == std::string::npos) dot = name.size();
    q.push_back(static_cast<std::uint8_t>(dot - start));
    q.insert(q.end(), name.begin() + static_cast<std::ptrdiff_t>(start),
             name.begin() + static_cast<std::ptrdiff_t>(dot));
    start = dot + 1;
  }
  q.push_back(0);
  q.insert(q.end(), {static_cast<std::uint8_t>(qtype >> 8), static_cast<std::uint8_t>(qtype),
                     static_cast<std::uint8_t>(qclass >> 8), static_cast<std::uint8_t>(qclass)});
  if (edns) q.insert(q.end(), {0, 0, 41, 0x04, 0xd0, 0, 0, 0, 0, 0, 0});
  return q;
}

struct Reply {
  LocalAnswer answer;
  std::vector<std::uint8_t> bytes;
};

Reply ask(const std::vector<std::uint8_t>& packet, const config::ServerBlock* block) {
  Reply r;
  r.bytes.resize(4096);
  const dns::ParsedQuery parsed = dns::parse_query(packet);
  EXPECT_EQ(parsed.error, dns::QueryError::kNone);
  r.answer = answer_locally(packet, parsed, block, "holdfast-9.9", "node-7", r.bytes);
  r.bytes.resize(r.answer.length);
  return r;
}

// The TXT strings of the one answer record.
std::vector<std::string> txt_strings(const Reply& r, std::size_t question_end) {
  std::vector<std::string> out;
  const std::uint8_t* rr = r.bytes.data() + question_end;
  const std::size_t rdlength = dns::read_u16(rr + 10);
  const std::uint8_t* p = rr + 12;
  for (std::size_t at = 0; at < rdlength;) {
    out.emplace_back(reinterpret_cast<const char*>(p + at + 1), p[at]);
    at += 1 + p[at];
  }
  return out;
}

TEST(LocalAnswers, ChaosWithoutTheDirectiveIsRefusedNeverForwarded) {
  config::ServerBlock block;
  for (const char* name : {"version.bind", "hostname.bind", "id.server", "anything.example"}) {
    EXPECT_EQ(ask(query(name, 16, kClassChaos), &block).answer.kind, LocalKind::kRefuse) << name;
  }
  EXPECT_EQ(ask(query("version.bind", 16, kClassChaos), nullptr).answer.kind, LocalKind::kRefuse);
}

TEST(LocalAnswers, ChaosDirectiveAnswersVersionHostnameAndAuthors) {
  config::ServerBlock block;
  block.chaos = config::ChaosConfig{};
  const auto packet = query("VERSION.bind", 16, kClassChaos, true);
  const Reply r = ask(packet, &block);
  ASSERT_EQ(r.answer.kind, LocalKind::kAnswer);
  const auto header = dns::read_header(r.bytes);
  ASSERT_TRUE(header);
  EXPECT_EQ(header->id, 0xbeef);
  EXPECT_EQ(header->ancount, 1);
  EXPECT_EQ(header->arcount, 1);  // the OPT is kept, after the answer
  const std::size_t question_end = packet.size() - 11;
  EXPECT_EQ(txt_strings(r, question_end), std::vector<std::string>{"holdfast-9.9"});
  EXPECT_EQ(dns::read_u16(r.bytes.data() + question_end + 4), kClassChaos);

  block.chaos->version = "my-dns";
  block.chaos->authors = {"alice", "bob"};
  EXPECT_EQ(txt_strings(ask(query("version.server", 16, kClassChaos), &block),
                        query("version.server", 16, kClassChaos).size()),
            std::vector<std::string>{"my-dns"});
  EXPECT_EQ(txt_strings(ask(query("id.server", 16, kClassChaos), &block),
                        query("id.server", 16, kClassChaos).size()),
            std::vector<std::string>{"node-7"});
  EXPECT_EQ(txt_strings(ask(query("authors.bind", 16, kClassChaos), &block),
                        query("authors.bind", 16, kClassChaos).size()),
            (std::vector<std::string>{"alice", "bob"}));
  EXPECT_EQ(ask(query("other.bind", 16, kClassChaos), &block).answer.kind, LocalKind::kRefuse);
  EXPECT_EQ(ask(query("version.bind", 1, kClassChaos), &block).answer.kind, LocalKind::kRefuse);
}

TEST(LocalAnswers, AnyGetsOneSynthesizedHinfo) {
  config::ServerBlock block;
  const auto packet = query("svc.ns.svc.cluster.local", 255, dns::kClassIn);
  const Reply r = ask(packet, &block);
  ASSERT_EQ(r.answer.kind, LocalKind::kAnswer);
  const std::uint8_t* rr = r.bytes.data() + packet.size();
  EXPECT_EQ(dns::read_u16(rr + 2), 13);  // HINFO
  EXPECT_EQ(dns::read_u16(rr + 10), 9);  // "RFC8482" ""
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(rr + 13), 7), "RFC8482");
  EXPECT_EQ(dns::read_header(r.bytes)->rcode(), 0);
  // Other types are not local; ANY with no zone is left to the pipeline (REFUSED there).
  EXPECT_EQ(ask(query("svc.ns.svc.cluster.local", 1, dns::kClassIn), &block).answer.kind,
            LocalKind::kNone);
  EXPECT_EQ(ask(packet, nullptr).answer.kind, LocalKind::kNone);
}

}  // namespace
}  // namespace holdfast::server
