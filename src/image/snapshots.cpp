#include "image/snapshots.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <nlohmann/json.hpp>
#include <random>

#include "common/file.hpp"
#include "common/json_reader.hpp"
#include "common/remove_tree.hpp"
#include "image/durability.hpp"
#include "oci/descriptor.hpp"

namespace berth::image {
namespace {

void make_dir(const std::string& path, mode_t mode = 0700) {
    if (::mkdir(path.c_str(), mode) < 0 && errno != EEXIST) throw_errno("mkdir", path);
}

std::string temp_name(const Digest& chain) {
    static thread_local std::mt19937_64 rng{std::random_device{}()};
    return chain.hex() + "-" + std::to_string(::getpid()) + "-" + std::to_string(rng() % 1000000);
}

}  // namespace

Digest chain_id(const std::optional<Digest>& parent, const Digest& diff_id) {
    if (!parent) return diff_id;
    return digest_of(parent->str() + " " + diff_id.str());
}

std::vector<Digest> chain_ids(const std::vector<Digest>& diff_ids) {
    std::vector<Digest> out;
    std::optional<Digest> parent;
    for (const auto& d : diff_ids) {
        out.push_back(chain_id(parent, d));
        parent = out.back();
    }
    return out;
}

Snapshots::Snapshots(std::string root) : root_(std::move(root)) {
    make_dir(root_);
    make_dir(root_ + "/snapshots");
    make_dir(root_ + "/snapshots/.tmp");
    make_dir(root_ + "/locks");
}

std::string Snapshots::dir(const Digest& chain) const {
    return root_ + "/snapshots/" + chain.hex();
}

bool Snapshots::has(const Digest& chain) const {
    std::string d = dir(chain);
    if (::access(d.c_str(), F_OK) != 0) return false;
    // Not flushed yet: sound in the boot that wrote it, suspect after a reboot.
    auto pending = read_file_if_exists(d + "/" + kPendingSyncMarker);
    return !pending || *pending == current_boot_id();
}

FileLock Snapshots::lock(const Digest& chain) const {
    return FileLock(root_ + "/locks/" + chain.hex() + ".snapshot");
}

std::optional<SnapshotInfo> Snapshots::info(const Digest& chain) const {
    auto text = read_file_if_exists(dir(chain) + "/info.json");
    if (!text) return std::nullopt;
    std::string what = "snapshot " + chain.str() + " info.json";
    nlohmann::json doc = parse_json(*text, what);
    JsonReader r(doc, what);
    SnapshotInfo info;
    info.chain_id = oci::parse_digest_field(r.at("chainId"));
    if (auto p = r.find("parent")) info.parent = oci::parse_digest_field(*p);
    info.diff_id = oci::parse_digest_field(r.at("diffId"));
    info.blob = oci::parse_digest_field(r.at("blob"));
    info.size = r.at("size").as_int(0);
    info.entries = r.at("entries").as_int(0);
    return info;
}

std::vector<Digest> Snapshots::list() const {
    std::vector<Digest> out;
    DIR* d = ::opendir((root_ + "/snapshots").c_str());
    if (!d) return out;
    while (dirent* e = ::readdir(d)) {
        if (auto digest = Digest::try_parse(std::string("sha256:") + e->d_name))
            out.push_back(*digest);
    }
    ::closedir(d);
    return out;
}

PreparedSnapshot::PreparedSnapshot(PreparedSnapshot&& other) noexcept
    : chain_(std::move(other.chain_)),
      temp_(std::move(other.temp_)),
      target_(std::move(other.target_)),
      done_(std::exchange(other.done_, true)) {}

PreparedSnapshot& PreparedSnapshot::operator=(PreparedSnapshot&& other) noexcept {
    if (this != &other) {
        discard();
        chain_ = std::move(other.chain_);
        temp_ = std::move(other.temp_);
        target_ = std::move(other.target_);
        done_ = std::exchange(other.done_, true);
    }
    return *this;
}

PreparedSnapshot::~PreparedSnapshot() {
    discard();
}

void PreparedSnapshot::discard() noexcept {
    if (done_) return;
    done_ = true;
    try {
        remove_tree(temp_);
    } catch (...) {  // NOLINT(bugprone-empty-catch): prune removes what is left
    }
}

namespace {

void write_info(const std::string& temp, const Digest& chain, const SnapshotInfo& info) {
    nlohmann::ordered_json j;
    j["chainId"] = chain.str();
    if (info.parent) j["parent"] = info.parent->str();
    j["diffId"] = info.diff_id.str();
    j["blob"] = info.blob.str();
    j["size"] = info.size;
    j["entries"] = info.entries;
    write_file(temp + "/info.json", j.dump() + "\n", 0600);
}

}  // namespace

std::optional<PreparedSnapshot> Snapshots::prepare(
    const Digest& chain, const std::function<SnapshotInfo(int fs_fd)>& fill) {
    if (has(chain)) return std::nullopt;
    std::string temp = root_ + "/snapshots/.tmp/" + temp_name(chain);
    make_dir(temp);
    PreparedSnapshot prepared(chain, temp, dir(chain));
    make_dir(temp + "/fs", 0755);
    UniqueFd fs = open_file(temp + "/fs", O_RDONLY | O_DIRECTORY);
    write_info(temp, chain, fill(fs.get()));
    return prepared;
}

std::optional<PreparedSnapshot> Snapshots::adopt(const Digest& chain, const std::string& fs_dir,
                                                 const SnapshotInfo& info) {
    if (has(chain)) return std::nullopt;
    std::string temp = root_ + "/snapshots/.tmp/" + temp_name(chain);
    make_dir(temp);
    PreparedSnapshot prepared(chain, temp, dir(chain));
    if (::rename(fs_dir.c_str(), (temp + "/fs").c_str()) < 0) throw_errno("rename", fs_dir);
    write_info(temp, chain, info);
    return prepared;
}

void Snapshots::publish(std::vector<PreparedSnapshot>& prepared) {
    if (prepared.empty()) return;
    // Visible at once; durable when the background flush has removed the markers.
    std::vector<std::string> markers;
    for (auto& p : prepared) {
        write_file(p.temp_ + "/" + kPendingSyncMarker, current_boot_id(), 0600);
        if (::rename(p.temp_.c_str(), p.target_.c_str()) < 0) {
            if (errno != ENOTEMPTY && errno != EEXIST) throw_errno("rename", p.temp_);
            if (has(p.chain_)) {  // published meanwhile by another pull: ours goes
                p.discard();
                continue;
            }
            remove(p.chain_);  // left from an earlier boot, not known to be complete
            if (::rename(p.temp_.c_str(), p.target_.c_str()) < 0) {
                if (errno != ENOTEMPTY && errno != EEXIST) throw_errno("rename", p.temp_);
                p.discard();
                continue;
            }
        }
        p.done_ = true;
        markers.push_back(p.target_ + "/" + kPendingSyncMarker);
    }
    if (!markers.empty()) flush_in_background(root_ + "/snapshots", markers);
    prepared.clear();
}

bool Snapshots::create(const Digest& chain, const std::function<SnapshotInfo(int fs_fd)>& fill) {
    auto p = prepare(chain, fill);
    if (!p) return false;
    std::vector<PreparedSnapshot> one;
    one.push_back(std::move(*p));
    publish(one);
    return true;
}

void Snapshots::remove(const Digest& chain) {
    FileLock held = lock(chain);
    // Rename first: a half-removed snapshot is never visible under its name.
    std::string temp = root_ + "/snapshots/.tmp/" + temp_name(chain) + ".removing";
    if (::rename(dir(chain).c_str(), temp.c_str()) < 0) {
        if (errno == ENOENT) return;
        throw_errno("rename", dir(chain));
    }
    remove_tree(temp);
}

void Snapshots::remove_stale_temp() {
    // Called under gc's exclusive lock: no pull or load is unpacking now.
    std::string tmp = root_ + "/snapshots/.tmp";
    DIR* d = ::opendir(tmp.c_str());
    if (!d) return;
    std::vector<std::string> names;
    while (dirent* e = ::readdir(d)) {
        std::string name = e->d_name;
        if (name != "." && name != "..") names.push_back(name);
    }
    ::closedir(d);
    for (const auto& name : names)
        remove_tree(tmp + "/" += name);
}

}  // namespace berth::image
