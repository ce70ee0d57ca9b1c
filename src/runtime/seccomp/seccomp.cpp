#include "runtime/seccomp/seccomp.hpp"

#include <linux/seccomp.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <optional>
#include <string_view>
#include <type_traits>

#include "common/error.hpp"
#include "common/json_reader.hpp"
#include "common/log.hpp"
#include "common/unique_fd.hpp"
#include "runtime/seccomp/cache.hpp"
#include "runtime/seccomp/names.hpp"

namespace berth::runtime::seccomp {
namespace {

constexpr uint32_t kMaxErrno = 4095;                     // MAX_ERRNO: libseccomp refuses more
constexpr uint32_t kMaxTraceMessage = SECCOMP_RET_DATA;  // 16 bits handed to the tracer
constexpr unsigned kMaxArgs = 6;
constexpr uint32_t kAuditArchLittleEndian = 0x40000000;  // __AUDIT_ARCH_LE
constexpr uint32_t kDefaultErrno = EPERM;                // runc's choice without errnoRet

[[noreturn]] void fail(const std::string& path, const std::string& why) {
    throw InvalidDocument(path + ": " + why);
}

std::string in_quotes(std::string_view text) {
    return "\"" + std::string(text) + "\"";
}

std::string indexed(std::string_view field, size_t index) {
    return "linux.seccomp." + std::string(field) + "[" + std::to_string(index) + "]";
}

std::string hex(uint64_t value) {
    char buf[24];
    std::snprintf(buf, sizeof buf, "%#llx", static_cast<unsigned long long>(value));
    return buf;
}

std::string needs_api(unsigned needed, unsigned have) {
    return "is not supported by this kernel (libseccomp API level " + std::to_string(have) +
           ", needs " + std::to_string(needed) + ")";
}

// The SCMP_ACT_* value for an action name and its errnoRet. The paths are built only on failure.
template <class ActionPath, class RetPath>
uint32_t resolve_action(std::string_view name, const std::optional<uint32_t>& ret, unsigned api,
                        bool has_listener, const ActionPath& action_path, const RetPath& ret_path) {
    const ActionName* action = find_action(name);
    if (action == nullptr) fail(action_path(), "unknown seccomp action " + in_quotes(name));
    if (action->kind == ActionKind::notify && !has_listener)
        fail(action_path(),
             "SCMP_ACT_NOTIFY needs linux.seccomp.listenerPath (where the runtime sends the "
             "notification listener)");
    if (api < action->min_api)
        fail(action_path(), std::string(name) + " " + needs_api(action->min_api, api));
    switch (action->kind) {
        case ActionKind::errno_ret: {
            uint32_t value = ret.value_or(kDefaultErrno);
            if (value > kMaxErrno)
                fail(ret_path(), "errno " + std::to_string(value) + " is out of range [0, " +
                                     std::to_string(kMaxErrno) + "]");
            return SCMP_ACT_ERRNO(value);
        }
        case ActionKind::trace: {
            uint32_t value = ret.value_or(kDefaultErrno);
            if (value > kMaxTraceMessage)
                fail(ret_path(), "trace message " + std::to_string(value) +
                                     " is out of range [0, " + std::to_string(kMaxTraceMessage) +
                                     "]");
            return SCMP_ACT_TRACE(value);
        }
        default:
            break;
    }
    if (ret)
        fail(ret_path(), std::string(name) +
                             " returns no errno (errnoRet is only valid with SCMP_ACT_ERRNO and "
                             "SCMP_ACT_TRACE)");
    switch (action->kind) {
        case ActionKind::kill_thread:
            return SCMP_ACT_KILL_THREAD;
        case ActionKind::kill_process:
            return SCMP_ACT_KILL_PROCESS;
        case ActionKind::trap:
            return SCMP_ACT_TRAP;
        case ActionKind::allow:
            return SCMP_ACT_ALLOW;
        case ActionKind::log:
            return SCMP_ACT_LOG;
        case ActionKind::notify:
            return SCMP_ACT_NOTIFY;
        default:
            break;
    }
    fail(action_path(), "unhandled seccomp action " + in_quotes(name));
}

std::string arch_display(uint32_t token) {
    const ArchName* arch = find_arch(token);
    return arch != nullptr ? std::string(arch->name) : hex(token);
}

// The top-level fields, resolved.
struct Header {
    uint32_t default_action = 0;
    std::vector<uint32_t> archs;  // in the order of linux.seccomp.architectures
    std::vector<const FlagName*> flags;
    unsigned load_flags = 0;
};

Header check_header(const oci::Seccomp& config, unsigned api) {
    Header header;
    const bool has_listener = !config.listener_path.empty();
    header.default_action = resolve_action(
        config.default_action, config.default_errno_ret, api, has_listener,
        [] { return std::string("linux.seccomp.defaultAction"); },
        [] { return std::string("linux.seccomp.defaultErrnoRet"); });

    const uint32_t native = seccomp_arch_native();
    for (size_t i = 0; i < config.architectures.size(); ++i) {
        const std::string& name = config.architectures[i];
        const ArchName* arch = find_arch(name);
        if (arch == nullptr)
            fail(indexed("architectures", i), "architecture " + in_quotes(name) +
                                                  " is not supported by libseccomp " +
                                                  libseccomp_version());
        if ((arch->token & kAuditArchLittleEndian) != (native & kAuditArchLittleEndian)) {
            auto order = [](uint32_t token) {
                return (token & kAuditArchLittleEndian) != 0 ? "little-endian" : "big-endian";
            };
            fail(indexed("architectures", i), std::string(name) + " is " + order(arch->token) +
                                                  " and cannot share a filter with the native " +
                                                  arch_display(native) + " (" + order(native) +
                                                  ")");
        }
        header.archs.push_back(arch->token);
    }

    for (size_t i = 0; i < config.flags.size(); ++i) {
        const std::string& name = config.flags[i];
        const FlagName* flag = find_flag(name);
        if (flag == nullptr) fail(indexed("flags", i), "unknown seccomp flag " + in_quotes(name));
        if (!flag->supported)
            fail(indexed("flags", i),
                 name +
                     " is not supported: it needs a seccomp notification listener, which "
                     "berth-runtime does not support yet (and libseccomp >= 2.6)");
        if (api < flag->min_api)
            fail(indexed("flags", i), name + " " + needs_api(flag->min_api, api));
        header.flags.push_back(flag);
        header.load_flags |= flag->kernel_flag;
    }
    // A notifying filter comes with a listener (the fd seccomp(2) returns), which the runtime
    // hands to listenerPath (seccomp/listener.hpp).
    bool notify = header.default_action == SCMP_ACT_NOTIFY;
    for (const auto& rule : config.syscalls)
        notify = notify || rule.action == "SCMP_ACT_NOTIFY";
    if (notify) header.load_flags |= SECCOMP_FILTER_FLAG_NEW_LISTENER;
    return header;
}

std::string rule_path(size_t rule, const std::string& suffix) {
    return indexed("syscalls", rule) + suffix;
}

// One libseccomp rule, as check_rules() hands it on.
struct RuleRef {
    int nr;
    uint32_t action;
    std::span<const scmp_arg_cmp> conditions;
    size_t rule;  // index in linux.seccomp.syscalls
    size_t name;  // index in its names
};

// Checks every rule and calls emit(RuleRef) for each libseccomp rule it amounts to.
template <class Emit>
void check_rules(const oci::Seccomp& config, uint32_t default_action, unsigned api, Emit&& emit) {
    std::vector<std::string_view> unknown;
    std::vector<scmp_arg_cmp> conditions;
    for (size_t i = 0; i < config.syscalls.size(); ++i) {
        const oci::SeccompRule& rule = config.syscalls[i];
        const uint32_t action = resolve_action(
            rule.action, rule.errno_ret, api, !config.listener_path.empty(),
            [&] { return rule_path(i, ".action"); }, [&] { return rule_path(i, ".errnoRet"); });

        conditions.clear();
        unsigned seen = 0;
        bool repeated_index = false;
        for (size_t j = 0; j < rule.args.size(); ++j) {
            const oci::SeccompArg& arg = rule.args[j];
            auto arg_path = [&](const char* suffix) {
                return rule_path(i, ".args[" + std::to_string(j) + "]" + suffix);
            };
            if (arg.index >= kMaxArgs)
                fail(arg_path(".index"), "argument index " + std::to_string(arg.index) +
                                             " is out of range [0, " +
                                             std::to_string(kMaxArgs - 1) + "]");
            const OperatorName* op = find_operator(arg.op);
            if (op == nullptr) fail(arg_path(".op"), "unknown comparison operator");
            if (arg.op == oci::SeccompArgOp::masked_equal && (arg.value_two & ~arg.value) != 0)
                log::warn(arg_path("") + ": SCMP_CMP_MASKED_EQ can never match: valueTwo " +
                          hex(arg.value_two) + " has bits outside the mask " + hex(arg.value));
            repeated_index = repeated_index || (seen & (1U << arg.index)) != 0;
            seen |= 1U << arg.index;
            conditions.push_back(scmp_arg_cmp{arg.index, op->compare, arg.value, arg.value_two});
        }

        if (rule.names.empty()) fail(rule_path(i, ".names"), "must name at least one syscall");
        for (size_t k = 0; k < rule.names.size(); ++k)
            if (rule.names[k].empty())
                fail(rule_path(i, ".names[" + std::to_string(k) + "]"), "empty syscall name");

        // libseccomp refuses a rule that repeats the default action; it would change nothing.
        if (action == default_action) continue;

        for (size_t k = 0; k < rule.names.size(); ++k) {
            const std::string& name = rule.names[k];
            const int nr = seccomp_syscall_resolve_name(name.c_str());
            if (nr == __NR_SCMP_ERROR) {
                if (std::find(unknown.begin(), unknown.end(), name) == unknown.end())
                    unknown.emplace_back(name);
                continue;
            }
            if (repeated_index) {
                // libseccomp takes each argument once per rule: one rule per comparison (runc).
                for (const scmp_arg_cmp& condition : conditions)
                    emit(RuleRef{nr, action, {&condition, 1}, i, k});
            } else {
                emit(RuleRef{nr, action, conditions, i, k});
            }
        }
    }
    if (!unknown.empty()) {
        std::string list;
        for (std::string_view name : unknown) {
            if (!list.empty()) list += ", ";
            list += name;
        }
        // Debug, as runc: profiles name syscalls newer than the library on every start.
        log::debug("linux.seccomp.syscalls: skipping syscalls unknown to libseccomp " +
                   libseccomp_version() + ": " + list);
    }
}

// Everything that decides the program, as bytes: the cache key.
class KeyWriter {
  public:
    template <class T>
    void put(const T& value) {
        static_assert(std::is_trivially_copyable_v<T>);
        char bytes[sizeof(T)];
        std::memcpy(bytes, &value, sizeof(T));
        key_.append(bytes, sizeof(T));
    }
    void put_text(std::string_view text) {
        put(text.size());
        key_.append(text);
    }
    [[nodiscard]] const std::string& key() const { return key_; }

