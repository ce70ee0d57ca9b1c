#include "support/images.hpp"

#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace fs = std::filesystem;

namespace berth::test {
namespace {

std::string file_sha256(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr);
    char buf[65536];
    while (in.read(buf, sizeof buf) || in.gcount() > 0)
        EVP_DigestUpdate(ctx, buf, static_cast<size_t>(in.gcount()));
    unsigned char out[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EVP_DigestFinal_ex(ctx, out, &len);
    EVP_MD_CTX_free(ctx);
    static constexpr char kHex[] = "0123456789abcdef";
    std::string hex;
    for (unsigned i = 0; i < len; ++i) {
        hex += kHex[out[i] >> 4];
        hex += kHex[out[i] & 15];
    }
    return hex;
}

std::vector<std::string> names_in(const std::string& dir) {
    std::vector<std::string> out;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(dir, ec))
        out.push_back(e.path().filename().string());
    std::sort(out.begin(), out.end());
    return out;
}

}  // namespace

std::string berth_binary() {
    return env_or("BERTH_BIN", BERTH_BIN_DEFAULT);
}

Berth::Berth() : dir_("berth-images"), root_(dir_.path() + "/root") {}

CommandResult Berth::operator()(const std::vector<std::string>& args,
                                const CommandOptions& options) const {
    std::vector<std::string> argv{berth_binary(), "--root",   root_,      "--authfile",
                                  authfile(),     "--config", "/dev/null"};
    argv.insert(argv.end(), args.begin(), args.end());
    CommandOptions o = options;
    o.env.emplace_back("HOME=" + dir_.path());  // no ~/.docker/config.json of the machine
    return run_command(argv, o);
}

std::unique_ptr<BackgroundCommand> Berth::start(const std::vector<std::string>& args) const {
    std::vector<std::string> argv{berth_binary(), "--root",   root_,      "--authfile",
                                  authfile(),     "--config", "/dev/null"};
    argv.insert(argv.end(), args.begin(), args.end());
    CommandOptions options;
    options.env.emplace_back("HOME=" + dir_.path());
    options.output_path = dir_.path() + "/background.log";
    return std::make_unique<BackgroundCommand>(argv, options);
}

std::vector<std::string> Berth::stored_blobs() const {
    std::vector<std::string> out;
    for (const char* alg : {"sha256", "sha512"})
        for (const auto& n : names_in(root_ + "/blobs/" + alg))
            out.push_back(std::string(alg) + ":" + n);
    return out;
}

std::vector<std::string> Berth::snapshots() const {
    std::vector<std::string> out;
    for (const auto& n : names_in(root_ + "/snapshots"))
        if (n != ".tmp") out.push_back(n);
    return out;
}

std::vector<std::string> Berth::leftovers() const {
    std::vector<std::string> out = names_in(root_ + "/blobs/ingest");
    for (const auto& n : names_in(root_ + "/snapshots/.tmp"))
        out.push_back(".tmp/" + n);
    return out;
}

std::string make_busybox_layout(const std::string& dir) {
    std::string archive = make_busybox_image(dir);
    std::string layout = dir + "/layout";
    auto r = skopeo_copy("docker-archive:" + archive, "oci:" + layout + ":latest");
    if (r.exit_code != 0) throw std::runtime_error("skopeo copy: " + r.describe());
    return layout;
}

std::string debian_layout() {
    std::string cache =
        env_or("BERTH_FIXTURES_DIR", BERTH_FIXTURES_DIR_DEFAULT) + std::string("/debian");
    CommandOptions options;
    options.timeout = std::chrono::minutes(15);
    auto r = run_command({source_dir() + "/scripts/make-debian-image.sh", cache}, options);
    if (r.exit_code != 0) throw std::runtime_error("make-debian-image.sh: " + r.describe());
    return first_line(r.out);
}

std::string tree_listing(const std::string& root) {
    std::vector<std::string> lines;
    std::error_code ec;
    for (auto it = fs::recursive_directory_iterator(root, ec);
         it != fs::recursive_directory_iterator(); it.increment(ec)) {
        if (ec) break;
        std::string path = it->path().string();
        struct stat st {};
        if (::lstat(path.c_str(), &st) < 0) continue;
        std::ostringstream line;
        line << path.substr(root.size()) << ' ';
        if (S_ISREG(st.st_mode)) {
            line << "f " << std::oct << (st.st_mode & 07777) << std::dec << ' ' << st.st_uid << ':'
                 << st.st_gid << ' ' << st.st_size << ' ' << file_sha256(path);
        } else if (S_ISDIR(st.st_mode)) {
            line << "d " << std::oct << (st.st_mode & 07777) << std::dec << ' ' << st.st_uid << ':'
                 << st.st_gid;
        } else if (S_ISLNK(st.st_mode)) {
            line << "l " << st.st_uid << ':' << st.st_gid << ' '
                 << fs::read_symlink(path, ec).string();
        } else {
            char type = S_ISCHR(st.st_mode)    ? 'c'
                        : S_ISBLK(st.st_mode)  ? 'b'
                        : S_ISFIFO(st.st_mode) ? 'p'
                                               : 's';
            line << type << ' ' << std::oct << (st.st_mode & 07777) << std::dec << ' ' << st.st_uid
                 << ':' << st.st_gid << ' ' << major(st.st_rdev) << ',' << minor(st.st_rdev);
        }
        lines.push_back(line.str());
    }
    std::sort(lines.begin(), lines.end());
    std::string out;
    for (const auto& l : lines)
        out += l + "\n";
    return out;
}

std::string listing_diff(const std::string& a, const std::string& b, size_t max_lines) {
    std::istringstream ia(a), ib(b);
    std::vector<std::string> la, lb;
    for (std::string l; std::getline(ia, l);)
        la.push_back(l);
    for (std::string l; std::getline(ib, l);)
        lb.push_back(l);
    std::vector<std::string> only_a, only_b;
    std::set_difference(la.begin(), la.end(), lb.begin(), lb.end(), std::back_inserter(only_a));
    std::set_difference(lb.begin(), lb.end(), la.begin(), la.end(), std::back_inserter(only_b));
    std::string out;
    size_t n = 0;
    for (const auto& l : only_a)
        if (n++ < max_lines) out += "- " + l + "\n";
    for (const auto& l : only_b)
        if (n++ < max_lines) out += "+ " + l + "\n";
    return out;
}

CommandResult skopeo_copy(const std::string& from, const std::string& to,
                          const std::vector<std::string>& extra) {
    std::vector<std::string> argv{"skopeo", "--insecure-policy", "copy", "-q"};
    if (from.starts_with("docker://")) argv.emplace_back("--src-tls-verify=false");
    if (to.starts_with("docker://")) argv.emplace_back("--dest-tls-verify=false");
    argv.insert(argv.end(), extra.begin(), extra.end());
    argv.push_back(from);
    argv.push_back(to);
    CommandOptions options;
    options.timeout = std::chrono::minutes(5);
    return run_command(argv, options);
}

std::string first_line(const std::string& text) {
    return text.substr(0, text.find('\n'));
}

}  // namespace berth::test
