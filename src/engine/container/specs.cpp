#include "engine/container/specs.hpp"

#include <csignal>
#include <cstring>

#include "common/error.hpp"
#include "common/path.hpp"
#include "common/strings.hpp"

namespace berth::engine {
namespace {

uint16_t parse_port(const std::string& text, const std::string& spec) {
    auto value = parse_uint64(text);
    if (!value || *value == 0 || *value > 65535)
        throw Error("invalid port \"" + text + "\" in \"" + spec + "\"");
    return static_cast<uint16_t>(*value);
}

struct SignalName {
    const char* name;
    int number;
};
constexpr SignalName kSignals[] = {
    {"HUP", SIGHUP},       {"INT", SIGINT},   {"QUIT", SIGQUIT},   {"ILL", SIGILL},
    {"TRAP", SIGTRAP},     {"ABRT", SIGABRT}, {"BUS", SIGBUS},     {"FPE", SIGFPE},
    {"KILL", SIGKILL},     {"USR1", SIGUSR1}, {"SEGV", SIGSEGV},   {"USR2", SIGUSR2},
    {"PIPE", SIGPIPE},     {"ALRM", SIGALRM}, {"TERM", SIGTERM},   {"CHLD", SIGCHLD},
    {"CONT", SIGCONT},     {"STOP", SIGSTOP}, {"TSTP", SIGTSTP},   {"TTIN", SIGTTIN},
    {"TTOU", SIGTTOU},     {"URG", SIGURG},   {"XCPU", SIGXCPU},   {"XFSZ", SIGXFSZ},
    {"VTALRM", SIGVTALRM}, {"PROF", SIGPROF}, {"WINCH", SIGWINCH}, {"IO", SIGIO},
    {"PWR", SIGPWR},       {"SYS", SIGSYS},
};

}  // namespace

std::vector<PortMapping> parse_publish(const std::string& spec) {
    std::string body = spec;
    std::string protocol = "tcp";
    size_t slash = body.rfind('/');
    if (slash != std::string::npos) {
        protocol = body.substr(slash + 1);
        body = body.substr(0, slash);
        if (protocol != "tcp" && protocol != "udp" && protocol != "sctp")
            throw Error("invalid protocol \"" + protocol + "\" in \"" + spec + "\"");
    }
    std::vector<std::string> parts = split(body, ':');
    PortMapping p;
    p.protocol = protocol;
    std::string host_port, container_port;
    if (parts.size() == 1) {
        container_port = parts[0];
    } else if (parts.size() == 2) {
        host_port = parts[0];
        container_port = parts[1];
    } else if (parts.size() == 3) {
        p.host_ip = parts[0];
        host_port = parts[1];
        container_port = parts[2];
    } else {
        throw Error("invalid publish spec \"" + spec +
                    "\": expected [IP:][HOST:]CONTAINER[/PROTO]");
    }
    if (container_port.find('-') != std::string::npos)
        throw Error("port ranges are not supported: \"" + spec + "\"");
    p.container_port = parse_port(container_port, spec);
    if (!host_port.empty()) p.host_port = parse_port(host_port, spec);
    return {p};
}

nlohmann::json to_json(const PortMapping& p) {
    return {{"host_ip", p.host_ip},
            {"host_port", p.host_port},
            {"container_port", p.container_port},
            {"protocol", p.protocol}};
}

PortMapping port_from_json(const nlohmann::json& j) {
    PortMapping p;
    p.host_ip = j.value("host_ip", "");
    p.host_port = j.value("host_port", uint16_t{0});
    p.container_port = j.value("container_port", uint16_t{0});
    p.protocol = j.value("protocol", "tcp");
    return p;
}

bool valid_name(const std::string& name) {
    if (name.empty() || name.size() > 128 || !std::isalnum(static_cast<unsigned char>(name[0])))
        return false;
    for (char c : name)
        if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '.' && c != '-')
            return false;
    return true;
}