  private:
    std::string key_;
};

void set_attribute(scmp_filter_ctx context, scmp_filter_attr attribute, uint32_t value,
                   const std::string& what) {
    int rc = seccomp_attr_set(context, attribute, value);
    if (rc < 0) throw_system_error(-rc, "setting the seccomp filter attribute " + what);
}

// Generates the BPF program. libseccomp 2.5 exports only to a file descriptor.
std::vector<sock_filter> export_program(scmp_filter_ctx context) {
    UniqueFd fd(::memfd_create("berth-seccomp-bpf", MFD_CLOEXEC));
    if (!fd) throw_errno("memfd_create for the seccomp program");
    int rc = seccomp_export_bpf(context, fd.get());
    if (rc < 0) throw_system_error(-rc, "generating the seccomp BPF program");
    off_t size = ::lseek(fd.get(), 0, SEEK_END);
    if (size < 0) throw_errno("measuring the seccomp BPF program");
    if (size == 0 || static_cast<size_t>(size) % sizeof(sock_filter) != 0)
        throw Error("seccomp_export_bpf wrote " + std::to_string(size) +
                    " bytes, not a BPF program");
    std::vector<sock_filter> program(static_cast<size_t>(size) / sizeof(sock_filter));
    auto* bytes = reinterpret_cast<char*>(program.data());
    size_t done = 0;
    while (done < static_cast<size_t>(size)) {
        ssize_t n = ::pread(fd.get(), bytes + done, static_cast<size_t>(size) - done,
                            static_cast<off_t>(done));
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) throw_errno("reading the seccomp BPF program");
        if (n == 0) throw Error("reading the seccomp BPF program: unexpected end of file");
        done += static_cast<size_t>(n);
    }
    if (program.size() > BPF_MAXINSNS)
        throw InvalidDocument(
            "linux.seccomp: the filter compiles to " + std::to_string(program.size()) +
            " BPF instructions, more than the kernel's limit of " + std::to_string(BPF_MAXINSNS));
    return program;
}

}  // namespace

