// Reading and writing the files of one cgroup directory, and parsing their formats.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <initializer_list>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/unique_fd.hpp"

namespace berth::runtime::cgroup {

// Writes value to dir/file in one write(2). A refusal throws berth::SystemError (keeping
// errno) with one line: cannot write "VALUE" to DIR/FILE: strerror.
void cg_write(const std::string& dir, std::string_view file, std::string_view value);
// Same, but returns false instead of throwing when the file does not exist.
bool cg_write_if_exists(const std::string& dir, std::string_view file, std::string_view value);

// One cgroup file opened once for several writes (each write is one value to the kernel),
// e.g. a device rule list: opening a cgroup file costs more than writing to it.
class CgroupFile {
  public:
    CgroupFile(const std::string& dir, std::string_view file);
    void write(std::string_view value);

  private:
    std::string path_;
    UniqueFd fd_;
};
std::string cg_read(const std::string& dir, std::string_view file);
std::optional<std::string> cg_read_if_exists(const std::string& dir, std::string_view file);
bool cg_exists(const std::string& dir, std::string_view file);

// A single value; "max" is UINT64_MAX (as runc reports unlimited). nullopt on junk or empty.
std::optional<uint64_t> parse_value(std::string_view text);
// "key value" lines (memory.stat, cpu.stat, memory.events) into a map; junk lines skipped.
std::map<std::string, uint64_t> parse_flat_keyed(std::string_view text);
// The value of one key in "key value" lines.
std::optional<uint64_t> keyed_value(std::string_view text, std::string_view key);
// Whitespace-separated numbers (cpuacct.usage_percpu).
std::vector<uint64_t> parse_uint_list(std::string_view text);
// The cpuset list format "0-3,5" expanded; empty on junk.
std::vector<uint16_t> parse_cpu_list(std::string_view text);

// Reads a value file, 0 when it is absent or not a number.
uint64_t cg_read_uint(const std::string& dir, std::string_view file);

// Concatenates the pieces into one string (one allocation; for messages built in loops).
std::string concat(std::initializer_list<std::string_view> pieces);

// The names in a directory (only subdirectories when asked); empty when it cannot be read.
std::vector<std::string> list_directory(const std::string& dir, bool directories_only);

// cgroup.procs content: one pid a line.
std::vector<pid_t> parse_pids(std::string_view text);
// Every pid in dir's cgroup.procs and in those of its descendant cgroups.
std::vector<pid_t> read_pids_recursive(const std::string& dir);

}  // namespace berth::runtime::cgroup
