#include "engine/volume/volumes.hpp"

#include <dirent.h>
#include <sys/stat.h>

#include "common/error.hpp"
#include "common/remove_tree.hpp"
#include "common/time.hpp"
#include "engine/container/specs.hpp"
#include "engine/subprocess.hpp"

namespace berth::engine {
namespace {

constexpr std::string_view kSchema = R"(
CREATE TABLE IF NOT EXISTS volumes (
  name TEXT PRIMARY KEY,
  created TEXT NOT NULL,
  anonymous INTEGER NOT NULL DEFAULT 0,
  labels TEXT NOT NULL DEFAULT '{}'
);
)";

void make_dirs(const std::string& path) {
    std::string partial;
    for (size_t i = 1; i <= path.size(); ++i) {
        if (i == path.size() || path[i] == '/') {
            partial = path.substr(0, i);
            if (::mkdir(partial.c_str(), 0755) != 0 && errno != EEXIST)
                throw_errno("mkdir", partial);
        }
    }
}

}  // namespace

Volumes::Volumes(const EnginePaths& paths, image::Database& db) : paths_(paths), db_(db) {
    db_.exec(kSchema);
}

VolumeRecord Volumes::create(const std::string& name, const nlohmann::json& labels,
                             bool anonymous) {
    if (!valid_name(name)) throw Error("invalid volume name \"" + name + "\"");
    if (auto existing = get(name)) return *existing;
    VolumeRecord r{name, rfc3339_now(), anonymous, labels};
    make_dirs(data_path(name));
    image::Statement st = db_.prepare(
        "INSERT OR IGNORE INTO volumes (name, created, anonymous, labels) VALUES (?1, ?2, ?3, ?4)");
    st.bind(1, r.name).bind(2, r.created).bind(3, int64_t{anonymous}).bind(4, labels.dump());
    st.run();
    return *get(name);
}

std::optional<VolumeRecord> Volumes::get(const std::string& name) {
    image::Statement st =
        db_.prepare("SELECT name, created, anonymous, labels FROM volumes WHERE name = ?1");
    st.bind(1, name);
    if (!st.step()) return std::nullopt;
    return VolumeRecord{st.text(0), st.text(1), st.integer(2) != 0,
                        nlohmann::json::parse(st.text(3), nullptr, false)};
}

std::vector<VolumeRecord> Volumes::list() {
    image::Statement st =
        db_.prepare("SELECT name, created, anonymous, labels FROM volumes ORDER BY name");
    std::vector<VolumeRecord> out;
    while (st.step())
        out.push_back({st.text(0), st.text(1), st.integer(2) != 0,
                       nlohmann::json::parse(st.text(3), nullptr, false)});
    return out;
}

void Volumes::remove(const std::string& name) {
    remove_tree(paths_.volume_dir(name));
    image::Statement st = db_.prepare("DELETE FROM volumes WHERE name = ?1");
    st.bind(1, name);
    st.run();
}

bool Volumes::is_empty(const std::string& name) const {
    DIR* dir = ::opendir(data_path(name).c_str());
    if (!dir) return true;
    bool empty = true;
    while (dirent* entry = ::readdir(dir)) {
        std::string n = entry->d_name;
        if (n != "." && n != "..") {
            empty = false;
            break;
        }
    }
    ::closedir(dir);
    return empty;
}

nlohmann::json Volumes::inspect(const VolumeRecord& r) const {
    return {{"Name", r.name},          {"Driver", "local"},  {"Mountpoint", data_path(r.name)},
            {"CreatedAt", r.created},  {"Labels", r.labels}, {"Scope", "local"},
            {"Anonymous", r.anonymous}};
}

void copy_tree(const std::string& source, const std::string& target) {
    struct stat st {};
    if (::stat(source.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) return;
    SubprocessResult r = run_subprocess({"cp", "-a", "--", source + "/.", target + "/"});
    if (r.exit_code != 0) throw Error("copying " + source + " into the volume: " + r.err);
    ::chmod(target.c_str(), st.st_mode & 07777);
    // On failure the volume stays root's: harmless for the images berth runs as root.
    (void)!::chown(target.c_str(), st.st_uid, st.st_gid);
}

}  // namespace berth::engine