void validate(const oci::Seccomp& config) {
    const unsigned api = seccomp_api_get();
    Header header = check_header(config, api);
    check_rules(config, header.default_action, api, [](const RuleRef&) {});
}

Filter compile(const oci::Seccomp& config, const CompileOptions& options) {
    const unsigned api = seccomp_api_get();
    Header header = check_header(config, api);
    // The rules as libseccomp will get them; their conditions live in one vector.
    struct Planned {
        int nr;
        uint32_t action;
        size_t first_condition;
        size_t condition_count;
        size_t rule;
        size_t name;
    };
    std::vector<Planned> plan;
    std::vector<scmp_arg_cmp> conditions;
    check_rules(config, header.default_action, api, [&](const RuleRef& r) {
        plan.push_back({r.nr, r.action, conditions.size(), r.conditions.size(), r.rule, r.name});
        conditions.insert(conditions.end(), r.conditions.begin(), r.conditions.end());
    });

    Filter filter;
    filter.load_flags_ = header.load_flags;
    KeyWriter key;
    if (!options.cache_dir.empty()) {
        key.put_text("berth-seccomp-1 libseccomp " + libseccomp_version());
        key.put(seccomp_arch_native());
        key.put(api);
        key.put(header.default_action);
        key.put(header.archs.size());
        for (uint32_t arch : header.archs)
            key.put(arch);
        key.put(header.load_flags);
        key.put(plan.size());
        for (const Planned& r : plan) {
            key.put(r.nr);
            key.put(r.action);
            key.put(r.condition_count);
        }
        for (const scmp_arg_cmp& c : conditions) {
            key.put(c.arg);
            key.put(c.op);
            key.put(c.datum_a);
            key.put(c.datum_b);
        }
        if (auto program = cache::lookup(options.cache_dir, key.key())) {
            filter.program_ = std::move(*program);
            filter.cached_ = true;
            return filter;
        }
    }

    filter.context_.reset(seccomp_init(header.default_action));
    if (!filter.context_) throw Error("seccomp_init failed (out of memory?)");
    scmp_filter_ctx context = filter.context_.get();
    // The runtime sets no_new_privs itself when process.noNewPrivileges says so.
    set_attribute(context, SCMP_FLTATR_CTL_NNP, 0, "SCMP_FLTATR_CTL_NNP");
    // SCMP_FLTATR_CTL_OPTIMIZE stays at 1 (a list ordered by priority): the binary tree of level
    // 2 takes longer to generate and is larger, and since Linux 5.11 the kernel skips the filter
    // altogether for syscalls it allows whatever their arguments, which are most of a profile.
    for (size_t i = 0; i < header.flags.size(); ++i) {
        int rc = seccomp_attr_set(context, header.flags[i]->attribute, 1);
        if (rc < 0)
            fail(indexed("flags", i), "libseccomp refused it: " + std::string(std::strerror(-rc)));
    }
    for (size_t i = 0; i < header.archs.size(); ++i) {
        int rc = seccomp_arch_add(context, header.archs[i]);
        if (rc < 0 && rc != -EEXIST)  // the native architecture is always in the filter
            fail(indexed("architectures", i),
                 "libseccomp cannot add it to the filter: " + std::string(std::strerror(-rc)));
    }
    for (const Planned& r : plan) {
        int rc = seccomp_rule_add_array(
            context, r.action, r.nr, static_cast<unsigned>(r.condition_count),
            r.condition_count == 0 ? nullptr : &conditions[r.first_condition]);
        if (rc < 0)
            fail(rule_path(r.rule, ".names[" + std::to_string(r.name) + "]"),
                 "libseccomp refused the rule for " +
                     in_quotes(config.syscalls[r.rule].names[r.name]) + ": " + std::strerror(-rc));
    }

    filter.program_ = export_program(context);
    if (!options.cache_dir.empty()) cache::store(options.cache_dir, key.key(), filter.program_);
    return filter;
}

