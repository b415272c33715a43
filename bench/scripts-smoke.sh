#!/usr/bin/env bash
# Runs every script that README.md documents under bin/ and bench/, each in the smallest mode it has, so that a
# broken script fails the build (`mvn verify` runs this in the bench module's integration-test phase, after the
# JMH smoke run; -DskipTests skips it). No timing is asserted: a script passes when it exits 0 (and, where it
# prints a table or check result, when that is there). A script whose inputs or tools are absent on this machine
# (python3-torchvision, Fashion-MNIST, the shared fixtures) is skipped with the reason, visibly.
#
# usage: bench/scripts-smoke.sh [--out DIR] [--only NAME,...] [--list]
#   --out DIR    logs (one per script) and summary.txt; default bench/target/scripts-smoke
#   --only       run only these entries (names as in --list)
#   --list       print the entries and the README paths each covers, run nothing
# Needs the build (mvn -B -q -DskipTests package; the scripts build it themselves when it is missing or stale).
# Fails (exit 1) when a script fails, or when README.md documents a script under bin/ or bench/ that has no entry
# here: a new documented script must say how it is smoke-tested.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
out="$root/bench/target/scripts-smoke"
only=""
list=0
while [ $# -gt 0 ]; do
  case "$1" in
    --out) out="$2"; shift 2 ;;
    --only) only=",$2,"; shift 2 ;;
    --list) list=1; shift ;;
    *) echo "usage: bench/scripts-smoke.sh [--out DIR] [--only NAME,...] [--list]" >&2; exit 2 ;;
  esac
done
fixtures="${RELABEL_FIXTURES:-$root/../shared/fixtures}"
fmnist=/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz
torchvision_py=/usr/bin/python3

# name | README paths it covers | time limit (s) | command. Commands run from the repository root with bash.
ENTRIES=(
  "setup|bin/setup|60|bin/setup --check"
  "relabel|bin/relabel|120|bin/relabel --help && bin/relabel doctor"
  "quickstart|bin/quickstart|300|RELABEL_FIXTURES='$fixtures' bin/quickstart"
  "demo|bin/demo|900|bin/demo --smoke --out '$out/demo-run'"
  "dense-scenes|bench/dense-scenes.sh|300|bench/dense-scenes.sh '$out/demo-run' '$out/dense-scenes-run' 0 0.1 0.5"
  "labelpool-bench|bench/labelpool-bench|120|bench/labelpool-bench -l"
  "anchors|bench/anchors.sh|600|bench/anchors.sh --smoke --out '$out/anchors-run'"
  "quick|bench/quick.sh|600|bench/quick.sh --iters 1 --anchor-iters 1 --build-dir '$root/bench/target/quick-build'"
  "loader|bench/loader.sh|600|bench/loader.sh --images 20 --epochs 1"
  "scale|bench/scale.sh|600|bench/scale.sh --smoke --dir '$out/scale-run'"
  "dist|bench/dist.sh|600|bench/dist.sh --models small-cnn --images 64 --steps 6 --batch 4 --repeat 1"
  "gpu-check|bench/gpu/check.sh|120|bash bench/gpu/check.sh --help && bash bench/gpu/check.sh --plan && bash bench/gpu/check.sh --self-test"
)

# Why an entry cannot run here (empty: it can).
skip_reason() {
  case "$1" in
    quickstart)
      [ -d "$fixtures/labelpool/imagenet_k5_15x15" ] || echo "no shared fixtures at $fixtures (set RELABEL_FIXTURES)" ;;
    demo)
      [ -f "$fmnist" ] || echo "no Fashion-MNIST at $fmnist (apt-get install dataset-fashion-mnist; bin/setup)" ;;
    dense-scenes)
      ls -d "$out"/demo-run/students/one-hot-*-seed0 >/dev/null 2>&1 || echo "no demo run at $out/demo-run (the demo entry makes it)" ;;
    loader)
      "$torchvision_py" -c 'import torch, torchvision, PIL' 2>/dev/null ||
        echo "$torchvision_py has no torch + torchvision + PIL (apt-get install python3-torchvision)" ;;
  esac
}

