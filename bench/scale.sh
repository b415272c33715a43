#!/usr/bin/env bash
# Label-map stores at scale (issue 22): writes a synthetic ImageNet-size store (1,281,167 records, C=1000, k=5,
# 15x15, fp16 scores, uint16 ids: 5.8 GB) with LabelMapStoreWriter.append, and a 100M-record small-format store
# (k=1, 1x1: 64-byte records, 8+ GB with its index) where the disk allows (skipped visibly otherwise), then
# measures, in one run beside two anchors of the ImageNet format: a small 2048-record store (9.3 MB: it stays in
# the CPU caches) and a 200,000-record one (0.92 GB: beyond them, as the big store is):
#   write     records/s and the writer's peak memory (the writer JVM runs with -Xmx192m: a bound that does not
#             grow with the record count; heap peak and VmHWM printed)
#   open, find (1M random keys), verify (every record's CRC32C)
#   gather    random 1024-record gather + LabelPooling (S=1, softmax, one output per row, reused), per residency
#             (mapped = madvise RANDOM, mapped-readahead, ram): the first B batches after opening (first touch of the
#             mapping, the page cache warm from writing) and the same batches again (hot); the ratio big/small.
#   touch     the same random record reads by a C program (bench/scale/touch.c), through a fresh mapping, a
#             populated one, pread and anonymous memory: the machine's share of the gather's cost
#   cold      the same gathers (mapped kinds) after `sync; echo 3 > /proc/sys/vm/drop_caches`, where permitted
#             and effective (checked: Cached in /proc/meminfo must shrink; otherwise SKIPPED, saying why).
#
# usage: bench/scale.sh [--smoke] [--records N] [--mid-records N] [--big-records N] [--batches B] [--dir DIR] [--keep]
#   --smoke          CI mode: 20,000 ImageNet-format records (anchor 4,000), 2M small-format, 8 batches, no cold part
#   --records N      ImageNet-format records (default 1281167)
#   --mid-records N  the anchor beyond the caches (default 200000; 0: skip)
#   --big-records N  small-format records (default 100000000; 0: skip)
#   --batches B      batches per measurement (default 40)
#   --dir DIR        where the stores go (default bench/target/scale, on disk); deleted after unless --keep
# Needs the build (mvn -B -q -DskipTests package).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
records=1281167
mid=200000
big=100000000
batches=40
dir="$root/bench/target/scale"
keep=0
smoke=0
usage="usage: bench/scale.sh [--smoke] [--records N] [--mid-records N] [--big-records N] [--batches B] [--dir DIR] [--keep]"
while [ $# -gt 0 ]; do
  case "$1" in
    --smoke) records=20000; mid=4000; big=2000000; batches=8; smoke=1; shift ;;
    --records) records="$2"; shift 2 ;;
    --mid-records) mid="$2"; shift 2 ;;
    --big-records) big="$2"; shift 2 ;;
    --batches) batches="$2"; shift 2 ;;
    --dir) dir="$2"; shift 2 ;;
    --keep) keep=1; shift ;;
    *) echo "$usage" >&2; exit 2 ;;
  esac
done
for v in "$records" "$batches"; do
  [[ "$v" =~ ^[1-9][0-9]*$ ]] || { echo "bench/scale.sh: '$v' is not a positive integer; $usage" >&2; exit 2; }
done
for v in "$big" "$mid"; do
  [[ "$v" =~ ^[0-9]+$ ]] || { echo "bench/scale.sh: '$v' is not a count; $usage" >&2; exit 2; }
done
[ -f "$root/java/cli/target/lib/picocli-4.7.7.jar" ] && [ -d "$root/java/core/target/classes/org/relabel4j/store" ] ||
  (cd "$root" && mvn -B -q -DskipTests package)
