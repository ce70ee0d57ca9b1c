#!/usr/bin/env bash
# Makes the Debian test image: a debootstrapped bookworm minbase (~200 MB unpacked) split
# into several gzip layers, the last one with whiteouts (a deleted file, a deleted
# directory, an opaque directory), a file replaced by a directory and back, hardlinks,
# symlinks, a fifo, setuid and owned files. Written as an OCI layout, tag "bookworm".
#   scripts/make-debian-image.sh DIR       -> DIR/oci (and the debootstrap cache in DIR)
# The debootstrap (from Debian's archive, $DEBIAN_MIRROR) happens once per DIR; concurrent
# callers wait for each other. Prints the layout's path.
set -euo pipefail

out=${1:?usage: make-debian-image.sh DIR}
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
version=3  # bump when the layers change
mkdir -p "$out"
out=$(cd "$out" && pwd)
exec 9>"$out/.lock"
flock 9

if [ -f "$out/oci/index.json" ] && [ "$(cat "$out/oci/.version" 2>/dev/null)" = "$version" ]; then
  echo "$out/oci"
  exit 0
fi

rootfs=$out/debootstrap
if [ ! -f "$out/debootstrap.done" ]; then
  rm -rf "$rootfs"
  echo "make-debian-image.sh: debootstrap bookworm minbase from $mirror (once)" >&2
  debootstrap --variant=minbase bookworm "$rootfs" "$mirror" >"$out/debootstrap.log" 2>&1 ||
    { tail -20 "$out/debootstrap.log" >&2; exit 1; }
  touch "$out/debootstrap.done"
fi

work=$(mktemp -d "$out/work.XXXXXX")
trap 'rm -rf "$work"' EXIT
tar_opts=(--numeric-owner --xattrs --sort=name --mtime=@1700000000 --format=pax
          --pax-option=delete=atime,delete=ctime)

# Layer 1: the system without /usr/share and the downloaded packages.
tar "${tar_opts[@]}" -C "$rootfs" -cf "$work/1.tar" --exclude=./usr/share \
  --exclude='./var/cache/apt/archives/*.deb' .
# Layer 2: /usr/share.
tar "${tar_opts[@]}" -C "$rootfs" -cf "$work/2.tar" --no-recursion ./usr
tar "${tar_opts[@]}" -C "$rootfs" -rf "$work/2.tar" ./usr/share
# Layer 3: the packages debootstrap downloaded.
(cd "$rootfs" && find ./var/cache/apt/archives -maxdepth 1 -name '*.deb' | sort) > "$work/debs"
tar "${tar_opts[@]}" -C "$rootfs" -cf "$work/3.tar" --no-recursion ./var ./var/cache \
  ./var/cache/apt ./var/cache/apt/archives
tar "${tar_opts[@]}" -C "$rootfs" -rf "$work/3.tar" --no-recursion -T "$work/debs"
# Layer 4: changes, with whiteouts.
s=$work/changes
mkdir -p "$s"/etc "$s"/usr/share/doc "$s"/usr/local/bin "$s"/var/log "$s"/home/user \
  "$s"/var/cache/apt/archives "$s/opt/a dir with spaces"
chmod 0755 "$s" "$s"/etc "$s"/usr "$s"/usr/share "$s"/usr/share/doc "$s"/usr/local \
  "$s"/usr/local/bin "$s"/var "$s"/var/log "$s"/home "$s"/var/cache "$s"/var/cache/apt \
  "$s"/var/cache/apt/archives "$s"/opt "$s/opt/a dir with spaces"
