// What the image tests share: the berth CLI with a private root, the test images (busybox,
// the layered Debian), and a tree listing to compare unpacked root filesystems.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "support/command.hpp"
#include "support/fixture.hpp"

namespace berth::test {

// build/src/cli/berth, or $BERTH_BIN.
std::string berth_binary();

// Runs berth --root ROOT --authfile ROOT/auth.json ARGS (no other configuration is read).
class Berth {
  public:
    Berth();
    [[nodiscard]] const std::string& root() const { return root_; }
    [[nodiscard]] std::string authfile() const { return dir_.path() + "/auth.json"; }
    CommandResult operator()(const std::vector<std::string>& args,
                             const CommandOptions& options = {}) const;
    // The same command started in the background (to be killed midway).
    [[nodiscard]] std::unique_ptr<BackgroundCommand> start(
        const std::vector<std::string>& args) const;
    // Names of files under blobs/<alg>/, snapshots/ and the temp areas: what a failed
    // operation must not leave behind.
    [[nodiscard]] std::vector<std::string> stored_blobs() const;
    [[nodiscard]] std::vector<std::string> snapshots() const;
    [[nodiscard]] std::vector<std::string> leftovers() const;  // ingest/ and snapshots/.tmp/

  private:
    TempDir dir_;
    std::string root_;
};

// The busybox rootfs as an OCI layout (skopeo-made from the docker archive of
// scripts/make-busybox-image.sh), tag "latest", in dir. Returns "DIR/layout".
std::string make_busybox_layout(const std::string& dir);
// The layered Debian image (scripts/make-debian-image.sh), cached in the build tree.
std::string debian_layout();

// One line per entry, sorted: "path type mode uid:gid size sha256-or-link-target".
std::string tree_listing(const std::string& root);
// The first lines where two listings differ (empty when equal).
std::string listing_diff(const std::string& a, const std::string& b, size_t max_lines = 20);

// skopeo copy with TLS verification off for both ends.
CommandResult skopeo_copy(const std::string& from, const std::string& to,
                          const std::vector<std::string>& extra = {});

// The first line of text.
std::string first_line(const std::string& text);

}  // namespace berth::test
