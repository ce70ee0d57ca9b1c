#include "engine/container_teardown.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/mount.h>

#include "common/remove_tree.hpp"

namespace berth::engine {

ContainerLock::ContainerLock(const std::string& container_dir)
    : fd_(::open(container_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)) {
    if (fd_) ::flock(fd_.get(), LOCK_EX);
}

void release_rootfs(const std::string& container_dir) {
    std::string rootfs = container_dir + "/rootfs";
    while (::umount2(rootfs.c_str(), MNT_DETACH) == 0) {
    }
    remove_tree(container_dir + "/upper");
    remove_tree(container_dir + "/work");
}

void remove_container_files(image::Database& db, const TeardownPlan& plan) {
    release_rootfs(plan.container_dir);
    remove_tree(plan.container_dir);
    for (const auto& dir : plan.volume_dirs)
        remove_tree(dir);
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

}  // namespace berth::engine