mkdir -p "$dir"
[ "$keep" = 1 ] || trap 'rm -f "$dir"/*.rlm "$dir"/*.rlm.partial* "$dir"/*.txt "$dir"/touch' EXIT
cp="$root/java/core/target/classes:$root/java/cli/target/lib/*"
bench() { java -cp "$cp" "$root/bench/scale/ScaleBench.java" "$@"; }

echo "bench/scale.sh: $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), $(uname -r)"
echo "disk: $(df -h "$dir" | awk 'NR==2 {print $4 " free of " $2 " at " $6}')"
bench_w() { java -Xmx192m -cp "$cp" "$root/bench/scale/ScaleBench.java" "$@"; }
bench_w write "$dir/small.rlm" 2048 imagenet
bench_w write "$dir/imagenet.rlm" "$records" imagenet
anchors=("$dir/small.rlm")
if [ "$mid" -gt 0 ]; then
  bench_w write "$dir/mid.rlm" "$mid" imagenet
  anchors+=("$dir/mid.rlm")
fi
# The writers' dirty pages go to disk first (the page cache stays warm): the kernel's writeback of 5.9 GB must not
# share the CPU with the timed gathers (measured: it made even the 2048-record store's gathers 3.7x slower).
sync
# Open, find and verify in a JVM of their own: the garbage of 3M key lookups must not be collected during the timed
# gathers (measured: in the same JVM it added ~10 ms to every 1024-record batch, small store included).
bench stats "$dir/imagenet.rlm"
bench read "$batches" "$dir/imagenet.rlm" "${anchors[@]}"
# The platform under the store: the same random reads of 4,544-byte records without ReLabel4J (no pooling, no JVM),
# mapped / populated / pread / anonymous memory (bench/scale/touch.c): what of a gather's cost is the machine's.
if command -v cc > /dev/null; then
  cc -O2 -o "$dir/touch" "$root/bench/scale/touch.c"
  "$dir/touch" "$dir/imagenet.rlm" 4544 "$batches"
else
  echo "touch probe SKIPPED: no C compiler (cc) on PATH"
fi

if [ "$big" -gt 0 ]; then
  # records 64 B + CRC 4 + index 12 + key ~26 + journal 38 + sort runs 32 per record, plus 10% slack
  need=$(( big * 176 * 11 / 10 ))
  free=$(( $(df -k --output=avail "$dir" | tail -1) * 1024 ))
  if [ "$free" -lt "$need" ]; then
    echo "SKIPPED: the $big-record small-format store needs about $(( need / 1000000000 )) GB on $dir, $(( free / 1000000000 )) GB free"
  else
    bench_w write "$dir/tiny.rlm" "$big" tiny
    sync
    bench stats "$dir/tiny.rlm"
    rm -f "$dir/tiny.rlm"
  fi
fi

if [ "$smoke" = 1 ]; then
  echo "cold (drop_caches): not in --smoke (it would empty the page cache of everything else on the machine)"
  exit 0
fi
cached() { awk '/^Cached:/ {print int($2 / 1024)}' /proc/meminfo; }
before=$(cached)
if sync && { echo 3 > /proc/sys/vm/drop_caches; } 2>/dev/null && [ "$(cached)" -lt $(( before / 2 )) ]; then
  echo "page cache dropped ($before -> $(cached) MB cached): cold reads from disk"
  bench read "$batches" gather-only "$dir/imagenet.rlm" "${anchors[@]}" | grep -E '^(\| (imagenet|small|mid)\.rlm \| mapped|ratio)'
elif [ -w /proc/sys/vm/drop_caches ]; then
  echo "cold (drop_caches) SKIPPED: writing /proc/sys/vm/drop_caches was accepted but the page cache stayed at $(cached) MB (was $before MB): not a cold read"
else
  echo "cold (drop_caches) SKIPPED: /proc/sys/vm/drop_caches is not writable here ($(id -un), $(cat /proc/1/cgroup 2>/dev/null | head -1 | cut -c1-40))"
fi
