// A transparent hash for std::string keys, so unordered maps can be searched with a string_view
// (a cache key built on the stack) without allocating a std::string per lookup.
#pragma once

#include <cstddef>
#include <functional>
#include <string_view>

namespace holdfast {

struct StringHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const noexcept {
    return std::hash<std::string_view>{}(s);
  }
};

}  // namespace holdfast
