#!/usr/bin/env bash
# Makes a one-layer image archive in the format `docker save` writes (manifest.json, the
# config, the layer tar) from a rootfs directory, e.g. the busybox test rootfs. `ctr image
# import` and `podman load` read it; nothing is pulled.
#   scripts/make-busybox-image.sh ROOTFS OUT.tar [NAME]   (NAME: localhost/busybox:latest)
set -euo pipefail

rootfs=${1:?usage: make-busybox-image.sh ROOTFS OUT.tar [NAME]}
out=${2:?usage: make-busybox-image.sh ROOTFS OUT.tar [NAME]}
name=${3:-localhost/busybox:latest}
[ -x "$rootfs/bin/sh" ] || { echo "make-busybox-image.sh: $rootfs has no bin/sh" >&2; exit 1; }

case "$(uname -m)" in
  x86_64) arch=amd64 ;;
  aarch64) arch=arm64 ;;
  armv7l) arch=arm ;;
  i686) arch=386 ;;
  *) arch=$(uname -m) ;;
esac

work=$(mktemp -d "${TMPDIR:-/tmp}/busybox-image.XXXXXX")
trap 'rm -rf "$work"' EXIT

tar --numeric-owner --sort=name -C "$rootfs" -cf "$work/layer.tar" .
diff_id=$(sha256sum "$work/layer.tar" | cut -d' ' -f1)
mkdir "$work/$diff_id"
mv "$work/layer.tar" "$work/$diff_id/layer.tar"

created=$(date -u +%Y-%m-%dT%H:%M:%SZ)
cat > "$work/config.json" <<CONFIG
{"architecture":"$arch","os":"linux","created":"$created",
 "config":{"Env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],"Cmd":["sh"]},
 "rootfs":{"type":"layers","diff_ids":["sha256:$diff_id"]},
 "history":[{"created":"$created","created_by":"scripts/make-busybox-image.sh"}]}
CONFIG
config_id=$(sha256sum "$work/config.json" | cut -d' ' -f1)
mv "$work/config.json" "$work/$config_id.json"
printf '[{"Config":"%s.json","RepoTags":["%s"],"Layers":["%s/layer.tar"]}]\n' \
  "$config_id" "$name" "$diff_id" > "$work/manifest.json"
tar --numeric-owner -C "$work" -cf "$out" manifest.json "$config_id.json" "$diff_id"
