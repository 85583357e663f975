// Reading a whole (small) text file with an error message that names the file and the reason.
#pragma once

#include <string>

#include "base/result.h"

namespace holdfast::config {

// The file's bytes, or Error "cannot read 'PATH': REASON" (strerror text).
Result<std::string> read_text_file(const std::string& path);

}  // namespace holdfast::config
