// Plain-text tables as docker and runc print them.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace berth::cli {

// `text` followed by spaces up to `width` characters (unchanged when it is as long).
std::string pad(std::string text, size_t width);

// Rows with each column padded to its widest cell, three spaces apart, a newline after each.
std::string aligned_columns(const std::vector<std::vector<std::string>>& rows);

}  // namespace berth::cli
