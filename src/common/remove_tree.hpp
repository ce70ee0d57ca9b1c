// Recursive removal through directory fds: never follows a symlink, never leaves the tree it
// was given, and copes with directories whose mode forbids writing (mode 0555 in an image).
#pragma once

#include <string>

namespace berth {

// Removes name (file, symlink or directory tree) inside dirfd. Absent: nothing happens.
void remove_tree_at(int dirfd, const std::string& name);
// Removes every entry inside the directory dirfd, keeping the directory itself.
void remove_tree_contents(int dirfd, const std::string& what);
// remove_tree_at(AT_FDCWD, path).
void remove_tree(const std::string& path);

}  // namespace berth
