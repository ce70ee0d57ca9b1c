#include "cli/text_table.hpp"

#include <algorithm>

namespace berth::cli {

std::string pad(std::string text, size_t width) {
    if (text.size() < width) text.resize(width, ' ');
    return text;
}

std::string aligned_columns(const std::vector<std::vector<std::string>>& rows) {
    std::vector<size_t> widths;
    for (const auto& row : rows)
        for (size_t i = 0; i < row.size(); ++i) {
            if (widths.size() <= i) widths.push_back(0);
            widths[i] = std::max(widths[i], row[i].size());
        }
    std::string out;
    for (const auto& row : rows) {
        for (size_t i = 0; i < row.size(); ++i)
            out += i + 1 < row.size() ? pad(row[i], widths[i] + 3) : row[i];
        out += '\n';
    }
    return out;
}

}  // namespace berth::cli
