#include "image/durability.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/file.hpp"
#include "common/strings.hpp"
#include "common/unique_fd.hpp"

namespace berth::image {

const std::string& current_boot_id() {
    static const std::string id = [] {
        auto text = read_file_if_exists("/proc/sys/kernel/random/boot_id");
        return text ? std::string(trim(*text)) : std::string("unknown");
    }();
    return id;
}

void flush_in_background(const std::string& dir, const std::vector<std::string>& markers) {
    struct stat before {};
    if (::stat(dir.c_str(), &before) < 0) return;
    // The grandchild execs at once: a forked copy of us would keep our mappings (SQLite's
    // shared memory file) and so the store's filesystem busy.
    const char* script =
        R"sh(/bin/sync && [ "$(/usr/bin/stat -c %d:%i "$1")" = "$2" ] && shift 2 && )sh"
        R"sh(exec /bin/rm -f -- "$@")sh";
    std::vector<std::string> args{
        "/bin/sh",     "-c", script,
        "berth-flush", dir,  std::to_string(before.st_dev) + ":" + std::to_string(before.st_ino)};
    args.insert(args.end(), markers.begin(), markers.end());
    std::vector<char*> argv = c_string_array(args);
    std::vector<std::string> env_strings{"PATH=/usr/bin:/bin"};
    std::vector<char*> envp = c_string_array(env_strings);
    UniqueFd null = open_file("/dev/null", O_RDWR);
    pid_t child = ::fork();
    if (child < 0) return;  // the markers stay: an unpack after the next reboot
    if (child == 0) {
        ::setsid();
        if (::fork() != 0) ::_exit(0);
        for (int fd = 0; fd < 3; ++fd)
            ::dup2(null.get(), fd);
        ::syscall(SYS_close_range, 3U, ~0U, 0U);
        if (::chdir("/") < 0) ::_exit(1);
        ::execve(argv[0], argv.data(), envp.data());
        ::_exit(127);
    }
    int status = 0;
    while (::waitpid(child, &status, 0) < 0 && errno == EINTR) {
    }
}

}  // namespace berth::image