int Filter::load() const {
    sock_fprog prog{};
    prog.len = static_cast<unsigned short>(program_.size());
    prog.filter = const_cast<sock_filter*>(program_.data());  // the kernel only reads it
    long rc = ::syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, load_flags_, &prog);
    if (rc < 0) {
        int code = errno;
        if (code == EACCES)
            throw SystemError(code, std::string("installing the seccomp filter: ") +
                                        std::strerror(code) +
                                        " (the process needs no_new_privs or CAP_SYS_ADMIN)");
        throw_system_error(code, "installing the seccomp filter");
    }
    if (has_listener()) return static_cast<int>(rc);
    if (rc > 0)  // SECCOMP_FILTER_FLAG_TSYNC: the id of a thread that could not be synchronized
        throw SystemError(ESRCH, "installing the seccomp filter: thread " + std::to_string(rc) +
                                     " could not be synchronized (SECCOMP_FILTER_FLAG_TSYNC)");
    return -1;
}

nlohmann::json features() {
    const unsigned api = seccomp_api_get();
    nlohmann::json actions_list = nlohmann::json::array();
    for (const ActionName& action : actions())
        actions_list.push_back(std::string(action.name));
    nlohmann::json operators_list = nlohmann::json::array();
    for (const OperatorName& op : operators())
        operators_list.push_back(std::string(op.name));
    nlohmann::json archs_list = nlohmann::json::array();
    for (const ArchName& arch : archs())
        archs_list.push_back(std::string(arch.name));
    nlohmann::json known = nlohmann::json::array();
    nlohmann::json supported = nlohmann::json::array();
    for (const FlagName& flag : flags()) {
        known.push_back(std::string(flag.name));
        if (flag.supported && api >= flag.min_api) supported.push_back(std::string(flag.name));
    }
    return nlohmann::json{{"enabled", true},
                          {"actions", std::move(actions_list)},
                          {"operators", std::move(operators_list)},
                          {"archs", std::move(archs_list)},
                          {"knownFlags", std::move(known)},
                          {"supportedFlags", std::move(supported)}};
}

std::string libseccomp_version() {
    const scmp_version* version = seccomp_version();
    return std::to_string(version->major) + "." + std::to_string(version->minor) + "." +
           std::to_string(version->micro);
}

}  // namespace berth::runtime::seccomp
