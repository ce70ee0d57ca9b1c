# Shared helpers for the benchmark scripts (sourced). Benchmarks are not tests: they print
# medians and ratios measured side by side in one run.
set -euo pipefail

BERTH_ROOT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BERTH_RUNTIME=${BERTH_RUNTIME:-$BERTH_ROOT_DIR/build/src/cli/berth-runtime}

require_root() {
  [ "$(id -u)" -eq 0 ] || { echo "$0: run as root" >&2; exit 1; }
}

require_built() {
  [ -x "$BERTH_RUNTIME" ] || { echo "$0: build first (scripts/build.sh)" >&2; exit 1; }
}

# median FILE: the median of the numbers in FILE (one per line).
median() {
  sort -n "$1" | awk '{v[NR]=$1} END {if (NR == 0) {print "nan"; exit} if (NR % 2) print v[(NR+1)/2]; else printf "%.3f\n", (v[NR/2] + v[NR/2+1]) / 2}'
}

# ratio A B: A/B with 2 decimals.
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {if (b == 0) print "nan"; else printf "%.2f\n", a / b}'; }

# now_ms: wall clock in milliseconds with microsecond resolution.
now_ms() { local t=$EPOCHREALTIME; echo "${t/./}" | awk '{printf "%.3f\n", $1 / 1000}'; }

# crun refuses hybrid hosts whose cgroup2 has controllers. Mount the v1 hugetlb hierarchy
# for the duration of the benchmark (it moves hugetlb out of cgroup2), and undo it after.
HUGETLB_MOUNTED=0
prepare_crun_on_hybrid() {
  if [ -f /sys/fs/cgroup/unified/cgroup.controllers ] && grep -q hugetlb /sys/fs/cgroup/unified/cgroup.controllers; then
    mkdir -p /sys/fs/cgroup/hugetlb
    mount -t cgroup -o hugetlb cgroup /sys/fs/cgroup/hugetlb
    HUGETLB_MOUNTED=1
  fi
}
restore_crun_on_hybrid() {
  if ((HUGETLB_MOUNTED)); then
    umount /sys/fs/cgroup/hugetlb && rmdir /sys/fs/cgroup/hugetlb || true
    # A lingering dead cgroup can keep the hierarchy alive after umount: remount it once
    # it is gone, and unmount again, until hugetlb is back in cgroup2.
    for _ in 1 2 3 4 5; do
      grep -q hugetlb /sys/fs/cgroup/unified/cgroup.controllers && break
      sleep 1
      mkdir -p /tmp/berth-hugetlb.$$ && mount -t cgroup -o hugetlb cgroup /tmp/berth-hugetlb.$$ && umount /tmp/berth-hugetlb.$$
      rmdir /tmp/berth-hugetlb.$$ 2>/dev/null || true
    done
    HUGETLB_MOUNTED=0
  fi
}

# The runtimes' own default roots (/run/runc, /run/crun) sit on a tmpfs on a usual host; where
# /run is a disk filesystem (as on these machines: ext4 mounted with `discard`), every state
# directory's removal would wait for a block discard. mount_state_tmpfs DIR gives all runtimes
# under test a tmpfs like /run, so they are compared as deployed; unmount_state_tmpfs undoes it.
mount_state_tmpfs() {
  mkdir -p "$1"
  if [ "$(stat -f -c %T /run)" != tmpfs ]; then mount -t tmpfs -o mode=0700 berth-bench-state "$1"; fi
}
unmount_state_tmpfs() {
  if mountpoint -q "$1"; then umount "$1"; fi
}

# make_bundle DIR ARGS...: a busybox bundle with the default spec and these process args.
make_bundle() {
  local dir=$1; shift
  rm -rf "$dir"
  "$BERTH_ROOT_DIR/scripts/make-busybox-bundle.sh" "$dir" --runtime "$BERTH_RUNTIME" -- "$@" >/dev/null
}
