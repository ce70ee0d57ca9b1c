#!/usr/bin/env bash
# Installs every Debian package berth needs to build, test and benchmark. Idempotent.
set -euo pipefail

build_packages=(
  cmake ninja-build g++ pkg-config git ca-certificates
  nlohmann-json3-dev libcli11-dev libseccomp-dev libcap-dev libssl-dev
  libgtest-dev libgmock-dev clang-format clang-tidy
  libarchive-dev libcurl4-openssl-dev libisal-dev libsqlite3-dev libtomlplusplus-dev libzstd-dev
  libboost-dev libcrypt-dev
  # Trust: NaCl secretbox for cosign's encrypted keys; Berkeley DB for older rpm databases.
  libsodium-dev libdb5.3-dev
  # The static archives of libarchive's compressors (berth links them statically).
  zlib1g-dev libbz2-dev liblzma-dev
)
# What the engine runs: CNI plugins (bridge, host-local, portmap, firewall), iptables for
# them, iproute2 to delete bridges, and curl for the published-port tests; for rootless
# containers newuidmap/newgidmap (uidmap) and slirp4netns.
engine_packages=(containernetworking-plugins iptables iproute2 curl uidmap slirp4netns)
# Real peers and tools the integration tests drive.
test_packages=(
  busybox-static file time uidmap iproute2 util-linux bsdutils procps psmisc jq strace
  runc crun containerd podman conmon buildah docker.io
  apache2-utils debootstrap docker-registry isal skopeo umoci
  wrk nginx
  # The SBOM tests validate against the published schemas with jsonschema; the key-file tests
  # read cosign's format with an implementation apart from berth's (scripts/cosign-key.py).
  python3-jsonschema python3-nacl python3-cryptography openssl
)

missing=()
for p in "${build_packages[@]}" "${engine_packages[@]}" "${test_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# The SBOM tests fetch CycloneDX's published schemas with npm (scripts/sbom-schemas.sh), the
# provenance test sigstore's JavaScript (scripts/sigstore-js.sh, run with node).
if ! command -v npm >/dev/null; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends npm
fi

# slirp4netns opens /dev/net/tun as the user: udev's default rule makes it 0666, a host
# without udev leaves the kernel's 0600 (done again after each boot).
if [ -c /dev/net/tun ] && [ "$(stat -c %a /dev/net/tun)" != 666 ]; then
  chmod 0666 /dev/net/tun
fi
