// Domain names on the wire: the label walk that enforces RFC 1035 §4.1.4 on hostile input, and
// everything built on it (validation, lower-case copy, comparison, presentation form).
#include "dns/name.h"

#include <cstring>

namespace holdfast::dns {
namespace {

constexpr std::uint8_t kLabelTypeMask = 0xc0;
constexpr std::uint8_t kPointerType = 0xc0;  // 0b11; 0b01 (EDNS0 extended) and 0b10 are rejected

// Lower-cases ASCII only (RFC 4343). Label length bytes are <= 63, below 'A', so whole wire
// names can be folded byte by byte.
constexpr std::uint8_t ascii_lower(std::uint8_t c) noexcept {
  return (c >= 'A' && c <= 'Z') ? static_cast<std::uint8_t>(c + ('a' - 'A')) : c;
}

// Walks the labels of a possibly compressed name, one label per next(). Every rule of read_name
// is checked here, so every function in this file is safe on any bytes.
class LabelWalker {
 public:
  enum class Step : std::uint8_t { kLabel, kEnd, kBad };

  LabelWalker(Bytes packet, std::size_t offset) noexcept
      : packet_(packet), pos_(offset), segment_start_(offset) {}

  Step next() noexcept {
    for (;;) {
      if (pos_ >= packet_.size()) return Step::kBad;
      const std::uint8_t len = packet_[pos_];
      const std::uint8_t type = len & kLabelTypeMask;
      if (type == 0) {
        if (len == 0) {
          full_len_ += 1;
          if (!jumped_) wire_end_ = pos_ + 1;
          return Step::kEnd;
        }
        if (packet_.size() - pos_ - 1 < len) return Step::kBad;
        full_len_ += 1 + std::size_t{len};
        if (full_len_ + 1 > kMaxNameWireLen) return Step::kBad;  // the root label is still to come
        label_ = packet_.subspan(pos_ + 1, len);
        pos_ += 1 + std::size_t{len};
        return Step::kLabel;
      }
      if (type != kPointerType) return Step::kBad;
      if (packet_.size() - pos_ < 2) return Step::kBad;
      const std::size_t target = (std::size_t{len & 0x3fu} << 8) | packet_[pos_ + 1];
      // Strictly before the start of the run of labels we are in: each hop lands earlier than
      // the last, so no loop is possible. Names never live in the header.
      if (target < kHeaderSize || target >= segment_start_) return Step::kBad;
      if (++hops_ > kMaxCompressionHops) return Step::kBad;
      if (!jumped_) {
        wire_end_ = pos_ + 2;
        jumped_ = true;
      }
      pos_ = target;
      segment_start_ = target;
    }
  }

  Bytes label() const noexcept { return label_; }
  std::size_t wire_end() const noexcept { return wire_end_; }
  std::size_t full_len() const noexcept { return full_len_; }

