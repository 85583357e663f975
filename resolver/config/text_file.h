// Reading a whole (small) text file with an error message that names the file and the reason.
#pragma once

#include <cstddef>
#include <string>

#include "base/result.h"

namespace holdfast::config {

// A Corefile, an import or a resolv.conf is text of a few kilobytes; a read stops past this, so a
// mistaken path (/dev/zero, a disk image) fails at once instead of filling memory.
inline constexpr std::size_t kMaxTextFileBytes = std::size_t{4} << 20;

// The file's bytes, or Error "cannot read 'PATH': REASON" (strerror text, or "larger than 4 MiB").
Result<std::string> read_text_file(const std::string& path);

// True for a regular file (after symlinks, as a ConfigMap's are); false for a device, a FIFO, a
// socket, a folder or a path that does not exist.
bool is_regular_file(const std::string& path);

}  // namespace holdfast::config
