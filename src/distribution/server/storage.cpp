#include "distribution/server/storage.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <functional>
#include <nlohmann/json.hpp>
#include <random>

#include "common/error.hpp"
#include "common/file.hpp"
#include "common/remove_tree.hpp"

namespace berth::registry {
namespace {

std::string random_hex(int digits) {
    static thread_local std::mt19937_64 rng{std::random_device{}()};
    static constexpr char kHex[] = "0123456789abcdef";
    std::string out;
    while (static_cast<int>(out.size()) < digits) {
        uint64_t v = rng();
        for (int i = 0; i < 16 && static_cast<int>(out.size()) < digits; ++i, v >>= 4)
            out += kHex[v & 15];
    }
    return out;
}

std::vector<std::string> list_dir(const std::string& path) {
    std::vector<std::string> names;
    DIR* dir = ::opendir(path.c_str());
    if (!dir) {
        if (errno == ENOENT || errno == ENOTDIR) return names;
        throw_errno("opendir", path);
    }
    while (dirent* entry = ::readdir(dir)) {
        std::string name = entry->d_name;
        if (name == "." || name == ".." || name.find(".tmp.") != std::string::npos) continue;
        names.push_back(std::move(name));
    }
    ::closedir(dir);
    std::sort(names.begin(), names.end());
    return names;
}

bool exists(const std::string& path) {
    struct stat st {};
    return ::stat(path.c_str(), &st) == 0;
}

bool remove_file(const std::string& path) {
    if (::unlink(path.c_str()) == 0) return true;
    if (errno == ENOENT) return false;
    throw_errno("unlink", path);
}

std::string algorithm_dir(const Digest& digest) {
    return std::string(digest.algorithm_name());
}

}  // namespace

void make_directories(const std::string& path) {
    if (::mkdir(path.c_str(), 0755) == 0 || errno == EEXIST) return;
    if (errno != ENOENT) throw_errno("mkdir", path);
    const size_t slash = path.rfind('/');
    if (slash == std::string::npos || slash == 0) throw_errno("mkdir", path);
    make_directories(path.substr(0, slash));
    if (::mkdir(path.c_str(), 0755) < 0 && errno != EEXIST) throw_errno("mkdir", path);
}

void fsync_directory(const std::string& path) {
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (fd) ::fsync(fd.get());
}

void write_file_durably(const std::string& path, std::string_view data) {
    const std::string temp = path + ".tmp." + random_hex(12);
    try {
        UniqueFd fd = open_file(temp, O_WRONLY | O_CREAT | O_EXCL, 0644);
        write_all(fd.get(), data, temp);
        if (::fsync(fd.get()) < 0) throw_errno("fsync", temp);
    } catch (...) {
        ::unlink(temp.c_str());
        throw;
    }
    if (::rename(temp.c_str(), path.c_str()) < 0) {
        const int saved = errno;
        ::unlink(temp.c_str());
        throw_system_error(saved, "rename", temp);
    }
    fsync_directory(path.substr(0, path.rfind('/')));
}

Storage::Storage(std::string root) : root_(std::move(root)), blobs_(root_) {
    make_directories(root_ + "/repositories");
    make_directories(uploads_dir());
}

std::string Storage::repository_dir(const std::string& repo) const {
    return root_ + "/repositories/" + repo;
}

bool Storage::has_blob(const std::string& repo, const Digest& digest) const {
    return exists(repository_dir(repo) + "/_blobs/" + algorithm_dir(digest) + "/" + digest.hex()) &&
           blobs_.has(digest);
}

std::optional<int64_t> Storage::blob_size(const std::string& repo, const Digest& digest) const {
    if (!exists(repository_dir(repo) + "/_blobs/" + algorithm_dir(digest) + "/" + digest.hex()))
        return std::nullopt;
    return blobs_.size(digest);
}

UniqueFd Storage::open_blob(const Digest& digest) const {
    return blobs_.open(digest);
}

// NOLINTNEXTLINE(readability-make-member-function-const): changes state outside the object
void Storage::link_blob(const std::string& repo, const Digest& digest) {
    const std::string dir = repository_dir(repo) + "/_blobs/" + algorithm_dir(digest);
    const std::string path = dir + "/" + digest.hex();
    if (exists(path)) return;
    make_directories(dir);
    write_file_durably(path, "");
}

// NOLINTNEXTLINE(readability-make-member-function-const): changes state outside the object
bool Storage::unlink_blob(const std::string& repo, const Digest& digest) {
    return remove_file(repository_dir(repo) + "/_blobs/" + algorithm_dir(digest) + "/" +
                       digest.hex());
}

void Storage::adopt_blob_file(const std::string& path, const Digest& digest) {
    const std::string target = blobs_.path(digest);
    if (exists(target)) {
        ::unlink(path.c_str());
        return;
    }
    make_directories(target.substr(0, target.rfind('/')));
    if (::rename(path.c_str(), target.c_str()) < 0) throw_errno("rename", path);
    fsync_directory(target.substr(0, target.rfind('/')));
}

std::optional<Digest> Storage::resolve_tag(const std::string& repo, const std::string& tag) const {
    auto text = read_file_if_exists(repository_dir(repo) + "/_tags/" + tag);
    if (!text) return std::nullopt;
    return Digest::try_parse(*text);
}

std::optional<std::string> Storage::manifest_media_type(const std::string& repo,
                                                        const Digest& digest) const {
    return read_file_if_exists(repository_dir(repo) + "/_manifests/" + algorithm_dir(digest) + "/" +
                               digest.hex());
}

std::optional<StoredManifest> Storage::read_manifest(const std::string& repo,
                                                     const Digest& digest) const {
    auto media_type = manifest_media_type(repo, digest);
    if (!media_type || !blobs_.has(digest)) return std::nullopt;
    return StoredManifest{digest, std::move(*media_type), read_file(blobs_.path(digest))};
}

void Storage::put_manifest(const std::string& repo, const std::string& bytes, const Digest& digest,
                           const std::string& media_type, const std::string& tag,
                           const std::optional<Digest>& subject,
                           const oci::Descriptor& as_referrer) {
    if (!blobs_.has(digest)) blobs_.put(bytes, digest);
    const std::string dir = repository_dir(repo);
    make_directories(dir + "/_manifests/" + algorithm_dir(digest));
    write_file_durably(dir + "/_manifests/" + algorithm_dir(digest) + "/" + digest.hex(),
                       media_type);
    if (subject) {
        const std::string referrers =
            dir + "/_referrers/" + algorithm_dir(*subject) + "/" + subject->hex();
        make_directories(referrers);
        write_file_durably(referrers + "/" + algorithm_dir(digest) + "-" + digest.hex(),
                           oci::to_json(as_referrer).dump());
    }
    if (!tag.empty()) {
        make_directories(dir + "/_tags");
        write_file_durably(dir + "/_tags/" + tag, digest.str());
    }
}

// NOLINTNEXTLINE(readability-make-member-function-const): changes state outside the object
bool Storage::delete_manifest(const std::string& repo, const Digest& digest) {
    const std::string dir = repository_dir(repo);
    auto stored = read_manifest(repo, digest);
    if (!stored) return false;
    for (const auto& tag : tags(repo))
        if (resolve_tag(repo, tag) == digest) remove_file(dir + "/_tags/" + tag);
    // Its own entry among the referrers of its subject.
    try {
        auto document = nlohmann::json::parse(stored->bytes);
        if (document.contains("subject") && document["subject"].contains("digest")) {
            if (auto subject = Digest::try_parse(document["subject"]["digest"].get<std::string>()))
                remove_file(dir + "/_referrers/" + algorithm_dir(*subject) + "/" + subject->hex() +
                            "/" + algorithm_dir(digest) + "-" + digest.hex());
        }
    } catch (const nlohmann::json::exception&) {
    }
    remove_file(dir + "/_manifests/" + algorithm_dir(digest) + "/" + digest.hex());
    return true;
}

// NOLINTNEXTLINE(readability-make-member-function-const): changes state outside the object
bool Storage::delete_tag(const std::string& repo, const std::string& tag) {
    return remove_file(repository_dir(repo) + "/_tags/" + tag);
}

std::vector<std::string> Storage::tags(const std::string& repo) const {
    return list_dir(repository_dir(repo) + "/_tags");
}

bool Storage::repository_exists(const std::string& repo) const {
    return exists(repository_dir(repo) + "/_manifests") || exists(repository_dir(repo) + "/_blobs");
}

std::vector<std::string> Storage::repositories() const {
    std::vector<std::string> names;
    std::function<void(const std::string&, const std::string&)> walk =
        [&](const std::string& path, const std::string& name) {
            const auto entries = list_dir(path);
            for (const auto& entry : entries) {
                if (entry == "_manifests") {
                    names.push_back(name);
                } else if (!entry.empty() && entry[0] != '_') {
                    walk(path + "/" + entry, name.empty() ? entry : name + "/" + entry);
                }
            }
        };
    walk(root_ + "/repositories", "");
    std::sort(names.begin(), names.end());
    return names;
}

std::vector<oci::Descriptor> Storage::referrers(const std::string& repo,
                                                const Digest& subject) const {
    std::vector<oci::Descriptor> out;
    const std::string dir =
        repository_dir(repo) + "/_referrers/" + algorithm_dir(subject) + "/" + subject.hex();
    for (const auto& name : list_dir(dir)) {
        auto text = read_file_if_exists(dir + "/" + name);
        if (!text) continue;
        try {
            auto json = nlohmann::json::parse(*text);
            out.push_back(oci::parse_descriptor(JsonReader(json, "referrer")));
        } catch (const std::exception&) {
            // A damaged entry is skipped, not fatal to the listing.
        }
    }
    return out;
}

std::vector<Digest> Storage::manifests(const std::string& repo) const {
    std::vector<Digest> out;
    for (const char* algorithm : {"sha256", "sha512"}) {
        for (const auto& hex : list_dir(repository_dir(repo) + "/_manifests/" + algorithm)) {
            if (auto digest = Digest::try_parse(std::string(algorithm) + ":" + hex))
                out.push_back(*digest);
        }
    }
    return out;
}

std::vector<Digest> Storage::linked_blobs(const std::string& repo) const {
    std::vector<Digest> out;
    for (const char* algorithm : {"sha256", "sha512"}) {
        for (const auto& hex : list_dir(repository_dir(repo) + "/_blobs/" + algorithm)) {
            if (auto digest = Digest::try_parse(std::string(algorithm) + ":" + hex))
                out.push_back(*digest);
        }
    }
    return out;
}

}  // namespace berth::registry
