# Helpers for the engine benchmarks (sourced after lib.sh): a berth root with the busybox
# image, and a podman confined to a temp directory with the same image (its storage,
# run root, CNI configs and events there; nothing read from /etc/containers).
BERTH_BIN=${BERTH_BIN:-$BERTH_ROOT_DIR/build/src/cli/berth}

# setup_engines WORK: berth at WORK/berth, podman under WORK/podman; both hold
# localhost/busybox:latest. Sets BERTH (array) and PODMAN (array) commands.
setup_engines() {
  local work=$1
  local rootfs=$BERTH_ROOT_DIR/build/fixtures/busybox-rootfs
  [ -x "$rootfs/bin/busybox" ] || { echo "$0: build first (the busybox rootfs fixture)" >&2; exit 1; }
  "$BERTH_ROOT_DIR/scripts/make-busybox-image.sh" "$rootfs" "$work/busybox.tar" >/dev/null
  BERTH=("$BERTH_BIN" --root "$work/berth")
  "${BERTH[@]}" load -i "$work/busybox.tar" >/dev/null

  local p=$work/podman
  mkdir -p "$p/storage" "$p/run" "$p/tmp" "$p/libpod-tmp" "$p/networks"
  cat > "$p/containers.conf" <<CONF
[containers]
default_ulimits = ["nofile=$(ulimit -Sn):$(ulimit -Hn)", "nproc=4096:4096"]
[network]
network_backend = "cni"
network_config_dir = "$p/networks"
[engine]
# runc: crun refuses this hybrid host while cgroup2 holds hugetlb (see lib.sh).
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
lock_type = "file"
tmp_dir = "$p/libpod-tmp"
static_dir = "$p/storage/libpod"
volume_path = "$p/storage/volumes"
CONF
  printf '[storage]\ndriver = "overlay"\ngraphroot = "%s/storage"\nrunroot = "%s/run"\n' "$p" "$p" > "$p/storage.conf"
  echo 'unqualified-search-registries = []' > "$p/registries.conf"
  export CONTAINERS_CONF=$p/containers.conf CONTAINERS_STORAGE_CONF=$p/storage.conf
  export CONTAINERS_REGISTRIES_CONF=$p/registries.conf TMPDIR=$p/tmp
  PODMAN=(podman --root "$p/storage" --runroot "$p/run" --storage-driver overlay
          --cgroup-manager cgroupfs --events-backend file --tmpdir "$p/libpod-tmp")
  # containers/image writes its blob-info cache to /var/lib/containers/cache whatever the
  # root: load with private tmpfs mounts there.
  unshare --mount --propagation private sh -c \
    'mount -t tmpfs -o size=16m bench /var/lib && mount -t tmpfs -o size=64m bench /var/tmp && exec "$@"' \
    sh "${PODMAN[@]}" load --input "$work/busybox.tar" >/dev/null
}

# teardown_engines WORK: every container, network and mount of both, then WORK.
teardown_engines() {
  local work=$1
  if [ -n "${BERTH+x}" ]; then
    local ids
    ids=$("${BERTH[@]}" ps -aq 2>/dev/null || true)
    [ -z "$ids" ] || "${BERTH[@]}" rm -f $ids >/dev/null 2>&1 || true
    for n in $("${BERTH[@]}" network ls -q 2>/dev/null || true); do "${BERTH[@]}" network rm "$n" >/dev/null 2>&1 || true; done
    rm -rf "$("${BERTH[@]}" info 2>/dev/null | sed -n 's/.*"RunRoot": "\(.*\)".*/\1/p')"
  fi
  if [ -n "${PODMAN+x}" ]; then
    "${PODMAN[@]}" rm -a -f >/dev/null 2>&1 || true
    "${PODMAN[@]}" network prune -f >/dev/null 2>&1 || true
    ip link delete cni-podman0 >/dev/null 2>&1 || true
    "${PODMAN[@]}" system reset -f >/dev/null 2>&1 || true
  fi
  { grep -o " $work[^ ]*" /proc/self/mountinfo || true; } | sort -r | while read -r m; do umount -l "$m" 2>/dev/null || true; done
  rm -rf "$work"
}
