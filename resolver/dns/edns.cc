// Writing the EDNS(0) OPT record with an optional Extended DNS Error, and finding an EDE in one
// (RFC 6891 §6.1.2, RFC 8914 §2).
#include "dns/edns.h"

#include <cstring>

namespace holdfast::dns {
namespace {

constexpr std::size_t kOptFixedLen = 11;     // root name, TYPE, CLASS, TTL, RDLENGTH
constexpr std::size_t kOptionHeaderLen = 4;  // OPTION-CODE, OPTION-LENGTH
constexpr std::size_t kEdeInfoCodeLen = 2;

std::size_t rdata_size(const OptToWrite& opt) noexcept {
  if (!opt.ede_code) return 0;
  return kOptionHeaderLen + kEdeInfoCodeLen + opt.ede_text.size();
}

}  // namespace

std::size_t opt_record_size(const OptToWrite& opt) noexcept {
  return kOptFixedLen + rdata_size(opt);
}

std::size_t write_opt_record(MutableBytes out, std::size_t offset, const OptToWrite& opt) noexcept {
  const std::size_t rdata_len = rdata_size(opt);
  if (rdata_len > 0xffff) return 0;  // EXTRA-TEXT too long for RDLENGTH
  const std::size_t size = kOptFixedLen + rdata_len;
  if (offset > out.size() || out.size() - offset < size) return 0;
  // FORMAT: RFC 6891 §6.1.2/§6.1.3, root owner, TYPE 41, CLASS = UDP payload size,
  // TTL = EXTENDED-RCODE(8) VERSION(8) DO(1) Z(15), then RDLENGTH and the options.
  std::uint8_t* p = out.data() + offset;
  p[0] = 0;
  write_u16(p + 1, qtype::kOpt);
  write_u16(p + 3, opt.udp_size);
  const std::uint32_t ttl =
      (std::uint32_t{opt.extended_rcode} << 24) | (opt.do_bit ? kEdnsDoBit : 0u);
  write_u32(p + 5, ttl);
  write_u16(p + 9, static_cast<std::uint16_t>(rdata_len));
  if (opt.ede_code) {
    // FORMAT: RFC 8914 §2, OPTION-CODE 15, OPTION-LENGTH, INFO-CODE, EXTRA-TEXT (no NUL).
    std::uint8_t* option = p + kOptFixedLen;
    write_u16(option, kEdnsOptionEde);
    write_u16(option + 2, static_cast<std::uint16_t>(kEdeInfoCodeLen + opt.ede_text.size()));
    write_u16(option + 4, *opt.ede_code);
    if (!opt.ede_text.empty()) {
      std::memcpy(option + 6, opt.ede_text.data(), opt.ede_text.size());
    }
  }
  return offset + size;
}

std::optional<std::uint16_t> find_ede_code(Bytes packet, std::size_t rdata_offset,
                                           std::uint16_t rdata_len) noexcept {
  if (rdata_offset > packet.size() || packet.size() - rdata_offset < rdata_len) {
    return std::nullopt;
  }
  const Bytes rdata = packet.subspan(rdata_offset, rdata_len);
  std::size_t pos = 0;
  while (rdata.size() - pos >= kOptionHeaderLen) {
    const std::uint16_t code = read_u16(rdata.data() + pos);
    const std::uint16_t len = read_u16(rdata.data() + pos + 2);
    pos += kOptionHeaderLen;
    if (rdata.size() - pos < len) return std::nullopt;  // option overruns the RDATA
    if (code == kEdnsOptionEde && len >= kEdeInfoCodeLen) return read_u16(rdata.data() + pos);
    pos += len;
  }
  return std::nullopt;
}

}  // namespace holdfast::dns
