// DNS wire constants and big-endian byte access (RFC 1035 §4.1).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace holdfast::dns {

using Bytes = std::span<const std::uint8_t>;
using MutableBytes = std::span<std::uint8_t>;

inline constexpr std::size_t kHeaderSize = 12;
inline constexpr std::size_t kMaxNameWireLen = 255;  // RFC 1035 §2.3.4
inline constexpr std::size_t kMaxLabelLen = 63;
inline constexpr std::size_t kMaxCompressionHops = 64;
inline constexpr std::size_t kMaxUdpPayloadNoEdns = 512;
inline constexpr std::size_t kDefaultMaxUdpPayload = 1232;  // DNS Flag Day 2020
inline constexpr std::size_t kMaxMessageSize = 65535;

enum class Rcode : std::uint8_t {
  kNoError = 0,
  kFormErr = 1,
  kServFail = 2,
  kNxDomain = 3,
  kNotImp = 4,
  kRefused = 5,
};

enum class Opcode : std::uint8_t { kQuery = 0, kIQuery = 1, kStatus = 2, kNotify = 4, kUpdate = 5 };

namespace qtype {
inline constexpr std::uint16_t kA = 1;
inline constexpr std::uint16_t kNs = 2;
inline constexpr std::uint16_t kCname = 5;
inline constexpr std::uint16_t kSoa = 6;
inline constexpr std::uint16_t kPtr = 12;
inline constexpr std::uint16_t kMx = 15;
inline constexpr std::uint16_t kTxt = 16;
inline constexpr std::uint16_t kAaaa = 28;
inline constexpr std::uint16_t kSrv = 33;
inline constexpr std::uint16_t kOpt = 41;
inline constexpr std::uint16_t kRrsig = 46;
inline constexpr std::uint16_t kAxfr = 252;
inline constexpr std::uint16_t kIxfr = 251;
inline constexpr std::uint16_t kAny = 255;
}  // namespace qtype

inline constexpr std::uint16_t kClassIn = 1;

// Extended DNS Error codes (RFC 8914 §4).
namespace ede {
inline constexpr std::uint16_t kOther = 0;
inline constexpr std::uint16_t kStaleAnswer = 3;
inline constexpr std::uint16_t kStaleNxdomainAnswer = 19;
inline constexpr std::uint16_t kNotReady = 14;
inline constexpr std::uint16_t kNoReachableAuthority = 22;
inline constexpr std::uint16_t kNetworkError = 23;
}  // namespace ede
inline constexpr std::uint16_t kEdnsOptionEde = 15;

// Header flag bits (second 16-bit word).
namespace flag {
inline constexpr std::uint16_t kQr = 0x8000;
inline constexpr std::uint16_t kAa = 0x0400;
inline constexpr std::uint16_t kTc = 0x0200;
inline constexpr std::uint16_t kRd = 0x0100;
inline constexpr std::uint16_t kRa = 0x0080;
inline constexpr std::uint16_t kAd = 0x0020;
inline constexpr std::uint16_t kCd = 0x0010;
}  // namespace flag
inline constexpr std::uint16_t kEdnsDoBit = 0x8000;  // in the OPT TTL's low 16 bits

// Callers check bounds first; these never do.
inline std::uint16_t read_u16(const std::uint8_t* p) noexcept {
  return static_cast<std::uint16_t>((p[0] << 8) | p[1]);
}
inline std::uint32_t read_u32(const std::uint8_t* p) noexcept {
  return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) |
         std::uint32_t{p[3]};
}
inline void write_u16(std::uint8_t* p, std::uint16_t v) noexcept {
  p[0] = static_cast<std::uint8_t>(v >> 8);
  p[1] = static_cast<std::uint8_t>(v);
}
inline void write_u32(std::uint8_t* p, std::uint32_t v) noexcept {
  p[0] = static_cast<std::uint8_t>(v >> 24);
  p[1] = static_cast<std::uint8_t>(v >> 16);
  p[2] = static_cast<std::uint8_t>(v >> 8);
  p[3] = static_cast<std::uint8_t>(v);
}

}  // namespace holdfast::dns
