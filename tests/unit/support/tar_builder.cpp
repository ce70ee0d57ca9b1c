#include "support/tar_builder.hpp"

#include <archive.h>
#include <archive_entry.h>

#include <memory>
#include <stdexcept>

namespace berth::test {
namespace {

struct Out {
    std::string data;
};

la_ssize_t write_cb(archive*, void* client, const void* buffer, size_t size) {
    static_cast<Out*>(client)->data.append(static_cast<const char*>(buffer), size);
    return static_cast<la_ssize_t>(size);
}

}  // namespace

std::string make_tar(const std::vector<TarEntry>& entries, TarCompression compression) {
    std::unique_ptr<archive, decltype(&archive_write_free)> a(archive_write_new(),
                                                              archive_write_free);
    archive_write_set_format_pax_restricted(a.get());
    if (compression == TarCompression::gzip) {
        archive_write_add_filter_gzip(a.get());
        // No time in the gzip header: the same entries must give the same bytes (and digest).
        archive_write_set_filter_option(a.get(), "gzip", "timestamp", nullptr);
    }
    if (compression == TarCompression::zstd) archive_write_add_filter_zstd(a.get());
    archive_write_set_bytes_in_last_block(a.get(), 1);
    Out out;
    if (archive_write_open(a.get(), &out, nullptr, write_cb, nullptr) != ARCHIVE_OK)
        throw std::runtime_error("archive_write_open failed");
    for (const auto& t : entries) {
        std::unique_ptr<archive_entry, decltype(&archive_entry_free)> e(archive_entry_new(),
                                                                        archive_entry_free);
        archive_entry_set_pathname(e.get(), t.name.c_str());
        archive_entry_set_perm(e.get(), t.mode);
        archive_entry_set_uid(e.get(), t.uid);
        archive_entry_set_gid(e.get(), t.gid);
        archive_entry_set_mtime(e.get(), t.mtime, 0);
        switch (t.type) {
            case 'f':
                archive_entry_set_filetype(e.get(), AE_IFREG);
                archive_entry_set_size(e.get(), static_cast<la_int64_t>(t.data.size()));
                break;
            case 'd':
                archive_entry_set_filetype(e.get(), AE_IFDIR);
                break;
            case 'l':
                archive_entry_set_filetype(e.get(), AE_IFLNK);
                archive_entry_set_symlink(e.get(), t.data.c_str());
                break;
            case 'h':
                archive_entry_set_filetype(e.get(), AE_IFREG);
                archive_entry_set_hardlink(e.get(), t.data.c_str());
                archive_entry_set_size(e.get(), 0);
                break;
            case 'c':
            case 'b':
                archive_entry_set_filetype(e.get(), t.type == 'c' ? AE_IFCHR : AE_IFBLK);
                archive_entry_set_rdevmajor(e.get(), t.dev_major);
                archive_entry_set_rdevminor(e.get(), t.dev_minor);
                break;
            case 'p':
                archive_entry_set_filetype(e.get(), AE_IFIFO);
                break;
            default:
                throw std::runtime_error("bad tar entry type");
        }
        for (const auto& [k, v] : t.xattrs)
            archive_entry_xattr_add_entry(e.get(), k.c_str(), v.data(), v.size());
        if (archive_write_header(a.get(), e.get()) != ARCHIVE_OK)
            throw std::runtime_error(std::string("archive_write_header: ") +
                                     archive_error_string(a.get()));
        if (t.type == 'f' && !t.data.empty())
            archive_write_data(a.get(), t.data.data(), t.data.size());
    }
    archive_write_close(a.get());
    return out.data;
}

TarEntry tar_file(const std::string& name, const std::string& data, mode_t mode) {
    TarEntry e;
    e.name = name;
    e.data = data;
    e.mode = mode;
    return e;
}

TarEntry tar_dir(const std::string& name, mode_t mode) {
    TarEntry e;
    e.name = name;
    e.type = 'd';
    e.mode = mode;
    return e;
}

TarEntry tar_symlink(const std::string& name, const std::string& target) {
    TarEntry e;
    e.name = name;
    e.type = 'l';
    e.data = target;
    e.mode = 0777;
    return e;
}

TarEntry tar_hardlink(const std::string& name, const std::string& target) {
    TarEntry e;
    e.name = name;
    e.type = 'h';
    e.data = target;
    return e;
}

}  // namespace berth::test
