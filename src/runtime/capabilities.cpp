#include "runtime/capabilities.hpp"

#include <sys/capability.h>
#include <sys/prctl.h>

#include <cctype>
#include <memory>

#include "common/error.hpp"
#include "common/file.hpp"
#include "common/log.hpp"
#include "common/strings.hpp"

namespace berth::runtime {
namespace {

struct CapFree {
    void operator()(void* p) const { cap_free(p); }
};
using CapPtr = std::unique_ptr<std::remove_pointer_t<cap_t>, CapFree>;

std::string cap_name(int cap) {
    char* raw = cap_to_name(cap);
    std::string name = raw ? raw : std::to_string(cap);
    cap_free(raw);
    for (auto& c : name)
        c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return name;
}

uint64_t resolve_set(const std::vector<std::string>& names, const std::string& field) {
    uint64_t bits = 0;
    const int last = last_capability();
    for (size_t i = 0; i < names.size(); ++i) {
        cap_value_t value = 0;
        if (cap_from_name(names[i].c_str(), &value) != 0 || names[i].rfind("CAP_", 0) != 0) {
            throw Error(field + "[" + std::to_string(i) + "]: unknown capability \"" + names[i] +
                        "\"");
        }
        if (value > last) {
            log::warn("capability " + names[i] + " is not supported by this kernel; skipped");
            continue;
        }
        bits |= uint64_t{1} << value;
    }
    return bits;
}

// The capabilities in wanted that this process does not have in its permitted set.
std::string capabilities_not_held(uint64_t wanted) {
    CapPtr current(cap_get_proc());
    if (!current) return {};
    std::string out;
    const int last = last_capability();
    for (int cap = 0; cap <= last; ++cap) {
        if (!((wanted >> cap) & 1)) continue;
        cap_flag_value_t held = CAP_CLEAR;
        if (cap_get_flag(current.get(), cap, CAP_PERMITTED, &held) == 0 && held == CAP_SET)
            continue;
        out += (out.empty() ? "" : ", ") + cap_name(cap);
    }
    return out;
}

}  // namespace

int last_capability() {
    static int last = [] {
        auto text = read_file_if_exists("/proc/sys/kernel/cap_last_cap");
        if (text) {
            if (auto v = parse_uint64(trim(*text))) return static_cast<int>(*v);
        }
        return static_cast<int>(CAP_LAST_CAP);
    }();
    return last;
}

bool has_capability(const CapabilitySets& caps, int cap) {
    return (caps.effective >> cap) & 1;
}

CapabilitySets resolve_capabilities(const oci::Capabilities& caps, const std::string& field) {
    CapabilitySets s;
    s.bounding = resolve_set(caps.bounding, field + ".bounding");
    s.effective = resolve_set(caps.effective, field + ".effective");
    s.inheritable = resolve_set(caps.inheritable, field + ".inheritable");
    s.permitted = resolve_set(caps.permitted, field + ".permitted");
    s.ambient = resolve_set(caps.ambient, field + ".ambient");
    return s;
}

void drop_bounding_set(const CapabilitySets& caps) {
    const int last = last_capability();
    for (int cap = 0; cap <= last; ++cap) {
        if ((caps.bounding >> cap) & 1) continue;
        if (::prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EINVAL)
            throw_errno("drop capability " + cap_name(cap) + " from the bounding set");
    }
}

void check_capabilities_held(const CapabilitySets& caps) {
    // capset can only narrow the permitted set: name what the runtime itself lacks (it
    // ran with a narrower bounding set than the spec asks for).
    std::string missing = capabilities_not_held(caps.permitted | caps.effective);
    if (!missing.empty())
        throw Error("process.capabilities: " + missing +
                    " not held by berth-runtime itself, so the container cannot have it");
}

void apply_capabilities(const CapabilitySets& caps) {
    CapPtr state(cap_init());
    if (!state) throw_errno("cap_init");
    const int last = last_capability();
    for (int cap = 0; cap <= last; ++cap) {
        cap_value_t value = cap;
        if ((caps.effective >> cap) & 1)
            cap_set_flag(state.get(), CAP_EFFECTIVE, 1, &value, CAP_SET);
        if ((caps.permitted >> cap) & 1)
            cap_set_flag(state.get(), CAP_PERMITTED, 1, &value, CAP_SET);
        if ((caps.inheritable >> cap) & 1)
            cap_set_flag(state.get(), CAP_INHERITABLE, 1, &value, CAP_SET);
    }
    if (cap_set_proc(state.get()) != 0) {
        if (errno == EPERM) check_capabilities_held(caps);
        throw_errno("set capabilities");
    }
    if (::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
        throw_errno("clear ambient capabilities");
    for (int cap = 0; cap <= last; ++cap) {
        if (!((caps.ambient >> cap) & 1)) continue;
        // Ambient needs the capability in permitted and inheritable; the kernel says EPERM
        // otherwise. Common generated specs (crun's, podman's) list ambient capabilities
        // without inheritable ones, so this is not worth a warning on every start.
        if (::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0) < 0) {
            if (errno == EPERM) {
                log::debug("cannot raise ambient capability " + cap_name(cap) +
                           ": it is not in the permitted and inheritable sets");
                continue;
            }
            throw_errno("raise ambient capability " + cap_name(cap));
        }
    }
}

std::vector<std::string> known_capability_names() {
    std::vector<std::string> names;
    const int last = last_capability();
    for (int cap = 0; cap <= last; ++cap) {
        std::string name = cap_name(cap);
        if (name.rfind("CAP_", 0) == 0) names.push_back(name);
    }
    return names;
}

}  // namespace berth::runtime