 private:
  Bytes packet_;
  std::size_t pos_;
  std::size_t segment_start_;
  std::size_t wire_end_ = 0;
  std::size_t full_len_ = 0;
  std::size_t hops_ = 0;
  bool jumped_ = false;
  Bytes label_;
};

using Step = LabelWalker::Step;

bool labels_equal(Bytes a, Bytes b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (ascii_lower(a[i]) != ascii_lower(b[i])) return false;
  }
  return true;
}

// Length of the uncompressed wire name at the start of `wire`, root label included.
std::optional<std::size_t> uncompressed_len(Bytes wire) noexcept {
  std::size_t pos = 0;
  while (pos < wire.size() && pos < kMaxNameWireLen) {
    const std::uint8_t len = wire[pos];
    if (len == 0) return pos + 1;
    if ((len & kLabelTypeMask) != 0) return std::nullopt;
    pos += 1 + std::size_t{len};
  }
  return std::nullopt;
}

// True for bytes that go into presentation form with a backslash in front (RFC 1035 §5.1).
bool needs_backslash(std::uint8_t c) noexcept {
  switch (c) {
    case '.':
    case '\\':
    case '"':
    case '(':
    case ')':
    case ';':
    case '@':
    case '$':
      return true;
    default:
      return false;
  }
}

void append_escaped(std::string& text, std::uint8_t c) {
  if (c <= 0x20 || c >= 0x7f) {
    text.push_back('\\');
    text.push_back(static_cast<char>('0' + c / 100));
    text.push_back(static_cast<char>('0' + (c / 10) % 10));
    text.push_back(static_cast<char>('0' + c % 10));
    return;
  }
  if (needs_backslash(c)) text.push_back('\\');
  text.push_back(static_cast<char>(c));
}

bool is_digit(char c) noexcept {
  return c >= '0' && c <= '9';
}

// Copies 8 bytes of a name, ASCII upper case folded to lower (SWAR), without touching the length
// bytes (<= 63, below 'A').
inline void fold_word(const std::uint8_t* in, std::uint8_t* out) noexcept {
  constexpr std::uint64_t kOnes = 0x0101010101010101ULL;
  constexpr std::uint64_t kHigh = 0x8080808080808080ULL;
  std::uint64_t word;
  std::memcpy(&word, in, 8);
  const std::uint64_t low7 = word & ~kHigh;
  const std::uint64_t at_least_a = low7 + kOnes * (0x80 - 'A');       // high bit: byte >= 'A'
  const std::uint64_t above_z = low7 + kOnes * (0x7f - 'Z');          // high bit: byte > 'Z'
  const std::uint64_t upper = at_least_a & ~above_z & ~word & kHigh;  // and ASCII
  word |= upper >> 2;  // 0x80 >> 2 = 0x20: 'A' -> 'a'
  std::memcpy(out, &word, 8);
}

}  // namespace

std::optional<NameRef> read_name(Bytes packet, std::size_t offset) noexcept {
  // Fast path, an uncompressed name within bounds and within 255 bytes (every query's question):
  // a few instructions a label, where the walker takes ~20 (callgrind: 129 a query). Anything
  // else — a pointer, a bad label type, a label past the end, too long — goes to the walker,
  // which decides exactly as before.
  for (std::size_t pos = offset; pos < packet.size();) {
    const std::uint8_t len = packet[pos];
    if (len == 0) {
      const std::size_t full = pos + 1 - offset;
      return NameRef{offset, full, full};
    }
    if (len > 63 || packet.size() - pos - 1 < len || pos + 2 + len - offset > kMaxNameWireLen) {
      break;
    }
    pos += 1 + std::size_t{len};
  }
  LabelWalker walker(packet, offset);
  for (;;) {
    switch (walker.next()) {
      case Step::kLabel:
        continue;
      case Step::kEnd:
        return NameRef{offset, walker.wire_end() - offset, walker.full_len()};
      case Step::kBad:
        return std::nullopt;
    }
  }
}

std::size_t copy_name_lower(Bytes packet, const NameRef& name, std::uint8_t* out) noexcept {
  if (name.wire_len == name.full_len && name.offset + name.full_len <= packet.size() &&
      name.full_len > 0) {
    // Uncompressed (every query's question): the bytes as they are, folded 8 at a time (SWAR)
    // without touching the length bytes (<= 63, below 'A'). The label walk cost ~15
    // instructions a byte on every query (callgrind, bench/compare's names).
    const std::uint8_t* in = packet.data() + name.offset;
    std::size_t i = 0;
    for (; i + 8 <= name.full_len; i += 8) fold_word(in + i, out + i);
    if (i < name.full_len && name.full_len >= 8) {
      // The last 1..7 bytes as one word ending at the name's end: the bytes it folds again come
      // out the same (folding is idempotent).
      fold_word(in + name.full_len - 8, out + name.full_len - 8);
      return name.full_len;
    }
    for (; i < name.full_len; ++i) out[i] = ascii_lower(in[i]);
    return name.full_len;
  }
  LabelWalker walker(packet, name.offset);
  std::size_t written = 0;
  for (;;) {
    switch (walker.next()) {
      case Step::kLabel: {
        const Bytes label = walker.label();
        out[written++] = static_cast<std::uint8_t>(label.size());
        for (std::uint8_t c : label) out[written++] = ascii_lower(c);
        continue;
      }
      case Step::kEnd:
        out[written++] = 0;
        return written;
      case Step::kBad:
        return 0;  // not a name from read_name: the caller broke the contract
    }
  }
}

