// Big-endian integers appended to a std::string: how the on-disk formats (entry values, store
// snapshots) are written. Reading goes through dns/wire.h's read_u16/read_u32.
#pragma once

#include <cstdint>
#include <string>

namespace holdfast::cache {

// FORMAT: network byte order, as every other integer Holdfast stores.
inline void put_u16(std::string& out, std::uint16_t v) {
  out.push_back(static_cast<char>(v >> 8));
  out.push_back(static_cast<char>(v));
}
inline void put_u32(std::string& out, std::uint32_t v) {
  put_u16(out, static_cast<std::uint16_t>(v >> 16));
  put_u16(out, static_cast<std::uint16_t>(v));
}
inline void put_u64(std::string& out, std::uint64_t v) {
  put_u32(out, static_cast<std::uint32_t>(v >> 32));
  put_u32(out, static_cast<std::uint32_t>(v));
}

}  // namespace holdfast::cache
