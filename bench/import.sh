#!/usr/bin/env bash
# `relabel import` of a tree of released-format ReLabel label maps (<wnid>/<stem>.pt), with its anchor in the same
# run: the released loader's per-image `torch.load` of the same files. One script builds the tree, then times
#   warm  the page cache holds the tree (one untimed import first), median of --repeat runs;
#   cold  the page cache dropped before each run (sync; echo 3 > /proc/sys/vm/drop_caches): needs root on a machine
#         that permits it (not in most containers); elsewhere it says SKIPPED and why.
# Each timing is wall-clock of a fresh process (JVM start included for ours, Python + torch import for the anchor).
#
# usage: bench/import.sh [--files N] [--folders F] [--threads T] [--repeat R] [--keep DIR]
#   --files N    files in the tree (default 50000), copies of the 3 fixture files of
#                ../shared/fixtures/official-pt/relabel_imagenet (zip format, float32, k=5, 15x15) under new names
#   --folders F  class folders (default 500; ImageNet has 1000 of about 1300 files)
#   --threads T  relabel import --threads (default 1); the anchor is one thread, as one loader worker
#   --keep DIR   build the tree in DIR and keep it (default: a temporary folder on the disk under bench/target)
# Needs: the build (mvn -B -q -DskipTests package), python3 (stdlib) for the tree; for the anchor, /usr/bin/python3
# with torch (Debian's python3-torch); without it the anchor rows say so.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
files=50000
folders=500
threads=1
repeat=3
keep=""
usage="usage: bench/import.sh [--files N] [--folders F] [--threads T] [--repeat R] [--keep DIR]"
while [ $# -gt 0 ]; do
  case "$1" in
    --files) files="$2"; shift 2 ;;
    --folders) folders="$2"; shift 2 ;;
    --threads) threads="$2"; shift 2 ;;
    --repeat) repeat="$2"; shift 2 ;;
    --keep) keep="$2"; shift 2 ;;
    *) echo "$usage" >&2; exit 2 ;;
  esac
done
for v in "$files" "$folders" "$threads" "$repeat"; do
  [[ "$v" =~ ^[1-9][0-9]*$ ]] || { echo "bench/import.sh: '$v' is not a positive integer; $usage" >&2; exit 2; }
done
src="${RELABEL_FIXTURES:-$root/../shared/fixtures}/official-pt/relabel_imagenet"
[ -d "$src" ] || { echo "bench/import.sh: no fixture files at $src (set RELABEL_FIXTURES)" >&2; exit 1; }
[ -f "$root/java/cli/target/lib/picocli-4.7.7.jar" ] || (cd "$root" && mvn -B -q -DskipTests package)
if [ -n "$keep" ]; then
  work="$keep"
  mkdir -p "$work"
else
  mkdir -p "$root/bench/target"
  work="$(mktemp -d "$root/bench/target/import.XXXXXX")"  # on disk: a tmpfs page cache cannot be dropped
  trap 'rm -rf "$work"' EXIT
fi
tree="$work/tree"

# 1. The tree: files spread over folders named like ImageNet's wnids, each a copy of a fixture file.
if [ ! -f "$tree/.complete-$files-$folders" ]; then
  rm -rf "$tree"
  python3 - "$src" "$tree" "$files" "$folders" <<'PY'
import os, shutil, sys
src, tree, n, folders = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
fixtures = sorted(os.path.join(d, f) for d, _, fs in os.walk(src) for f in fs if f.endswith(".pt"))
for i in range(n):
    wnid = "n%08d" % (1000000 + i % folders)
    d = os.path.join(tree, wnid)
    if i < folders:
        os.makedirs(d)
    shutil.copyfile(fixtures[i % len(fixtures)], os.path.join(d, "%s_%d.pt" % (wnid, i // folders)))
open(os.path.join(tree, ".complete-%d-%d" % (n, folders)), "w").close()
PY
fi
bytes=$(du -sb "$tree" | cut -f1)
echo "tree: $tree: $files files in $folders folders, $((bytes / 1048576)) MiB (copies of $(ls "$src"/*/*.pt | wc -l) fixture files)"

py=/usr/bin/python3
anchor=0
if $py -c 'import torch' 2>/dev/null; then anchor=1; fi
anchor_py='
import os, sys, time, torch
torch.set_num_threads(1)
root = sys.argv[1]
paths = sorted(os.path.join(d, f) for d, _, fs in os.walk(root) for f in fs if f.endswith(".pt"))
for p in paths:
    t = torch.load(p)  # what the released loader does per image
    assert t.shape[0] == 2, p
'

now() { date +%s.%N; }
run_ours() {  # $1: output store
  rm -f "$1"
  "$root/bin/relabel" import --format official --src "$tree" --out "$1" --threads "$threads" >/dev/null
}
run_anchor() { $py -c "$anchor_py" "$tree"; }
drop_why=""
drop() {
  sync
  if ! drop_why="$( (echo 3 >/proc/sys/vm/drop_caches) 2>&1)"; then
    drop_why="${drop_why:-cannot write /proc/sys/vm/drop_caches}"
    return 1
  fi
}
median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

declare -A secs
time_it() {  # $1: row name, $2: cold (1) or warm (0), rest: command
  local name="$1" cold="$2"
  shift 2
  local all=()
  for ((r = 0; r < repeat; ++r)); do
    if [ "$cold" = 1 ] && ! drop; then return 1; fi
    local t0 t1
    t0=$(now)
    "$@"
    t1=$(now)
    all+=("$(echo "$t1 - $t0" | bc -l)")
  done
  secs[$name]=$(printf '%s\n' "${all[@]}" | median)
  echo "$name: $(printf '%.2f ' "${all[@]}")s (median ${secs[$name]})" >&2
}

out="$work/maps.rlm"
run_ours "$out"  # warms the cache (and the tree's metadata) and checks the import works
[ "$anchor" = 1 ] && run_anchor
time_it "ours warm" 0 run_ours "$out"
[ "$anchor" = 1 ] && time_it "anchor warm" 0 run_anchor
cold=1
if ! time_it "ours cold" 1 run_ours "$out"; then cold=0; fi
[ "$cold" = 1 ] && [ "$anchor" = 1 ] && time_it "anchor cold" 1 run_anchor

echo
echo "| cache | relabel import --threads $threads | files/s | anchor: torch.load per file (1 thread) | files/s | ratio |"
echo "|---|---|---|---|---|---|"
row() {  # $1: warm|cold
  local o="${secs[ours $1]}" a="${secs[anchor $1]:-}"
  if [ -n "$a" ]; then
    printf '| %s | %.2f s | %.0f | %.2f s | %.0f | %.1fx |\n' "$1" "$o" "$(echo "$files / $o" | bc -l)" "$a" \
      "$(echo "$files / $a" | bc -l)" "$(echo "$a / $o" | bc -l)"
  else
    printf '| %s | %.2f s | %.0f | not run (needs %s with torch) | | |\n' "$1" "$o" "$(echo "$files / $o" | bc -l)" "$py"
  fi
}
row warm
if [ "$cold" = 1 ]; then row cold; else echo "| cold | SKIPPED: $drop_why (needs root where /proc/sys/vm/drop_caches is writable) | | | | |"; fi
echo
echo "$files files, $folders folders, median of $repeat runs, $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg), $(date -u +%Y-%m-%d)"