: > "$s/etc/.wh.motd"                                  # a deleted file
echo berth-debian > "$s/etc/hostname"                  # a changed file
mkdir "$s/etc/issue" && echo "net issue" > "$s/etc/issue/net"   # a file becomes a directory
: > "$s/usr/share/.wh.locale"                           # a deleted directory
: > "$s/usr/share/doc/.wh..wh..opq"                     # an opaque directory...
echo "documentation removed" > "$s/usr/share/doc/README"   # ...with new content
first_deb=$(head -1 "$work/debs"); : > "$s/var/cache/apt/archives/.wh.$(basename "$first_deb")"
echo "was a directory" > "$s/var/log/apt"               # a directory becomes a file
printf '#!/bin/sh\necho hello from berth\n' > "$s/usr/local/bin/hello"
chmod 0755 "$s/usr/local/bin/hello"
ln "$s/usr/local/bin/hello" "$s/usr/local/bin/hello-hardlink"
ln -s hello "$s/usr/local/bin/hi"
ln -s /usr/bin/env "$s/usr/local/bin/env-absolute"
ln -s ../../etc/hostname "$s/usr/local/hostname-relative"
mkfifo -m 0600 "$s/usr/local/fifo"
cp "$rootfs/bin/true" "$s/usr/local/bin/suid" && chmod 4755 "$s/usr/local/bin/suid"
echo secret > "$s/home/user/file" && chmod 0600 "$s/home/user/file"
chown -R 1000:1000 "$s/home/user" && chmod 0700 "$s/home/user"
: > "$s/opt/a dir with spaces/empty file"
long=$s/opt/$(printf 'long-name-%.0s' {1..12})
mkdir -p "$long" && echo deep > "$long/$(printf 'x%.0s' {1..150})"
chmod -R go+rX "$s/opt"
echo attrs > "$s/opt/xattr-file" && (setfattr -n user.berth -v test "$s/opt/xattr-file" 2>/dev/null || true)
tar "${tar_opts[@]}" -C "$s" -cf "$work/4.tar" .

# Compress (two at a time), then the config, manifest and layout.
layout=$work/oci
mkdir -p "$layout/blobs/sha256"
for i in 1 2 3 4; do gzip -n -6 "$work/$i.tar" & if ((i % 2 == 0)); then wait; fi; done
wait
arch=$(dpkg --print-architecture)
diff_ids=() layers=()
for i in 1 2 3 4; do
  diff_ids+=("\"sha256:$(gzip -dc "$work/$i.tar.gz" | sha256sum | cut -d' ' -f1)\"")
  digest=$(sha256sum "$work/$i.tar.gz" | cut -d' ' -f1)
  size=$(stat -c %s "$work/$i.tar.gz")
  mv "$work/$i.tar.gz" "$layout/blobs/sha256/$digest"
  layers+=("{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+gzip\",\"digest\":\"sha256:$digest\",\"size\":$size}")
done
join() { local IFS=,; echo "$*"; }
history='{"created":"2023-11-14T22:13:20Z","created_by":"debootstrap --variant=minbase bookworm"},{"created":"2023-11-14T22:13:20Z","created_by":"split: /usr/share"},{"created":"2023-11-14T22:13:20Z","created_by":"split: apt cache"},{"created":"2023-11-14T22:13:20Z","created_by":"changes with whiteouts"}'
printf '{"created":"2023-11-14T22:13:20Z","architecture":"%s","os":"linux","config":{"Env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],"Cmd":["bash"],"Labels":{"org.opencontainers.image.title":"berth test debian"}},"rootfs":{"type":"layers","diff_ids":[%s]},"history":[%s]}' \
  "$arch" "$(join "${diff_ids[@]}")" "$history" > "$work/config.json"
config=$(sha256sum "$work/config.json" | cut -d' ' -f1)
config_size=$(stat -c %s "$work/config.json")
mv "$work/config.json" "$layout/blobs/sha256/$config"
printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%s},"layers":[%s]}' \
  "$config" "$config_size" "$(join "${layers[@]}")" > "$work/manifest.json"
manifest=$(sha256sum "$work/manifest.json" | cut -d' ' -f1)
manifest_size=$(stat -c %s "$work/manifest.json")
mv "$work/manifest.json" "$layout/blobs/sha256/$manifest"
printf '{"imageLayoutVersion":"1.0.0"}' > "$layout/oci-layout"
printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%s,"annotations":{"org.opencontainers.image.ref.name":"bookworm"}}]}' \
  "$manifest" "$manifest_size" > "$layout/index.json"
echo "$version" > "$layout/.version"
rm -rf "$out/oci"
mv "$layout" "$out/oci"
echo "$out/oci"
