#!/usr/bin/env bash
# Makes an OCI bundle whose rootfs is Debian's busybox-static: DIR/rootfs and DIR/config.json.
#   scripts/make-busybox-bundle.sh DIR [--runtime PATH] [--rootfs-only] [-- ARGS...]
# ARGS become process.args (default: sh -c 'echo hello from a berth container'); the config
# is `berth-runtime spec` with terminal off. Used by the demo, the tests and the benchmarks.
set -euo pipefail

dir=${1:?usage: make-busybox-bundle.sh DIR [--runtime PATH] [--rootfs-only] [-- ARGS...]}
shift
runtime=""
rootfs_only=0
args=()
while (($#)); do
  case "$1" in
    --runtime) runtime=$2; shift 2 ;;
    --rootfs-only) rootfs_only=1; shift ;;
    --) shift; args=("$@"); break ;;
    *) echo "make-busybox-bundle.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done

busybox=/bin/busybox
if ! file -L "$busybox" 2>/dev/null | grep -q 'statically linked'; then
  echo "make-busybox-bundle.sh: $busybox is not the static busybox (apt-get install busybox-static)" >&2
  exit 1
fi

rootfs="$dir/rootfs"
mkdir -p "$rootfs"/{bin,dev,etc,proc,sys,tmp,root,home,var,run}
chmod 1777 "$rootfs/tmp"
cp "$busybox" "$rootfs/bin/busybox"
for applet in $("$busybox" --list); do
  [ "$applet" = busybox ] || ln -sf busybox "$rootfs/bin/$applet"
done
mkdir -p "$rootfs/usr"
ln -sfn ../bin "$rootfs/usr/bin"
ln -sfn bin "$rootfs/sbin"
cat > "$rootfs/etc/passwd" <<'PASSWD'
root:x:0:0:root:/root:/bin/sh
daemon:x:1:1:daemon:/usr/sbin:/bin/false
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
PASSWD
cat > "$rootfs/etc/group" <<'GROUP'
root:x:0:
tty:x:5:
nogroup:x:65534:
GROUP
echo "berth" > "$rootfs/etc/hostname"

((rootfs_only)) && exit 0

if [ -z "$runtime" ]; then
  runtime=$(command -v berth-runtime || true)
fi
[ -x "$runtime" ] || { echo "make-busybox-bundle.sh: berth-runtime not found (use --runtime PATH)" >&2; exit 1; }
((${#args[@]})) || args=(sh -c 'echo hello from a berth container')
rm -f "$dir/config.json"
"$runtime" spec --bundle "$dir"
jq --argjson args "$(printf '%s\n' "${args[@]}" | jq -R . | jq -s .)" \
   '.process.terminal = false | .process.args = $args' "$dir/config.json" > "$dir/config.json.new"
mv "$dir/config.json.new" "$dir/config.json"
