#include "runtime/exe_protection.hpp"

#include <fcntl.h>
#include <linux/capability.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>

#include "common/error.hpp"
#include "common/file.hpp"

extern char** environ;

namespace berth::runtime {
namespace {

char** g_argv = nullptr;
constexpr const char* kSealedMarker = "_BERTH_RUNTIME_SEALED_EXE";

}  // namespace

void remember_command_line(int, char** argv) {
    g_argv = argv;
}

bool needs_sealed_executable(bool has_capability_config, uint64_t bounding, bool user_namespace) {
    if (user_namespace) return false;         // its CAP_SYS_PTRACE is not the host's
    if (!has_capability_config) return true;  // keeps every capability
    return (bounding >> CAP_SYS_PTRACE) & 1;
}

bool running_from_sealed_copy() {
    UniqueFd exe(::open("/proc/self/exe", O_RDONLY | O_CLOEXEC));
    if (!exe) return false;
    int seals = ::fcntl(exe.get(), F_GET_SEALS);
    return seals >= 0 && (seals & F_SEAL_WRITE);
}

void ensure_sealed_executable() {
    if (std::getenv(kSealedMarker) && running_from_sealed_copy()) {
        // exec from an fd names the process after the fd number; keep ps readable.
        ::prctl(PR_SET_NAME, "berth-runtime", 0, 0, 0);
        return;
    }
    if (!g_argv) throw Error("internal error: command line not recorded for the sealed re-exec");
    UniqueFd self = open_file("/proc/self/exe", O_RDONLY);
    struct stat st {};
    if (::fstat(self.get(), &st) < 0) throw_errno("stat /proc/self/exe");
    UniqueFd copy(::memfd_create("berth-runtime", MFD_CLOEXEC | MFD_ALLOW_SEALING));
    if (!copy) throw_errno("memfd_create");
    off_t offset = 0;
    while (offset < st.st_size) {
        ssize_t n =
            ::sendfile(copy.get(), self.get(), &offset, static_cast<size_t>(st.st_size - offset));
        if (n < 0) {
            if (errno == EINTR) continue;
            throw_errno("copy /proc/self/exe");
        }
        if (n == 0) break;
    }
    if (::fcntl(copy.get(), F_ADD_SEALS, F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE) <
        0)
        throw_errno("seal the runtime copy");
    ::setenv(kSealedMarker, "1", 1);
    ::fexecve(copy.get(), g_argv, environ);
    throw_errno("re-exec from the sealed runtime copy");
}

}  // namespace berth::runtime
