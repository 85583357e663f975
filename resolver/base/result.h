// Result<T>: a value or an Error, for code that can fail at start-up or at run time.
#pragma once

#include <string>
#include <utility>

#include <tl/expected.hpp>

namespace holdfast {

// A failure with a human-readable message; start-up errors are printed as they are.
struct Error {
  std::string message;
};

template <class T>
using Result = tl::expected<T, Error>;

inline tl::unexpected<Error> fail(std::string message) {
  return tl::unexpected<Error>(Error{std::move(message)});
}

}  // namespace holdfast