MountSpec parse_volume_flag(const std::string& spec) {
    std::vector<std::string> parts = split(spec, ':');
    MountSpec m;
    auto bad = [&](const std::string& why) {
        return Error("invalid volume spec \"" + spec + "\": " + why);
    };
    if (parts.empty() || parts.size() > 3 || spec.empty()) throw bad("expected SRC:DST[:OPTIONS]");
    if (parts.size() == 1) {
        m.type = "volume";  // anonymous
        m.destination = parts[0];
    } else {
        m.source = parts[0];
        m.destination = parts[1];
        m.type = is_absolute_path(m.source) ? "bind" : "volume";
        if (m.source.empty()) throw bad("empty source");
        if (m.type == "volume" && !valid_name(m.source))
            throw bad("\"" + m.source + "\" is neither an absolute path nor a volume name");
    }
    if (parts.size() == 3) {
        for (const std::string& option : split(parts[2], ',')) {
            if (option == "ro")
                m.readonly = true;
            else if (option != "rw" && option != "z" && option != "Z")
                throw bad("unknown option \"" + option + "\"");
        }
    }
    if (!is_absolute_path(m.destination)) throw bad("the destination must be an absolute path");
    if (clean_path(m.destination) == "/") throw bad("cannot mount over /");
    m.destination = clean_path(m.destination);
    return m;
}

MountSpec parse_mount_flag(const std::string& spec) {
    MountSpec m;
    m.type = "volume";
    for (const std::string& field : split(spec, ',')) {
        size_t eq = field.find('=');
        std::string key = field.substr(0, eq);
        std::string value = eq == std::string::npos ? "" : field.substr(eq + 1);
        if (key == "type") {
            if (value != "bind" && value != "volume" && value != "tmpfs")
                throw Error("invalid mount spec \"" + spec + "\": unknown type \"" + value + "\"");
            m.type = value;
        } else if (key == "source" || key == "src") {
            m.source = value;
        } else if (key == "target" || key == "destination" || key == "dst") {
            m.destination = value;
        } else if (key == "readonly" || key == "ro") {
            m.readonly = value.empty() || value == "true" || value == "1";
        } else if (key == "tmpfs-size") {
            m.tmpfs_options += (m.tmpfs_options.empty() ? "" : ",") + std::string("size=") + value;
        } else if (key == "tmpfs-mode") {
            m.tmpfs_options += (m.tmpfs_options.empty() ? "" : ",") + std::string("mode=") + value;
        } else {
            throw Error("invalid mount spec \"" + spec + "\": unknown field \"" + key + "\"");
        }
    }
    if (!is_absolute_path(m.destination))
        throw Error("invalid mount spec \"" + spec + "\": target must be an absolute path");
    if (m.type == "bind" && !is_absolute_path(m.source))
        throw Error("invalid mount spec \"" + spec + "\": a bind source must be an absolute path");
    if (m.type == "volume" && !m.source.empty() && !valid_name(m.source))
        throw Error("invalid mount spec \"" + spec + "\": bad volume name");
    m.destination = clean_path(m.destination);
    return m;
}

MountSpec parse_tmpfs_flag(const std::string& spec) {
    MountSpec m;
    m.type = "tmpfs";
    size_t colon = spec.find(':');
    m.destination = spec.substr(0, colon);
    if (colon != std::string::npos) m.tmpfs_options = spec.substr(colon + 1);
    if (!is_absolute_path(m.destination))
        throw Error("invalid tmpfs spec \"" + spec + "\": the path must be absolute");
    m.destination = clean_path(m.destination);
    return m;
}

nlohmann::json to_json(const MountSpec& m) {
    return {{"type", m.type},
            {"source", m.source},
            {"destination", m.destination},
            {"readonly", m.readonly},
            {"tmpfs_options", m.tmpfs_options}};
}

MountSpec mount_from_json(const nlohmann::json& j) {
    MountSpec m;
    m.type = j.value("type", "bind");
    m.source = j.value("source", "");
    m.destination = j.value("destination", "");
    m.readonly = j.value("readonly", false);
    m.tmpfs_options = j.value("tmpfs_options", "");
    return m;
}

