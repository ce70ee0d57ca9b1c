#include "image/archive_sink.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <ctime>
#include <vector>

#include "common/error.hpp"
#include "common/file.hpp"
#include "common/path.hpp"
#include "common/remove_tree.hpp"

namespace berth::image {
namespace {

bool is_empty_dir(const std::string& path) {
    DIR* d = ::opendir(path.c_str());
    if (!d) return false;
    bool empty = true;
    while (dirent* e = ::readdir(d)) {
        std::string name = e->d_name;
        if (name != "." && name != "..") empty = false;
    }
    ::closedir(d);
    return empty;
}

class DirectorySink : public ArchiveSink {
  public:
    explicit DirectorySink(std::string dir) : dir_(std::move(dir)) {
        struct stat st {};
        if (::stat(dir_.c_str(), &st) == 0) {
            if (!S_ISDIR(st.st_mode) || !is_empty_dir(dir_))
                throw Error("output directory " + dir_ + " exists and is not empty");
            replace_empty_ = true;
        }
        temp_ = dir_ + ".tmp-" + std::to_string(::getpid());
        remove_tree(temp_);
        if (::mkdir(temp_.c_str(), 0755) < 0) throw_errno("mkdir", temp_);
    }
    ~DirectorySink() override {
        if (!finished_) {
            try {
                remove_tree(temp_);
            } catch (...) {  // NOLINT(bugprone-empty-catch): best effort in a destructor
            }
        }
    }
    DirectorySink(const DirectorySink&) = delete;
    DirectorySink& operator=(const DirectorySink&) = delete;

    void add_directory(const std::string& name) override {
        std::string path = temp_ + "/" + name;
        if (::mkdir(path.c_str(), 0755) < 0 && errno != EEXIST) throw_errno("mkdir", path);
    }

    void add_file(const std::string& name, int64_t size, ByteSource& data) override {
        std::string path = temp_ + "/" + name;
        UniqueFd fd = open_file(path, O_WRONLY | O_CREAT | O_EXCL, 0644);
        std::vector<char> buffer(256 * 1024);
        int64_t written = 0;
        while (size_t n = data.read(buffer.data(), buffer.size())) {
            write_all(fd.get(), std::string_view(buffer.data(), n), path);
            written += static_cast<int64_t>(n);
        }
        if (written != size)
            throw Error(path + ": wrote " + std::to_string(written) + " bytes, expected " +
                        std::to_string(size));
    }

    void finish() override {
        {
            UniqueFd dir = open_file(temp_, O_RDONLY | O_DIRECTORY);
            if (::syncfs(dir.get()) < 0) throw_errno("syncfs", temp_);
        }
        if (replace_empty_ && ::rmdir(dir_.c_str()) < 0) throw_errno("rmdir", dir_);
        if (::rename(temp_.c_str(), dir_.c_str()) < 0) throw_errno("rename", temp_);
        finished_ = true;
    }

  private:
    std::string dir_, temp_;
    bool replace_empty_ = false;
    bool finished_ = false;
};

struct WriteArchiveDeleter {
    void operator()(archive* a) const { archive_write_free(a); }
};
struct EntryDeleter {
    void operator()(archive_entry* e) const { archive_entry_free(e); }
};

class TarSink : public ArchiveSink {
  public:
    explicit TarSink(const std::string& path) : path_(path) {
        if (path == "-") {
            fd_ = STDOUT_FILENO;
        } else {
            temp_ = path + ".tmp-" + std::to_string(::getpid());
            owned_ = open_file(temp_, O_WRONLY | O_CREAT | O_TRUNC, 0644);
            fd_ = owned_.get();
        }
        archive_.reset(archive_write_new());
        archive_write_set_format_pax_restricted(archive_.get());
        archive_write_set_bytes_per_block(archive_.get(), 10240);
        if (archive_write_open_fd(archive_.get(), fd_) != ARCHIVE_OK) fail("open");
    }
    ~TarSink() override {
        archive_.reset();
        if (!temp_.empty() && !finished_) ::unlink(temp_.c_str());
    }
    TarSink(const TarSink&) = delete;
    TarSink& operator=(const TarSink&) = delete;

    void add_directory(const std::string& name) override {
        std::unique_ptr<archive_entry, EntryDeleter> e(archive_entry_new());
        archive_entry_set_pathname(e.get(), name.c_str());
        archive_entry_set_filetype(e.get(), AE_IFDIR);
        archive_entry_set_perm(e.get(), 0755);
        archive_entry_set_mtime(e.get(), now_, 0);
        if (archive_write_header(archive_.get(), e.get()) != ARCHIVE_OK) fail(name);
    }

    void add_file(const std::string& name, int64_t size, ByteSource& data) override {
        std::unique_ptr<archive_entry, EntryDeleter> e(archive_entry_new());
        archive_entry_set_pathname(e.get(), name.c_str());
        archive_entry_set_filetype(e.get(), AE_IFREG);
        archive_entry_set_perm(e.get(), 0644);
        archive_entry_set_size(e.get(), size);
        archive_entry_set_mtime(e.get(), now_, 0);
        if (archive_write_header(archive_.get(), e.get()) != ARCHIVE_OK) fail(name);
        std::vector<char> buffer(256 * 1024);
        int64_t written = 0;
        while (size_t n = data.read(buffer.data(), buffer.size())) {
            if (written + static_cast<int64_t>(n) > size)
                throw Error(name + ": more than the expected " + std::to_string(size) + " bytes");
            if (archive_write_data(archive_.get(), buffer.data(), n) < 0) fail(name);
            written += static_cast<int64_t>(n);
        }
        if (written != size)
            throw Error(name + ": " + std::to_string(written) + " bytes, expected " +
                        std::to_string(size));
    }

    void finish() override {
        if (archive_write_close(archive_.get()) != ARCHIVE_OK) fail("close");
        if (!temp_.empty()) {
            if (::fsync(fd_) < 0) throw_errno("fsync", temp_);
            if (::rename(temp_.c_str(), path_.c_str()) < 0) throw_errno("rename", temp_);
        }
        finished_ = true;
    }

  private:
    [[noreturn]] void fail(const std::string& what) {
        const char* message = archive_error_string(archive_.get());
        throw Error("write " + (path_ == "-" ? std::string("stdout") : path_) + ": " + what + ": " +
                    (message ? message : "error"));
    }

    std::string path_, temp_;
    UniqueFd owned_;
    int fd_ = -1;
    std::unique_ptr<archive, WriteArchiveDeleter> archive_;
    time_t now_ = ::time(nullptr);
    bool finished_ = false;
};

}  // namespace

void ArchiveSink::add_bytes(const std::string& name, std::string_view bytes) {
    MemorySource source(bytes);
    add_file(name, static_cast<int64_t>(bytes.size()), source);
}

std::unique_ptr<ArchiveSink> directory_sink(const std::string& dir) {
    return std::make_unique<DirectorySink>(dir);
}

std::unique_ptr<ArchiveSink> tar_sink(const std::string& path) {
    return std::make_unique<TarSink>(path);
}

}  // namespace berth::image
