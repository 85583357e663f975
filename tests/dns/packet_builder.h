// Test-only: assembles DNS packets field by field, so fixtures read in wire order. Names are
// encoded here by hand (dotted, no escapes) to keep the code under test out of its own fixtures.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "dns/wire.h"

namespace holdfast::dns::testing {

class PacketBuilder {
 public:
  PacketBuilder& header(std::uint16_t id, std::uint16_t flags, std::uint16_t qdcount,
                        std::uint16_t ancount = 0, std::uint16_t nscount = 0,
                        std::uint16_t arcount = 0) {
    return u16(id).u16(flags).u16(qdcount).u16(ancount).u16(nscount).u16(arcount);
  }

  PacketBuilder& u8(std::uint8_t v) {
    bytes_.push_back(v);
    return *this;
  }
  PacketBuilder& u16(std::uint16_t v) {
    return u8(static_cast<std::uint8_t>(v >> 8)).u8(static_cast<std::uint8_t>(v));
  }
  PacketBuilder& u32(std::uint32_t v) {
    return u16(static_cast<std::uint16_t>(v >> 16)).u16(static_cast<std::uint16_t>(v));
  }
  PacketBuilder& raw(std::initializer_list<std::uint8_t> v) {
    bytes_.insert(bytes_.end(), v.begin(), v.end());
    return *this;
  }
  PacketBuilder& raw(const std::vector<std::uint8_t>& v) {
    bytes_.insert(bytes_.end(), v.begin(), v.end());
    return *this;
  }

  // One label, no terminator.
  PacketBuilder& label(std::string_view text) {
    u8(static_cast<std::uint8_t>(text.size()));
    for (char c : text) u8(static_cast<std::uint8_t>(c));
    return *this;
  }
  // The labels of a dotted name, without the root label: for names that end in a pointer.
  PacketBuilder& labels(std::string_view dotted) {
    while (!dotted.empty()) {
      const std::size_t dot = dotted.find('.');
      label(dotted.substr(0, dot));
      dotted = dot == std::string_view::npos ? std::string_view{} : dotted.substr(dot + 1);
    }
    return *this;
  }
  // A whole uncompressed name: "www.example.com", "" or "." for the root.
  PacketBuilder& name(std::string_view dotted) {
    if (dotted == ".") dotted = {};
    if (!dotted.empty() && dotted.back() == '.') dotted.remove_suffix(1);
    return labels(dotted).u8(0);
  }
  PacketBuilder& pointer(std::uint16_t offset) {
    return u16(static_cast<std::uint16_t>(0xc000 | offset));
  }

  PacketBuilder& question(std::string_view qname, std::uint16_t qtype,
                          std::uint16_t qclass = kClassIn) {
    return name(qname).u16(qtype).u16(qclass);
  }
  // TYPE, CLASS, TTL, RDLENGTH: for a record whose owner was written separately.
  PacketBuilder& rr_fixed(std::uint16_t type, std::uint16_t rclass, std::uint32_t ttl,
                          std::uint16_t rdlength) {
    return u16(type).u16(rclass).u32(ttl).u16(rdlength);
  }
  PacketBuilder& rr(std::string_view owner, std::uint16_t type, std::uint32_t ttl,
                    const std::vector<std::uint8_t>& rdata) {
    name(owner).rr_fixed(type, kClassIn, ttl, static_cast<std::uint16_t>(rdata.size()));
    return raw(rdata);
  }
  // An OPT RR (RFC 6891 §6.1.2): root owner, CLASS = UDP size, TTL = ext-rcode/version/flags.
  PacketBuilder& opt(std::uint16_t udp_size, std::uint32_t ttl = 0,
                     const std::vector<std::uint8_t>& rdata = {}) {
    u8(0).rr_fixed(qtype::kOpt, udp_size, ttl, static_cast<std::uint16_t>(rdata.size()));
    return raw(rdata);
  }

  std::size_t size() const { return bytes_.size(); }
  const std::vector<std::uint8_t>& bytes() const { return bytes_; }
  std::vector<std::uint8_t>& bytes() { return bytes_; }
  Bytes span() const { return bytes_; }

 private:
  std::vector<std::uint8_t> bytes_;
};

}  // namespace holdfast::dns::testing
