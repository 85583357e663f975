// Tests for dns/name.h: validation and pointer rules of read_name, lower-case copies,
// comparison, presentation form and zone containment.
#include "dns/name.h"

#include <gtest/gtest.h>

#include <array>
#include <random>
#include <string>
#include <vector>

#include "packet_builder.h"

namespace holdfast::dns {
namespace {

using testing::PacketBuilder;

// 12 zero bytes standing in for a header, so that names sit where pointers may reach them.
PacketBuilder after_header() {
  PacketBuilder b;
  b.header(0, 0, 0);
  return b;
}

std::vector<std::uint8_t> wire(std::string_view text) {
  std::string out;
  EXPECT_TRUE(text_to_wire(text, out)) << text;
  return {out.begin(), out.end()};
}

TEST(ReadName, ReadsAnUncompressedName) {
  const auto packet = after_header().name("www.Example.com").bytes();
  const auto name = read_name(packet, 12);
  ASSERT_TRUE(name);
  EXPECT_EQ(name->offset, 12u);
  EXPECT_EQ(name->wire_len, 17u);  // 3www 7Example 3com 0
  EXPECT_EQ(name->full_len, 17u);
}

TEST(ReadName, ReadsTheRootName) {
  const auto packet = after_header().u8(0).bytes();
  const auto name = read_name(packet, 12);
  ASSERT_TRUE(name);
  EXPECT_EQ(name->wire_len, 1u);
  EXPECT_EQ(name->full_len, 1u);
}

TEST(ReadName, FollowsABackwardPointerAndCountsWireBytesUpToIt) {
  auto b = after_header();
  b.name("example.com");        // 12..24
  b.labels("www").pointer(12);  // 25..30
  const auto name = read_name(b.bytes(), 25);
  ASSERT_TRUE(name);
  EXPECT_EQ(name->wire_len, 6u);   // 3www + 2-byte pointer
  EXPECT_EQ(name->full_len, 17u);  // www.example.com. decompressed
}

TEST(ReadName, FollowsAPointerIntoTheMiddleOfAnEarlierName) {
  auto b = after_header();
  b.name("www.example.com");  // 12..28; "example.com" starts at 16
  b.labels("mail").pointer(16);
  const auto name = read_name(b.bytes(), 29);
  ASSERT_TRUE(name);
  EXPECT_EQ(name_to_text(b.bytes(), *name), "mail.example.com.");
}

TEST(ReadName, RejectsAPointerToItself) {
  const auto packet = after_header().pointer(12).bytes();
  EXPECT_FALSE(read_name(packet, 12));
}

TEST(ReadName, RejectsAPointerBackIntoItsOwnLabels) {
  // 12: 01 'a' C0 0C -- points at the start of its own name: an endless "a.a.a...".
  const auto packet = after_header().label("a").pointer(12).bytes();
  EXPECT_FALSE(read_name(packet, 12));
}

TEST(ReadName, RejectsAForwardPointer) {
  auto b = after_header();
  b.pointer(14).name("example");
  EXPECT_FALSE(read_name(b.bytes(), 12));
}

TEST(ReadName, RejectsAPointerIntoTheHeader) {
  auto b = after_header();
  b.name("a").pointer(5);
  EXPECT_FALSE(read_name(b.bytes(), 15));
}

TEST(ReadName, RejectsAPointerWhoseSecondByteIsMissing) {
  auto b = after_header();
  b.name("a").u8(0xc0);
  EXPECT_FALSE(read_name(b.bytes(), 15));
}

TEST(ReadName, RejectsReservedLabelTypes) {
  for (std::uint8_t type : {std::uint8_t{0x40}, std::uint8_t{0x41}, std::uint8_t{0x80}}) {
    const auto packet = after_header().u8(type).u8(0).u8(0).bytes();
    EXPECT_FALSE(read_name(packet, 12)) << int{type};
  }
}

TEST(ReadName, RejectsALabelRunningPastThePacket) {
  const auto packet = after_header().u8(5).raw({'a', 'b', 'c'}).bytes();
  EXPECT_FALSE(read_name(packet, 12));
}

TEST(ReadName, RejectsANameWithoutItsRootLabel) {
  const auto packet = after_header().label("abc").bytes();
  EXPECT_FALSE(read_name(packet, 12));
}

TEST(ReadName, RejectsAnOffsetAtOrPastTheEnd) {
  const auto packet = after_header().name("a").bytes();
  EXPECT_FALSE(read_name(packet, packet.size()));
  EXPECT_FALSE(read_name(packet, packet.size() + 100));
}

TEST(ReadName, AcceptsExactly255BytesAndRejects256) {
  // 3 x (63+1) + 61+1 + root = 255.
  const std::string l63(63, 'x');
  auto ok = after_header();
  ok.label(l63).label(l63).label(l63).label(std::string(61, 'y')).u8(0);
  const auto name = read_name(ok.bytes(), 12);
  ASSERT_TRUE(name);
  EXPECT_EQ(name->full_len, 255u);

  auto too_long = after_header();
  too_long.label(l63).label(l63).label(l63).label(std::string(62, 'y')).u8(0);
  EXPECT_FALSE(read_name(too_long.bytes(), 12));
}

TEST(ReadName, RejectsMoreThan255BytesReachedThroughPointers) {
  const std::string l63(63, 'x');
  auto b = after_header();
  b.label(l63).label(l63).u8(0);  // 12: 129 bytes
  const std::size_t second = b.size();
  b.label(l63).label(l63).pointer(12);  // 128 + 129 = 257 decompressed
  EXPECT_TRUE(read_name(b.bytes(), 12));
  EXPECT_FALSE(read_name(b.bytes(), second));
}

// A root label at 12, then `hops` pointers each pointing at the one before it.
std::vector<std::uint8_t> pointer_chain(std::size_t hops) {
  auto b = after_header();
  b.u8(0);
  for (std::size_t i = 0; i < hops; ++i)
    b.pointer(static_cast<std::uint16_t>(i == 0 ? 12 : 13 + 2 * (i - 1)));
  return b.bytes();
}

TEST(ReadName, AcceptsTheMaximumNumberOfPointerHops) {
  const auto packet = pointer_chain(kMaxCompressionHops);
  const auto name = read_name(packet, packet.size() - 2);
  ASSERT_TRUE(name);
  EXPECT_EQ(name->wire_len, 2u);
  EXPECT_EQ(name->full_len, 1u);
}

TEST(ReadName, RejectsOneHopMoreThanTheMaximum) {
  const auto packet = pointer_chain(kMaxCompressionHops + 1);
  EXPECT_FALSE(read_name(packet, packet.size() - 2));
}

TEST(CopyNameLower, DecompressesAndLowerCasesAsciiOnly) {
  auto b = after_header();
  b.name("Example.COM");
  const std::size_t offset = b.size();
  b.labels("WwW").u8(1).u8(0xc9).pointer(12);  // 0xC9 (É in Latin-1) is not ASCII: kept
  const auto name = read_name(b.bytes(), offset);
  ASSERT_TRUE(name);
  std::array<std::uint8_t, kMaxNameWireLen> out{};
  const std::size_t len = copy_name_lower(b.bytes(), *name, out.data());
  const std::vector<std::uint8_t> expected = {3,   'w', 'w', 'w', 1, 0xc9, 7,   'e', 'x', 'a',
                                              'm', 'p', 'l', 'e', 3, 'c',  'o', 'm', 0};
  ASSERT_EQ(len, name->full_len);
  EXPECT_EQ(std::vector<std::uint8_t>(out.begin(), out.begin() + len), expected);
}

// The uncompressed fast path (every query's question) folds exactly what the label walk does:
// A-Z only, never the length bytes, '@' (0x40), '[' (0x5B), '`' (0x60), '{' (0x7B) or 0xC9.
TEST(CopyNameLower, FoldsAnUncompressedNameLikeTheLabelWalk) {
  auto b = after_header();
  const std::size_t offset = b.size();
  b.labels("AZ@[`{az").u8(1).u8(0xc9).labels("Example").u8(0);
  const auto name = read_name(b.bytes(), offset);
  ASSERT_TRUE(name);
  ASSERT_EQ(name->wire_len, name->full_len);
  std::array<std::uint8_t, kMaxNameWireLen> out{};
  const std::size_t len = copy_name_lower(b.bytes(), *name, out.data());
  const std::vector<std::uint8_t> expected = {8,    'a', 'z', '@', '[', '`', '{', 'a', 'z', 1,
                                              0xc9, 7,   'e', 'x', 'a', 'm', 'p', 'l', 'e', 0};
  EXPECT_EQ(std::vector<std::uint8_t>(out.begin(), out.begin() + len), expected);
}

// Every length from the root alone up to 40 bytes: whole 8-byte words, then the last 1..7 bytes
// (an overlapping word, or one at a time under 8 bytes), and nothing written past the name.
// read_name() against a plain label walk over random names without compression pointers:
// labels of random lengths (sometimes a bad label type, sometimes running past the end, sometimes
// past 255 bytes in all). Its fast path must decide exactly as the walker does.
TEST(ReadName, AgreesWithAPlainLabelWalkOnRandomUncompressedNames) {
  std::mt19937 rng(2026);
  for (int round = 0; round < 20000; ++round) {
    std::vector<std::uint8_t> packet(12, 0);
    const int labels = static_cast<int>(rng() % 12);
    for (int l = 0; l < labels; ++l) {
      std::uint8_t len = static_cast<std::uint8_t>(rng() % 64);
      if (rng() % 50 == 0) len = static_cast<std::uint8_t>(0x40 | (rng() % 64));  // bad type
      if (len == 0) len = 1;
      packet.push_back(len);
      for (int i = 0; i < (len & 0x3f); ++i) packet.push_back(static_cast<std::uint8_t>(rng()));
    }
    packet.push_back(0);
    if (rng() % 10 == 0) packet.resize(12 + rng() % (packet.size() - 12));  // cut short
    // The reference: labels until the root, each within the packet, 255 bytes at most.
    std::optional<std::size_t> expected;
    for (std::size_t pos = 12; pos < packet.size();) {
      const std::uint8_t len = packet[pos];
      if (len == 0) {
        if (pos + 1 - 12 <= kMaxNameWireLen) expected = pos + 1 - 12;
        break;
      }
      if ((len & 0xc0) != 0 || pos + 1 + len > packet.size()) break;
      pos += 1 + std::size_t{len};
    }
    const auto name = read_name(packet, 12);
    ASSERT_EQ(name.has_value(), expected.has_value()) << "round " << round;
    if (name) {
      EXPECT_EQ(name->full_len, *expected);
      EXPECT_EQ(name->wire_len, *expected);
      EXPECT_EQ(name->offset, 12u);
    }
  }
}

TEST(CopyNameLower, FoldsEveryLengthAndWritesNothingPastTheName) {
  for (std::size_t label_len = 0; label_len <= 38; ++label_len) {
    auto b = after_header();
    const std::size_t offset = b.size();
    std::vector<std::uint8_t> expected;
    if (label_len > 0) {
      b.u8(static_cast<std::uint8_t>(label_len));
      expected.push_back(static_cast<std::uint8_t>(label_len));
      for (std::size_t i = 0; i < label_len; ++i) {
        b.u8(static_cast<std::uint8_t>('A' + i % 26));
        expected.push_back(static_cast<std::uint8_t>('a' + i % 26));
      }
    }
    b.u8(0);
    expected.push_back(0);
    const auto name = read_name(b.bytes(), offset);
    ASSERT_TRUE(name) << label_len;
    ASSERT_EQ(name->full_len, expected.size());
    std::array<std::uint8_t, kMaxNameWireLen + 8> out;
    out.fill(0xee);
    const std::size_t len = copy_name_lower(b.bytes(), *name, out.data());
    ASSERT_EQ(len, expected.size());
    EXPECT_EQ(std::vector<std::uint8_t>(out.begin(), out.begin() + len), expected) << label_len;
    EXPECT_EQ(out[len], 0xee) << "written past the name at length " << len;
  }
}

TEST(CopyNameLower, FoldsEveryByteValueAsAsciiLowerDoes) {
  for (int first = 0; first < 256; first += 120) {
    auto b = after_header();
    const std::size_t offset = b.size();
    std::vector<std::uint8_t> expected;
    for (int label = 0; label < 2; ++label) {  // 2 labels of 60 bytes: 120 byte values
      b.u8(60);
      expected.push_back(60);
      for (int i = 0; i < 60; ++i) {
        const auto c = static_cast<std::uint8_t>((first + label * 60 + i) & 0xff);
        b.u8(c);
        expected.push_back(c >= 'A' && c <= 'Z' ? static_cast<std::uint8_t>(c + 32) : c);
      }
    }
    b.u8(0);
    expected.push_back(0);
    const auto name = read_name(b.bytes(), offset);
    ASSERT_TRUE(name);
    std::array<std::uint8_t, kMaxNameWireLen> out{};
    const std::size_t len = copy_name_lower(b.bytes(), *name, out.data());
    EXPECT_EQ(std::vector<std::uint8_t>(out.begin(), out.begin() + len), expected) << first;
  }
}

TEST(IsLowerSubdomain, AgreesWithIsSubdomain) {
  const char* names[] = {".",
                         "com",
                         "example.com",
                         "www.example.com",
                         "badexample.com",
                         "example.org",
                         "a.b.c.example.com",
                         "xample.com",
                         "e.com"};
  for (const char* name : names) {
    for (const char* zone : names) {
      EXPECT_EQ(is_lower_subdomain(wire(name), wire(zone)), is_subdomain(wire(name), wire(zone)))
          << name << " under " << zone;
    }
  }
  const std::vector<std::uint8_t> empty;
  EXPECT_FALSE(is_lower_subdomain(wire("com"), empty));
}

TEST(NamesEqual, IgnoresAsciiCaseAcrossPacketsAndCompression) {
  auto a = after_header();
  a.name("example.com");
  a.labels("WWW").pointer(12);
  const auto b = after_header().name("www.EXAMPLE.Com").bytes();
  const auto name_a = read_name(a.bytes(), 25);
  const auto name_b = read_name(b, 12);
  ASSERT_TRUE(name_a && name_b);
  EXPECT_TRUE(names_equal(a.bytes(), *name_a, b, *name_b));
  EXPECT_TRUE(names_equal(b, *name_b, a.bytes(), *name_a));
}

TEST(NamesEqual, TellsDifferentNamesApart) {
  const auto a = after_header().name("ab.c").bytes();
  const auto b = after_header().name("a.bc").bytes();  // same length, different labels
  const auto c = after_header().name("ab.d").bytes();
  const auto na = read_name(a, 12), nb = read_name(b, 12), nc = read_name(c, 12);
  ASSERT_TRUE(na && nb && nc);
  EXPECT_FALSE(names_equal(a, *na, b, *nb));
  EXPECT_FALSE(names_equal(a, *na, c, *nc));
}

TEST(NamesEqual, DoesNotFoldNonAsciiBytes) {
  const auto a = after_header().u8(1).u8(0xc9).u8(0).bytes();  // 0xC9
  const auto b = after_header().u8(1).u8(0xe9).u8(0).bytes();  // 0xE9 = 0xC9 + 0x20
  EXPECT_FALSE(names_equal(a, *read_name(a, 12), b, *read_name(b, 12)));
}

TEST(NameToText, WritesTheRootAsADot) {
  const auto packet = after_header().u8(0).bytes();
  EXPECT_EQ(name_to_text(packet, *read_name(packet, 12)), ".");
}

TEST(NameToText, EscapesSpecialAndNonPrintableBytes) {
  // 05 'a' '.' 'b' '\' ' '   01 0xFF   00
  const auto packet = after_header().raw({5, 'a', '.', 'b', '\\', ' ', 1, 0xff, 0}).bytes();
  EXPECT_EQ(name_to_text(packet, *read_name(packet, 12)), "a\\.b\\\\\\032.\\255.");
}

TEST(TextToWire, EncodesWithOrWithoutTheTrailingDot) {
  const std::vector<std::uint8_t> expected = {1, 'a', 2, 'b', 'c', 0};
  EXPECT_EQ(wire("a.bc."), expected);
  EXPECT_EQ(wire("a.bc"), expected);
  EXPECT_EQ(wire("."), std::vector<std::uint8_t>{0});
}

TEST(TextToWire, DecodesEscapes) {
  EXPECT_EQ(wire("a\\.b.c"), (std::vector<std::uint8_t>{3, 'a', '.', 'b', 1, 'c', 0}));
  EXPECT_EQ(wire("\\065\\000\\255"), (std::vector<std::uint8_t>{3, 'A', 0, 255, 0}));
  EXPECT_EQ(wire("\\\\"), (std::vector<std::uint8_t>{1, '\\', 0}));
}

TEST(TextToWire, AppendsToWhatIsAlreadyThere) {
  std::string out = "xy";
  ASSERT_TRUE(text_to_wire("a", out));
  EXPECT_EQ(out, std::string("xy\x01"
                             "a",
                             4) +
                     '\0');
}

TEST(TextToWire, RejectsBadNamesAndLeavesTheOutputAlone) {
  const std::string l63(63, 'x');
  for (std::string_view bad : {"", "..", ".a", "a..b", "a\\", "a\\25", "a\\2x5", "\\256"}) {
    std::string out = "keep";
    EXPECT_FALSE(text_to_wire(bad, out)) << bad;
    EXPECT_EQ(out, "keep") << bad;
  }
  std::string out;
  EXPECT_TRUE(text_to_wire(l63, out));
  EXPECT_FALSE(text_to_wire(l63 + "x", out));
  // 4 labels of 63: 4 * 64 + root = 257 bytes.
  EXPECT_FALSE(text_to_wire(l63 + "." + l63 + "." + l63 + "." + l63, out));
  EXPECT_EQ(out.size(), 65u);
}

TEST(TextToWire, RoundTripsThroughNameToText) {
  for (std::string_view text : {".", "example.com.", "Mixed.Case.", "a\\.b.c.", "tab\\009.x.",
                                "\\000\\255.", "q\\\"\\;.", "slash\\\\.end."}) {
    std::string out(12, '\0');  // a zero header in front
    ASSERT_TRUE(text_to_wire(text, out)) << text;
    const Bytes packet(reinterpret_cast<const std::uint8_t*>(out.data()), out.size());
    const auto name = read_name(packet, 12);
    ASSERT_TRUE(name) << text;
    EXPECT_EQ(name->wire_len, out.size() - 12);
    EXPECT_EQ(name_to_text(packet, *name), text);
  }
}

TEST(IsSubdomain, AcceptsTheZoneItselfAndNamesBelowIt) {
  EXPECT_TRUE(is_subdomain(wire("example.com"), wire("example.com")));
  EXPECT_TRUE(is_subdomain(wire("www.example.com"), wire("example.com")));
  EXPECT_TRUE(is_subdomain(wire("a.b.c.example.com"), wire("com")));
}

TEST(IsSubdomain, RootContainsEverything) {
  EXPECT_TRUE(is_subdomain(wire("www.example.com"), wire(".")));
  EXPECT_TRUE(is_subdomain(wire("."), wire(".")));
}

TEST(IsSubdomain, RequiresALabelBoundary) {
  EXPECT_FALSE(is_subdomain(wire("badexample.com"), wire("example.com")));
  EXPECT_FALSE(is_subdomain(wire("example.com"), wire("www.example.com")));
  EXPECT_FALSE(is_subdomain(wire("example.org"), wire("example.com")));
  EXPECT_FALSE(is_subdomain(wire("."), wire("com")));
}

TEST(IsSubdomain, RejectsMalformedWireNames) {
  const std::vector<std::uint8_t> no_root = {3, 'c', 'o', 'm'};
  const std::vector<std::uint8_t> pointer = {3, 'c', 'o', 'm', 0xc0, 0x00};
  const std::vector<std::uint8_t> empty;
  EXPECT_FALSE(is_subdomain(no_root, wire(".")));
  EXPECT_FALSE(is_subdomain(pointer, wire(".")));
  EXPECT_FALSE(is_subdomain(empty, wire(".")));
  EXPECT_FALSE(is_subdomain(wire("com"), empty));
}

}  // namespace
}  // namespace holdfast::dns
