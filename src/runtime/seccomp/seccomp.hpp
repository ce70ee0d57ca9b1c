// linux.seccomp of config.json -> a libseccomp filter -> a BPF program installed with seccomp(2).
//
// The expensive part (building the libseccomp rule database and generating BPF from it) is done
// once by compile(), typically in the runtime before it clones the container's init. Filter::load()
// is then a single seccomp(2) call: no allocation, no libseccomp, safe in a child after fork.
//
// Behaviour follows runc where the runtime spec is silent: SCMP_ACT_KILL is KILL_THREAD,
// SCMP_ACT_ERRNO/TRACE without errnoRet use EPERM, syscall names libseccomp does not know are
// skipped with a warning, rules whose action equals the default action are skipped, and a rule that
// compares the same argument twice is split into one rule per comparison (so its comparisons are
// OR-ed, as runc does, since libseccomp refuses a repeated argument index in one rule).
#pragma once

#include <linux/filter.h>
#include <linux/seccomp.h>
#include <seccomp.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <span>
#include <string>
#include <vector>

#include "oci/runtime_spec.hpp"

namespace berth::runtime::seccomp {

// Checks everything that can be checked before a container exists: actions and their
// errnoRet, architectures known to libseccomp (and of the native byte order), flags, kernel
// support (seccomp_api_get level) for the actions and flags used, argument indexes and operators.
// Throws berth::InvalidDocument "linux.seccomp.<field>: why". Warns (berth::log::warn) about
// syscall names libseccomp does not know; compile() skips them.
void validate(const oci::Seccomp& config);

struct CompileOptions {
    // A directory for compiled programs, e.g. /run/berth-runtime/seccomp (tmpfs). Generating
    // the BPF is nearly all of compile()'s time (about 9 ms for Docker's profile with its
    // three x86 architectures); a program found here, stored under everything that decides it
    // (the resolved rules, libseccomp's version, the native architecture, the kernel's API
    // level) and compared in full, is used instead. Created 0700 when missing; not used unless
    // it is a directory owned by the effective user and writable by nobody else. Failures to
    // read or write it are logged at debug level and never fail compile(). Empty: no cache.
    std::string cache_dir;
};

// A compiled filter: the BPF program and, unless it came from the cache, the libseccomp context
// it was generated from. Movable, not copyable.
class Filter {
  public:
    Filter(Filter&&) noexcept = default;
    Filter& operator=(Filter&&) noexcept = default;
    Filter(const Filter&) = delete;
    Filter& operator=(const Filter&) = delete;
    ~Filter() = default;

    // Installs the program in the calling thread (every thread with SECCOMP_FILTER_FLAG_TSYNC).
    // The caller must have set no_new_privs or hold CAP_SYS_ADMIN. Throws berth::SystemError.
    // Returns the notification listener's fd for a filter with SCMP_ACT_NOTIFY, else -1.
    int load() const;
    // SCMP_ACT_NOTIFY is used: load() makes a listener (SECCOMP_FILTER_FLAG_NEW_LISTENER).
    [[nodiscard]] bool has_listener() const noexcept {
        return (load_flags_ & SECCOMP_FILTER_FLAG_NEW_LISTENER) != 0;
    }

    // The BPF program load() installs, as libseccomp's seccomp_export_bpf() writes it.
    [[nodiscard]] std::span<const sock_filter> program() const noexcept { return program_; }
    // SECCOMP_FILTER_FLAG_* passed to seccomp(2) by load().
    [[nodiscard]] unsigned load_flags() const noexcept { return load_flags_; }
    // The libseccomp context, for seccomp_export_bpf()/seccomp_export_pfc() (debugging, tests);
    // nullptr when the program came from the cache.
    [[nodiscard]] scmp_filter_ctx context() const noexcept { return context_.get(); }
    [[nodiscard]] bool from_cache() const noexcept { return cached_; }

  private:
    friend Filter compile(const oci::Seccomp& config, const CompileOptions& options);
    Filter() = default;

    struct ContextRelease {
        void operator()(scmp_filter_ctx context) const noexcept { seccomp_release(context); }
    };
    std::unique_ptr<void, ContextRelease> context_;
    std::vector<sock_filter> program_;
    unsigned load_flags_ = 0;
    bool cached_ = false;
};

// Validates config exactly as validate() does (same errors and warnings: call one or the other)
// and compiles it. Throws berth::InvalidDocument for a bad profile, berth::Error when libseccomp
// fails for another reason.
Filter compile(const oci::Seccomp& config, const CompileOptions& options = {});

// The linux.seccomp object of the OCI features document (features-linux.md).
nlohmann::json features();

// "2.5.4": the libseccomp linked in (for the features document's annotations).
std::string libseccomp_version();

}  // namespace berth::runtime::seccomp