# What a passing run must have printed (a grep -E pattern over its log; empty: exit status only).
expect() {
  case "$1" in
    quickstart) echo '^check: ' ;;
    anchors) echo '^\| label_pool \| B=64 fp16 S=1 softmax \|' ;;
    quick) echo '^\| label_pool \|' ;;
    loader) echo '^\| relabel4j Loader \|' ;;
    dist) echo '^\| small-cnn' ;;
    scale) echo '^ratio imagenet\.rlm / mid\.rlm \(first touch, hot\): mapped [0-9.]+x' ;;
    demo) echo 'report' ;;
    dense-scenes) echo 'test multi-label' ;;
    gpu-check) echo '^check.sh --self-test: 0 failure' ;;
  esac
}

# Every script path README.md mentions under bin/ or bench/ must be covered by an entry.
covered=" bench/scripts-smoke.sh "   # this script: it is what runs
for e in "${ENTRIES[@]}"; do
  IFS='|' read -r _ paths _ _ <<<"$e"
  covered+="$paths "
done
missing=""
for p in $(grep -oE '\b(bin|bench)/[A-Za-z0-9_./-]+' README.md | sed 's/[.,:;)]*$//' | sort -u); do
  [ -f "$p" ] && [ -x "$p" ] || continue      # folders, docs (bench/RESULTS.md) and source files are not scripts
  case "$covered" in *" $p "*) ;; *) missing="$missing $p" ;; esac
done

if [ "$list" = 1 ]; then
  for e in "${ENTRIES[@]}"; do
    IFS='|' read -r name paths limit cmd <<<"$e"
    printf '%-16s %-24s %4ss  %s\n' "$name" "$paths" "$limit" "$cmd"
  done
  [ -z "$missing" ] || echo "NOT COVERED (documented in README.md):$missing"
  exit 0
fi

rm -rf "$out"
mkdir -p "$out"
summary="$out/summary.txt"
: >"$summary"
failed=0
passed=0
skipped=0
if [ -n "$missing" ]; then
  echo "FAIL  README.md documents script(s) with no entry in bench/scripts-smoke.sh:$missing" | tee -a "$summary"
  failed=$((failed + 1))
fi
for e in "${ENTRIES[@]}"; do
  IFS='|' read -r name paths limit cmd <<<"$e"
  case "$only" in "" | *",$name,"*) ;; *) continue ;; esac
  why="$(skip_reason "$name")"
  if [ -n "$why" ]; then
    printf 'SKIP  %-16s %s\n' "$name" "$why" | tee -a "$summary"
    skipped=$((skipped + 1))
    continue
  fi
  log="$out/$name.log"
  t0=$(date +%s)
  echo "scripts-smoke: $name: $cmd" >&2
  rc=0
  timeout --kill-after=10 "$limit" bash -c "$cmd" >"$log" 2>&1 </dev/null || rc=$?
  dt=$(( $(date +%s) - t0 ))
  pattern="$(expect "$name")"
  if [ "$rc" -eq 0 ] && { [ -z "$pattern" ] || grep -qE "$pattern" "$log"; }; then
    printf 'PASS  %-16s %4ss  %s\n' "$name" "$dt" "$cmd" | tee -a "$summary"
    passed=$((passed + 1))
  else
    if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then why="timed out after ${limit}s"
    elif [ "$rc" -ne 0 ]; then why="exit status $rc"
    else why="exit 0, but its log lacks /$pattern/"; fi
    printf 'FAIL  %-16s %4ss  %s: %s (log: %s)\n' "$name" "$dt" "$cmd" "$why" "$log" | tee -a "$summary"
    tail -n 30 "$log" | sed 's/^/      /'
    failed=$((failed + 1))
  fi
done
echo "scripts-smoke: $passed passed, $failed failed, $skipped skipped (logs: $out)" | tee -a "$summary"
[ "$failed" -eq 0 ]
