#include "common/user_namespace.hpp"

#include <string>
#include <vector>

#include "common/file.hpp"
#include "common/strings.hpp"

namespace berth {

bool in_initial_user_namespace() {
    static const bool initial = [] {
        auto text = read_file_if_exists("/proc/self/uid_map");
        if (!text) return true;  // no user namespaces at all
        std::vector<std::string> fields;
        for (const auto& line : split(*text, '\n'))
            for (const auto& f : split(line, ' '))
                if (!f.empty()) fields.push_back(f);
        return fields.size() == 3 && fields[0] == "0" && fields[1] == "0" &&
               fields[2] == "4294967295";
    }();
    return initial;
}

}  // namespace berth