bool names_equal(Bytes packet_a, const NameRef& a, Bytes packet_b, const NameRef& b) noexcept {
  if (a.full_len != b.full_len) return false;
  LabelWalker walk_a(packet_a, a.offset);
  LabelWalker walk_b(packet_b, b.offset);
  for (;;) {
    const Step step_a = walk_a.next();
    const Step step_b = walk_b.next();
    if (step_a == Step::kBad || step_b == Step::kBad || step_a != step_b) return false;
    if (step_a == Step::kEnd) return true;
    if (!labels_equal(walk_a.label(), walk_b.label())) return false;
  }
}

std::string name_to_text(Bytes packet, const NameRef& name) {
  LabelWalker walker(packet, name.offset);
  std::string text;
  for (;;) {
    switch (walker.next()) {
      case Step::kLabel:
        for (std::uint8_t c : walker.label()) append_escaped(text, c);
        text.push_back('.');
        continue;
      case Step::kEnd:
        if (text.empty()) text.push_back('.');
        return text;
      case Step::kBad:
        return {};
    }
  }
}

bool text_to_wire(std::string_view text, std::string& out) {
  if (text.empty()) return false;
  if (text == ".") {
    out.push_back('\0');
    return true;
  }
  const std::size_t start = out.size();
  auto fail = [&] {
    out.resize(start);
    return false;
  };
  std::size_t len_pos = out.size();
  std::size_t label_len = 0;
  out.push_back('\0');
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '.') {
      if (label_len == 0) return fail();  // empty label: "..", ".a" or "a..", RFC 1035 §3.1
      out[len_pos] = static_cast<char>(label_len);
      len_pos = out.size();
      label_len = 0;
      out.push_back('\0');
      continue;
    }
    unsigned char c = static_cast<unsigned char>(text[i]);
    if (c == '\\') {
      if (i + 1 >= text.size()) return fail();
      if (is_digit(text[i + 1])) {
        if (i + 3 >= text.size() || !is_digit(text[i + 2]) || !is_digit(text[i + 3])) {
          return fail();
        }
        const int value =
            (text[i + 1] - '0') * 100 + (text[i + 2] - '0') * 10 + (text[i + 3] - '0');
        if (value > 255) return fail();
        c = static_cast<unsigned char>(value);
        i += 3;
      } else {
        c = static_cast<unsigned char>(text[i + 1]);
        i += 1;
      }
    }
    if (label_len == kMaxLabelLen) return fail();
    out.push_back(static_cast<char>(c));
    ++label_len;
    if (out.size() - start >= kMaxNameWireLen) return fail();  // no room left for the root
  }
  if (label_len > 0) {  // no trailing dot: close the last label, then the root
    out[len_pos] = static_cast<char>(label_len);
    out.push_back('\0');
  }
  if (out.size() - start > kMaxNameWireLen) return fail();
  return true;
}

bool is_subdomain(Bytes name_wire, Bytes zone_wire) noexcept {
  const auto name_len = uncompressed_len(name_wire);
  const auto zone_len = uncompressed_len(zone_wire);
  if (!name_len || !zone_len || *zone_len > *name_len) return false;
  // The zone must be a suffix of the name that starts on a label boundary.
  std::size_t pos = 0;
  while (*name_len - pos > *zone_len) pos += 1 + std::size_t{name_wire[pos]};
  if (*name_len - pos != *zone_len) return false;
  return labels_equal(name_wire.subspan(pos, *zone_len), zone_wire.first(*zone_len));
}

bool is_lower_subdomain(Bytes name, Bytes zone) noexcept {
  if (zone.empty() || zone.size() > name.size()) return false;
  const std::size_t start = name.size() - zone.size();
  if (std::memcmp(name.data() + start, zone.data(), zone.size()) != 0) return false;
  // A suffix of the same bytes: it must also start on a label boundary of the name.
  std::size_t pos = 0;
  while (pos < start) pos += 1 + std::size_t{name[pos]};
  return pos == start;
}

}  // namespace holdfast::dns
