// Integration tests run as root against the real kernel. Each test cleans up after itself.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>

int main(int argc, char** argv) {
    ::testing::InitGoogleTest(&argc, argv);
    if (::geteuid() != 0) {
        std::fprintf(stderr, "integration tests need root (namespaces, mounts, cgroups)\n");
        return 1;
    }
    return RUN_ALL_TESTS();
}
