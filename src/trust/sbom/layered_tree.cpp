#include "trust/sbom/layered_tree.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <map>

#include "common/error.hpp"
#include "common/file.hpp"
#include "common/strings.hpp"

namespace berth::trust::sbom {
namespace {

bool is_whiteout(const struct stat& st) {
    return S_ISCHR(st.st_mode) && st.st_rdev == makedev(0, 0);
}

bool is_opaque(const std::string& path) {
    char value[4];
    for (const char* name : {"trusted.overlay.opaque", "user.overlay.opaque"}) {
        ssize_t n = ::lgetxattr(path.c_str(), name, value, sizeof value);
        if (n == 1 && value[0] == 'y') return true;
    }
    return false;
}

std::string join_path(std::string_view dir, std::string_view name) {
    if (dir.empty()) return std::string(name);
    std::string out(dir);
    out += '/';
    out += name;
    return out;
}

std::string normalize(std::string_view path) {
    std::vector<std::string> parts;
    for (const auto& part : split(path, '/')) {
        if (part.empty() || part == ".") continue;
        if (part == "..") {
            if (!parts.empty()) parts.pop_back();
            continue;
        }
        parts.push_back(part);
    }
    return join(parts, "/");
}

}  // namespace

LayeredTree::LayeredTree(std::vector<std::string> layer_roots) : roots_(std::move(layer_roots)) {}

LayeredTree::LayerState LayeredTree::state_in_layer(size_t layer, std::string_view path) const {
    struct stat st {};
    std::string full = roots_[layer] + "/" + std::string(path);
    if (::lstat(full.c_str(), &st) != 0) return LayerState::absent;
    return is_whiteout(st) ? LayerState::deleted : LayerState::present;
}

std::optional<TreeEntry> LayeredTree::find(std::string_view path) const {
    std::string rel = normalize(path);
    auto parts = split(rel, '/');
    for (size_t i = roots_.size(); i-- > 0;) {
        // Walk the path's components in this layer: a whiteout or a non-directory ends the
        // search, an opaque directory ends it after this layer.
        std::string current = roots_[i];
        bool stop_below = false;
        bool missing = false;
        for (size_t k = 0; k < parts.size(); ++k) {
            current += "/" + parts[k];
            struct stat st {};
            if (::lstat(current.c_str(), &st) != 0) {
                missing = true;
                break;
            }
            if (is_whiteout(st)) return std::nullopt;
            if (k + 1 == parts.size()) {
                TreeEntry e;
                e.path = rel;
                e.layer = i;
                e.st = st;
                return e;
            }
            if (!S_ISDIR(st.st_mode)) return std::nullopt;  // a file hides the path below
            if (is_opaque(current)) stop_below = true;
        }
        if (missing && stop_below) return std::nullopt;
        if (rel.empty()) {
            TreeEntry e;
            e.layer = i;
            ::lstat(roots_[i].c_str(), &e.st);
            return e;
        }
    }
    return std::nullopt;
}

std::optional<TreeEntry> LayeredTree::resolve(std::string_view path) const {
    std::string current = normalize(path);
    for (int hops = 0; hops < 16; ++hops) {
        auto entry = find(current);
        if (!entry || !S_ISLNK(entry->st.st_mode)) return entry;
        std::string full = roots_[entry->layer] + "/" + entry->path;
        char target[4096];
        ssize_t n = ::readlink(full.c_str(), target, sizeof target - 1);
        if (n < 0) return std::nullopt;
        std::string link(target, static_cast<size_t>(n));
        if (link.starts_with('/')) {
            current = normalize(link);
        } else {
            auto slash = current.rfind('/');
            current = normalize((slash == std::string::npos ? "" : current.substr(0, slash)) + "/" +
                                link);
        }
    }
    return std::nullopt;
}

std::string LayeredTree::read(const TreeEntry& entry, size_t max_size) const {
    std::string full = roots_[entry.layer] + "/" + entry.path;
    if (static_cast<size_t>(entry.st.st_size) > max_size)
        throw Error("/" + entry.path + ": " + std::to_string(entry.st.st_size) +
                    " bytes, more than berth reads for an SBOM");
    UniqueFd fd = open_file(full, O_RDONLY | O_NOFOLLOW);
    return read_fd(fd.get(), "/" + entry.path);
}

// One directory's merged listing: for each visible name its entry and the layers that may
// contribute to it (when it is a directory), given the layers that may contribute to dir.
void LayeredTree::list_merged(
    const std::string& rel, const std::vector<char>& alive,
    const std::function<void(TreeEntry&, std::vector<char>&)>& emit) const {
    struct Slot {
        std::optional<TreeEntry> top;
        std::vector<char> alive;
        bool hidden = false;   // whited out above any copy
        bool blocked = false;  // nothing further down counts
    };
    std::map<std::string, Slot> slots;
    for (size_t i = roots_.size(); i-- > 0;) {
        if (!alive[i]) continue;
        std::string full = rel.empty() ? roots_[i] : roots_[i] + "/" + rel;
        DIR* d = ::opendir(full.c_str());
        if (!d) continue;
        while (dirent* e = ::readdir(d)) {
            std::string name = e->d_name;
            if (name == "." || name == "..") continue;
            Slot& slot = slots[name];
            if (slot.blocked) continue;
            if (slot.alive.empty()) slot.alive.assign(roots_.size(), 0);
            TreeEntry entry;
            entry.path = join_path(rel, name);
            entry.layer = i;
            if (::fstatat(::dirfd(d), name.c_str(), &entry.st, AT_SYMLINK_NOFOLLOW) != 0) continue;
            if (is_whiteout(entry.st)) {
                if (!slot.top) slot.hidden = true;
                slot.blocked = true;
                continue;
            }
            bool dir = S_ISDIR(entry.st.st_mode);
            if (!slot.top && !slot.hidden) slot.top = entry;
            if (dir && slot.top && S_ISDIR(slot.top->st.st_mode)) {
                slot.alive[i] = 1;
                if (is_opaque(full + "/" + name)) slot.blocked = true;
            } else {
                slot.blocked = true;
            }
        }
        ::closedir(d);
    }
    for (auto& [name, slot] : slots)
        if (slot.top && !slot.hidden) emit(*slot.top, slot.alive);
}

std::vector<TreeEntry> LayeredTree::list(std::string_view dir) const {
    std::string rel = normalize(dir);
    // The layers that may contribute to rel, component by component.
    std::vector<char> alive(roots_.size(), 1);
    std::string current;
    for (const auto& part : split(rel, '/')) {
        if (part.empty()) continue;
        std::optional<std::vector<char>> next;
        list_merged(current, alive, [&](TreeEntry& e, std::vector<char>& a) {
            if (e.path == join_path(current, part) && S_ISDIR(e.st.st_mode)) next = a;
        });
        if (!next) return {};
        alive = std::move(*next);
        current = join_path(current, part);
    }
    std::vector<TreeEntry> out;
    list_merged(rel, alive, [&](TreeEntry& e, std::vector<char>&) { out.push_back(e); });
    return out;
}

void LayeredTree::walk(const std::function<bool(const TreeEntry&)>& visit) const {
    std::vector<std::pair<std::string, std::vector<char>>> pending;
    pending.emplace_back("", std::vector<char>(roots_.size(), 1));
    while (!pending.empty()) {
        auto [dir, alive] = std::move(pending.back());
        pending.pop_back();
        list_merged(dir, alive, [&](TreeEntry& entry, std::vector<char>& child_alive) {
            bool descend = visit(entry);
            if (descend && S_ISDIR(entry.st.st_mode))
                pending.emplace_back(entry.path, std::move(child_alive));
        });
    }
}

}  // namespace berth::trust::sbom
