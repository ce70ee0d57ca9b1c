// Recursive copy of a directory's contents with modes, owners, times and links preserved
// (the "tmpcopyup" mount option: a tmpfs starts with what the image had there).
#pragma once

#include <string>

namespace berth::runtime {

// Copies every entry under from_dir into to_dir (both directory fds); `what` names the
// destination in errors. to_dir also takes from_dir's mode and owner.
void copy_tree(int from_dir, int to_dir, const std::string& what);

}  // namespace berth::runtime
