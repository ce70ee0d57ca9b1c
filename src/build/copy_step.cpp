// COPY and ADD: their words expanded, their sources resolved (the context, another stage, an
// image, heredocs, ADD's URLs and local archives), their key from the content of every
// source file (the context's through the stat cache), and the copy into an overlay of the
// stage (--link: into an empty directory, a layer of its own).
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ctime>

#include "build/stage_executor.hpp"
#include "common/error.hpp"
#include "common/file.hpp"
#include "common/path.hpp"
#include "common/strings.hpp"
#include "distribution/client/http.hpp"

namespace berth::build {
namespace {

bool is_url(const std::string& s) {
    return s.starts_with("http://") || s.starts_with("https://");
}

std::optional<std::pair<uint32_t, uint32_t>> lookup_id_file(int rootfs_fd, const std::string& file,
                                                            const std::string& name) {
    UniqueFd fd = try_open_in_root(rootfs_fd, file, O_RDONLY);
    if (!fd) return std::nullopt;
    for (const auto& line : split(read_fd(fd.get(), file), '\n')) {
        std::vector<std::string> f = split(line, ':');
        if (f.size() < 3 || f[0] != name) continue;
        auto id = parse_uint64(f[2]);
        if (!id) continue;
        uint64_t gid = *id;
        if (file == "/etc/passwd" && f.size() >= 4) gid = parse_uint64(f[3]).value_or(*id);
        return std::make_pair(static_cast<uint32_t>(*id), static_cast<uint32_t>(gid));
    }
    return std::nullopt;
}

// --chown=user[:group] as BuildKit reads it: a user name gives its uid and primary gid, a
// numeric uid alone is also the gid; names come from the destination's /etc files.
Owner resolve_chown(const std::string& spec, int rootfs_fd) {
    size_t colon = spec.find(':');
    std::string user = spec.substr(0, colon);
    std::string group = colon == std::string::npos ? "" : spec.substr(colon + 1);
    Owner o;
    if (auto uid = parse_uint64(user)) {
        o.uid = o.gid = static_cast<uint32_t>(*uid);
    } else {
        auto found = lookup_id_file(rootfs_fd, "/etc/passwd", user);
        if (!found) throw BuildError("--chown=" + spec + ": no user " + user + " in /etc/passwd");
        o.uid = found->first;
        o.gid = found->second;
    }
    if (!group.empty()) {
        if (auto gid = parse_uint64(group)) {
            o.gid = static_cast<uint32_t>(*gid);
        } else {
            auto found = lookup_id_file(rootfs_fd, "/etc/group", group);
            if (!found)
                throw BuildError("--chown=" + spec + ": no group " + group + " in /etc/group");
            o.gid = found->first;
        }
    }
    return o;
}

// "/a/b/" stays a directory; a relative one is below the working directory.
std::string destination(const std::string& dest, const std::string& workdir) {
    bool dir = dest.empty() || dest == "." || dest.ends_with("/") || dest.ends_with("/.");
    std::string base = workdir.empty() ? "/" : workdir;
    std::string path = is_absolute_path(dest) ? clean_path(dest) : join_path(base, dest);
    if (!is_absolute_path(path)) path = "/" + path;
    if (dir && path != "/") path += "/";
    return path;
}

struct Download {
    std::string dir;   // holds the file alone
    std::string name;  // its name there
    Digest digest;
};

}  // namespace

void StageExecutor::do_copy(const Command& cmd, const CopyCommand& c) {
    const std::string keyword = c.add ? "ADD" : "COPY";
    std::vector<std::string> sources;
    for (const auto& src : c.sources)
        sources.push_back(expand(src, cmd));
    std::string dest_written = expand(c.dest, cmd);
    std::string chown = expand(c.chown, cmd);
    std::string chmod = expand(c.chmod, cmd);
    std::string checksum = expand(c.checksum, cmd);
    if (c.from.find('$') != std::string::npos)
        throw BuildError(location(cmd) +
                         "variable expansion is not supported for --from, define a new stage "
                         "with FROM using ARG from global scope as a workaround");
    ModeChange mode;
    try {
        mode = ModeChange::parse(chmod);
    } catch (const Error& e) {
        throw BuildError(location(cmd) + e.what());
    }
    std::string dest = destination(dest_written, state_.config.config.working_dir);
    std::vector<std::pair<std::string, std::string>> inline_files;  // name, content
    for (const auto& f : c.inline_files) {
        std::string content = f.content;
        if (f.expand) {
            ShellLex raw('\\', {.skip_process_quotes = true});
            try {
                content = raw.process_word(content, env_);
            } catch (const ExpansionError& e) {
                throw BuildError(location(cmd) + e.what());
            }
        }
        inline_files.emplace_back(f.name, content);
    }

    // Where the sources come from.
    SourceRoot root;
    std::string identity;  // for a stage or an image: what stands for its content
    bool from_context = c.from.empty();
    if (from_context) {
        bool needs_context = false;
        for (const auto& s : sources)
            if (!is_url(s)) needs_context = true;
        if (needs_context && !s_.context().has_files())
            throw BuildError(location(cmd) + "no build context: the Containerfile came alone, " +
                             keyword + " has nothing to read");
        if (s_.context().has_files()) root = s_.context().source_root();
    } else {
        std::vector<LayerRef> layers;
        std::string view_key;
        if (auto stage = s_.find_stage(c.from)) {
            if (*stage >= p_.index)
                throw BuildError(location(cmd) + "cannot copy from stage \"" + c.from +
                                 "\", it needs to be defined before the current stage");
            const StageResult& result = s_.stage_result(*stage);
            layers = result.layers;
            identity = "stage:" + result.key.str();
            view_key = "stage:" + std::to_string(*stage);
        } else {
            bool pulled = false;
            image::Image img;
            try {
                img = s_.resolve_image(c.from, 0, &pulled);
            } catch (const std::exception& e) {
                throw BuildError(location(cmd) + "--from=" + c.from +
                                 ": no stage or image by that name (" + e.what() + ")");
            }
            for (size_t i = 0; i < img.manifest.layers.size(); ++i)
                layers.push_back({img.config.diff_ids.at(i), img.manifest.layers[i].digest,
                                  img.manifest.layers[i].media_type, img.manifest.layers[i].size,
                                  img.chain.at(i)});
            identity = "image:" + img.record.config.str();
            view_key = "image:" + img.record.id.str();
        }
        const std::string& view = s_.mounted_view(view_key, layers);
        root.fd = open_file(view, O_PATH | O_DIRECTORY).release();
        root.context = false;
    }
    UniqueFd root_holder(from_context ? -1 : root.fd);

    // Sources resolved; the key from their content.
    struct Item {
        std::string path;  // relative to the source root
        std::string dest;  // where it goes
    };
    std::vector<Item> items;
    std::vector<Download> downloads;
    KeyBuilder key(c.add ? "add" : "copy");
    key.add(state_.key).add(dest).add(chown).add(chmod).add(c.link ? "link" : "");
    key.add(c.parents ? "parents" : "").add(join(c.excludes, "\n")).add(identity);
    key.add(c.unpack ? (*c.unpack ? "unpack" : "no-unpack") : "");
    for (const auto& src : sources) {
        if (is_url(src)) {
            if (!c.add) throw BuildError(location(cmd) + "source can't be a URL for COPY");
            Download d;
            d.dir = s_.make_scratch_dir("download");
            std::string path = src.substr(src.find("://") + 3);
            path = path.substr(0, path.find_first_of("?#"));
            d.name = base_name(path);
            if (d.name.empty() || d.name == "/" || d.name == "." ||
                path.find('/') == std::string::npos)
                d.name = "__unnamed__";
            if (!s_.env().http) throw BuildError(location(cmd) + src + ": no HTTP client");
            std::string file = d.dir + "/" + d.name;
            UniqueFd out = open_file(file, O_WRONLY | O_CREAT | O_TRUNC, 0600);
            Hasher hasher;
            distribution::HttpRequest request;
            request.url = src;
            request.on_data = [&](long, const char* data, size_t size) {
                hasher.update(data, size);
                write_all(out.get(), std::string_view(data, size), file);
                return true;
            };
            distribution::HttpResponse response;
            try {
                response = s_.env().http->perform(request);
            } catch (const std::exception& e) {
                throw BuildError(location(cmd) + src + ": " + e.what());
            }
            if (response.status != 200)
                throw BuildError(location(cmd) + src + ": HTTP status " +
                                 std::to_string(response.status));
            d.digest = hasher.finish();
            if (!checksum.empty() && Digest::try_parse(checksum) != d.digest)
                throw BuildError(location(cmd) + src + ": checksum mismatch: expected " + checksum +
                                 ", got " + d.digest.str());
            if (auto modified = response.header("last-modified")) {
                std::tm tm{};
                if (::strptime(modified->c_str(), "%a, %d %b %Y %H:%M:%S", &tm)) {
                    timespec times[2] = {{::timegm(&tm), 0}, {::timegm(&tm), 0}};
                    ::futimens(out.get(), times);
                }
            }
            key.add("url").add(src).add(d.digest);
            downloads.push_back(d);
            continue;
        }
        if (!checksum.empty())
            throw BuildError(location(cmd) + "checksum requires HTTP(S) sources");
        std::string pivot, pattern = src;
        if (c.parents) {
            size_t at = src.find("/./");
            if (at != std::string::npos) {
                pivot = src.substr(0, at);
                pattern = src.substr(at + 3);
            }
        }
        std::vector<std::string> resolved;
        try {
            resolved = resolve_sources(root, pivot.empty() ? pattern : pivot + "/" + pattern);
        } catch (const Error& e) {
            throw BuildError(location(cmd) + (from_context ? "" : "--from=" + c.from + ": ") +
                             e.what());
        }
        std::string pivot_rel = pivot.empty() ? "" : clean_path("/" + pivot).substr(1);
        for (const auto& path : resolved) {
            Item item{path, dest};
            if (c.parents) {
                std::string rel = pivot_rel.empty()
                                      ? path
                                      : path.substr(std::min(path.size(), pivot_rel.size() + 1));
                struct stat st {};
                bool dir = ::fstatat(root.fd, path.empty() ? "." : path.c_str(), &st, 0) == 0 &&
                           S_ISDIR(st.st_mode);
                std::string base = dest.ends_with("/") ? dest : dest + "/";
                item.dest = dir ? base + rel + "/"
                                : base + (parent_path(rel) == "." ? "" : parent_path(rel) + "/");
            }
            key.add("source").add(path).add(item.dest);
            if (from_context) {
                walk_source(root, path, c.excludes, [&](const SourceVisit& v) {
                    key.add(v.rel).add(std::to_string(v.st->st_mode));
                    if (S_ISREG(v.st->st_mode))
                        key.add(s_.context().hasher().file_digest(
                            v.dir_fd, v.name,
                            path.empty() ? v.rel : (v.rel.empty() ? path : path + "/" + v.rel),
                            *v.st));
                    else if (S_ISLNK(v.st->st_mode))
                        key.add(v.link_target);
                    else if (S_ISCHR(v.st->st_mode) || S_ISBLK(v.st->st_mode))
                        key.add(std::to_string(v.st->st_rdev));
                });
            }
            items.push_back(item);
        }
    }
    for (const auto& [name, content] : inline_files)
        key.add("inline").add(name).add(content);
    Digest step_key = key.finish();

    std::string history = keyword;
    if (c.parents) history += " --parents";
    if (!chown.empty()) history += " --chown=" + chown;
    if (!chmod.empty()) history += " --chmod=" + chmod;
    for (const auto& s : sources)
        history += " " + s;
    for (const auto& [name, content] : inline_files)
        history += " <<" + name;
    history += " " + dest_written + " # buildkit";

    std::string shown = cmd.text;
    try {
        shown = ShellLex(s_.lexer().escape(),
                         {.raw_quotes = true, .raw_escapes = true, .skip_unset_env = true})
                    .process_word(cmd.text, env_);
    } catch (const ExpansionError&) {  // NOLINT(bugprone-empty-catch): shown as written
    }
    int vertex = begin_vertex(shown);
    if (try_cache(step_key, vertex, history)) return;

    try {
        StepRoot step = mount_step_root(!c.link);
        UniqueFd dst = open_file(step.rootfs, O_RDONLY | O_DIRECTORY);
        CopyOptions options;
        options.mode = mode;
        options.excludes = c.excludes;
        options.unpack_archives = c.add && c.unpack.value_or(true);
        options.scratch = step.dir;
        if (!chown.empty()) {
            if (c.link) {
                const std::string& view =
                    s_.mounted_view("layers:" + state_.key.str(), state_.layers);
                UniqueFd view_fd = open_file(view, O_RDONLY | O_DIRECTORY);
                options.owner = resolve_chown(chown, view_fd.get());
            } else {
                options.owner = resolve_chown(chown, dst.get());
            }
        }
        for (const auto& item : items) {
            s_.check_canceled();
            try {
                copy_source(root, item.path, dst.get(), item.dest, options);
            } catch (const BuildError&) {
                throw;
            } catch (const Error& e) {
                throw BuildError(location(cmd) + e.what());
            }
        }
        for (const auto& d : downloads) {
            UniqueFd dir = open_file(d.dir, O_PATH | O_DIRECTORY);
            CopyOptions plain = options;
            plain.unpack_archives = c.unpack.value_or(false);  // remote files stay as they are
            plain.excludes.clear();
            copy_source({dir.get(), false, nullptr}, d.name, dst.get(), dest, plain);
        }
        for (const auto& [name, content] : inline_files)
            write_file_entry(dst.get(), dest, name, content, 0644, options, std::nullopt);
        dst.reset();
        std::optional<LayerRef> layer = commit_layer(step, step_key, history);
        push_layer(layer);
        state_.key = step_key;
        add_history(history, layer.has_value(),
                    layer ? std::optional<int64_t>(last_created_) : std::nullopt);
        s_.progress().finished(vertex, "");
    } catch (const std::exception& e) {
        s_.progress().finished(vertex, e.what());
        throw;
    }
}

}  // namespace berth::build
