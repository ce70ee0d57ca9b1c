#include "engine/container/teardown.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/error.hpp"
#include "common/path.hpp"
#include "common/remove_tree.hpp"

namespace berth::engine {

ContainerLock::ContainerLock(const std::string& container_dir)
    : fd_(::open(container_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)) {
    if (fd_) ::flock(fd_.get(), LOCK_EX);
}

namespace {

std::string trash_dir(const std::string& containers_dir) {
    return containers_dir + "/.trash";
}

void remove_rows(image::Database& db, const TeardownPlan& plan) {
    image::Transaction transaction(db);
    for (const auto& name : plan.volume_names) {
        image::Statement st = db.prepare("DELETE FROM volumes WHERE name = ?1");
        st.bind(1, name);
        st.run();
    }
    image::Statement st = db.prepare("DELETE FROM containers WHERE id = ?1");
    st.bind(1, plan.id);
    st.run();
    transaction.commit();
}

}  // namespace

void release_rootfs(const std::string& container_dir, bool keep_layer) {
    std::string rootfs = container_dir + "/rootfs";
    while (::umount2(rootfs.c_str(), MNT_DETACH) == 0) {
    }
    if (keep_layer) return;
    remove_tree(container_dir + "/upper");
    remove_tree(container_dir + "/work");
}

void remove_container_files(image::Database& db, const TeardownPlan& plan) {
    release_rootfs(plan.container_dir);
    remove_tree(plan.container_dir);
    for (const auto& dir : plan.volume_dirs)
        remove_tree(dir);
    remove_rows(db, plan);
}

std::string unlist_container_files(image::Database& db, const TeardownPlan& plan) {
    release_rootfs(plan.container_dir, true);
    std::string trash = trash_dir(parent_path(plan.container_dir));
    std::string entry = trash + "/" + plan.id;
    ::mkdir(trash.c_str(), 0700);
    if (::rename(plan.container_dir.c_str(), entry.c_str()) != 0) {
        entry.clear();
        remove_tree(plan.container_dir);
    }
    for (const auto& dir : plan.volume_dirs)
        remove_tree(dir);
    remove_rows(db, plan);
    return entry;
}

// Both best effort: what cannot be deleted now stays for the next create or prune, and
// must not fail either.
void delete_trash_entry(const std::string& path) {
    if (path.empty()) return;
    try {
        remove_tree(path);
    } catch (const Error&) {  // NOLINT(bugprone-empty-catch): left for empty_trash
    }
}

void empty_trash(const std::string& containers_dir) {
    UniqueFd dir(::open(trash_dir(containers_dir).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!dir) return;
    try {
        remove_tree_contents(dir.get(), trash_dir(containers_dir));
    } catch (const Error&) {  // NOLINT(bugprone-empty-catch): tried again next time
    }
}

}  // namespace berth::engine
