// Tests for dns/edns.h: the OPT record we write, byte for byte, and finding an EDE in one.
#include "dns/edns.h"

#include <gtest/gtest.h>

#include <vector>

namespace holdfast::dns {
namespace {

using Wire = std::vector<std::uint8_t>;

Wire write(const OptToWrite& opt) {
  Wire out(opt_record_size(opt));
  EXPECT_EQ(write_opt_record(out, 0, opt), out.size());
  return out;
}

TEST(WriteOptRecord, WritesAPlainOpt) {
  OptToWrite opt;  // defaults: UDP 1232, no DO, no EDE
  const Wire expected = {
      0x00,                    // root owner
      0x00, 0x29,              // TYPE OPT
      0x04, 0xd0,              // CLASS: UDP payload 1232
      0x00, 0x00, 0x00, 0x00,  // TTL: ext-rcode 0, version 0, DO 0
      0x00, 0x00,              // RDLENGTH 0
  };
  EXPECT_EQ(opt_record_size(opt), 11u);
  EXPECT_EQ(write(opt), expected);
}

TEST(WriteOptRecord, WritesDoExtendedRcodeAndEdeWithText) {
  OptToWrite opt;
  opt.udp_size = 4096;
  opt.do_bit = true;
  opt.extended_rcode = 1;  // BADVERS = 16 = 1 << 4 | 0
  opt.ede_code = ede::kStaleAnswer;
  opt.ede_text = "old";
  const Wire expected = {
      0x00, 0x00, 0x29,        // root, TYPE OPT
      0x10, 0x00,              // UDP 4096
      0x01, 0x00, 0x80, 0x00,  // ext-rcode 1, version 0, DO
      0x00, 0x09,              // RDLENGTH 9
      0x00, 0x0f,              // OPTION-CODE 15: EDE
      0x00, 0x05,              // OPTION-LENGTH 2 + 3
      0x00, 0x03,              // INFO-CODE 3: Stale Answer
      'o',  'l',  'd',         // EXTRA-TEXT
  };
  EXPECT_EQ(opt_record_size(opt), expected.size());
  EXPECT_EQ(write(opt), expected);
}

TEST(WriteOptRecord, AppendsAtTheOffsetAndReturnsTheNewEnd) {
  OptToWrite opt;
  opt.ede_code = ede::kNoReachableAuthority;
  Wire out(40, 0xaa);
  EXPECT_EQ(write_opt_record(out, 20, opt), 20u + 17u);
  EXPECT_EQ(out[19], 0xaa);
  EXPECT_EQ(out[20], 0x00);
  EXPECT_EQ(out[37], 0xaa);
}

TEST(WriteOptRecord, ReturnsZeroWhenItDoesNotFit) {
  OptToWrite opt;
  opt.ede_code = ede::kOther;
  opt.ede_text = "some text";
  Wire out(opt_record_size(opt) - 1);
  EXPECT_EQ(write_opt_record(out, 0, opt), 0u);
  Wire big(opt_record_size(opt) + 5);
  EXPECT_EQ(write_opt_record(big, 6, opt), 0u);
  EXPECT_EQ(write_opt_record(big, 1000, opt), 0u);
  EXPECT_EQ(write_opt_record(big, 5, opt), big.size());
}

TEST(FindEdeCode, FindsTheCodeAmongOtherOptions) {
  const Wire packet = {
      0xff, 0xff,                          // unrelated bytes before the RDATA
      0x00, 0x0a, 0x00, 0x02, 0xab, 0xcd,  // COOKIE-ish option, 2 bytes
      0x00, 0x0f, 0x00, 0x02, 0x00, 0x16,  // EDE 22
      0x00, 0x0f, 0x00, 0x02, 0x00, 0x03,  // a second EDE: ignored
  };
  EXPECT_EQ(find_ede_code(packet, 2, 18), ede::kNoReachableAuthority);
}

TEST(FindEdeCode, FindsNothingInEmptyOrForeignRdata) {
  const Wire packet = {0x00, 0x0a, 0x00, 0x00};
  EXPECT_FALSE(find_ede_code(packet, 0, 0));
  EXPECT_FALSE(find_ede_code(packet, 0, 4));
}

TEST(FindEdeCode, RejectsOptionsAndRdataThatOverrun) {
  const Wire overrun = {0x00, 0x0a, 0x00, 0x09, 0x00, 0x0f, 0x00, 0x02, 0x00, 0x16};
  EXPECT_FALSE(find_ede_code(overrun, 0, 10));
  const Wire short_ede = {0x00, 0x0f, 0x00, 0x01, 0x00};  // INFO-CODE needs 2 bytes
  EXPECT_FALSE(find_ede_code(short_ede, 0, 5));
  const Wire ok = {0x00, 0x0f, 0x00, 0x02, 0x00, 0x03};
  EXPECT_FALSE(find_ede_code(ok, 0, 7));  // RDATA claims more than the packet has
  EXPECT_FALSE(find_ede_code(ok, 9, 0));  // RDATA offset past the end
  EXPECT_EQ(find_ede_code(ok, 0, 6), 3);
}

}  // namespace
}  // namespace holdfast::dns