int64_t parse_size(const std::string& text) {
    if (text.empty()) throw Error("invalid size \"\"");
    std::string number = text;
    int64_t unit = 1;
    char last = static_cast<char>(std::tolower(static_cast<unsigned char>(number.back())));
    if (last == 'b') {
        number.pop_back();
        if (number.empty()) throw Error("invalid size \"" + text + "\"");
        last = static_cast<char>(std::tolower(static_cast<unsigned char>(number.back())));
    }
    if (last == 'k' || last == 'm' || last == 'g' || last == 't') {
        unit = last == 'k'   ? 1024LL
               : last == 'm' ? 1024LL * 1024
               : last == 'g' ? 1024LL << 20
                             : 1024LL << 30;
        number.pop_back();
    }
    auto value = parse_int64(number);
    if (!value || *value <= 0) throw Error("invalid size \"" + text + "\"");
    return *value * unit;
}

int64_t parse_duration_ms(const std::string& text) {
    int64_t total = 0;
    size_t i = 0;
    if (text.empty()) throw Error("invalid duration \"\"");
    while (i < text.size()) {
        size_t start = i;
        while (i < text.size() &&
               (std::isdigit(static_cast<unsigned char>(text[i])) || text[i] == '.'))
            ++i;
        if (start == i) throw Error("invalid duration \"" + text + "\"");
        double value = std::stod(text.substr(start, i - start));
        size_t unit_start = i;
        while (i < text.size() && std::isalpha(static_cast<unsigned char>(text[i])))
            ++i;
        std::string unit = text.substr(unit_start, i - unit_start);
        double factor = unit == "ms"                  ? 1
                        : unit == "s" || unit.empty() ? 1000
                        : unit == "m"                 ? 60000
                        : unit == "h"                 ? 3600000
                                                      : -1;
        if (factor < 0) throw Error("invalid duration \"" + text + "\"");
        total += static_cast<int64_t>(value * factor);
    }
    return total;
}

int parse_signal(const std::string& text) {
    if (auto number = parse_uint64(text)) {
        if (*number == 0 || *number > 64) throw Error("invalid signal \"" + text + "\"");
        return static_cast<int>(*number);
    }
    std::string name = text;
    for (char& c : name)
        c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    if (name.starts_with("SIG")) name = name.substr(3);
    for (const auto& s : kSignals)
        if (name == s.name) return s.number;
    throw Error("invalid signal \"" + text + "\"");
}

std::string signal_name(int signal) {
    for (const auto& s : kSignals)
        if (s.number == signal) return std::string("SIG") + s.name;
    return std::to_string(signal);
}

Ulimit parse_ulimit(const std::string& text) {
    size_t eq = text.find('=');
    if (eq == std::string::npos)
        throw Error("invalid ulimit \"" + text + "\": expected NAME=SOFT[:HARD]");
    Ulimit u;
    std::string name = text.substr(0, eq);
    for (char& c : name)
        c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    static const char* const kKnown[] = {
        "CORE",   "CPU",   "DATA", "FSIZE",  "LOCKS",  "MEMLOCK",    "MSGQUEUE", "NICE",
        "NOFILE", "NPROC", "RSS",  "RTPRIO", "RTTIME", "SIGPENDING", "STACK",    "AS"};
    bool known = false;
    for (const char* k : kKnown)
        known = known || name == k;
    if (!known) throw Error("invalid ulimit \"" + text + "\": unknown resource");
    u.type = "RLIMIT_" + name;
    std::vector<std::string> values = split(text.substr(eq + 1), ':');
    auto soft = values.empty() ? std::nullopt : parse_uint64(values[0]);
    auto hard = values.size() > 1 ? parse_uint64(values[1]) : soft;
    if (!soft || !hard || values.size() > 2 || *soft > *hard)
        throw Error("invalid ulimit \"" + text + "\"");
    u.soft = *soft;
    u.hard = *hard;
    return u;
}

}  // namespace berth::engine
