#!/usr/bin/env bash
# The GPU device check of ReLabel4J's native core, one command from the repository root on a bare GPU machine
# (nvcc, CMake, a C++ compiler, Python 3 with torch + torchvision; no Java, no network):
#
#   bash bench/gpu/check.sh [OUT_DIR]     everything; OUT_DIR: $1, else $OUT, else bench/gpu/out
#   bash bench/gpu/check.sh --plan        the steps, their time caps and the budget
#   bash bench/gpu/check.sh --self-test   the step machinery (caps, budget, summary, trap) without a GPU: CI runs it
#
# Steps, cheapest first (bench/gpu/README.md): build (RELABEL_CUDA=ON, the GPU's own architecture), check.py
# --selftest, ctest on the GPU (v1 kernels, then the CUDA suites with RELABEL_KERNELS=v2), compute-sanitizer
# memcheck / racecheck / synccheck / initcheck over `relabel_tests cuda_small` for both kernel generations, the
# golden comparison (check.py vs torch/torchvision, v1 and v2), the timings (relabel_bench --device cuda: CUDA
# events and graphs over back-to-back launches, v1 and v2; the torch anchors on the same inputs; the table in
# timing.md), nsys when present. Each step runs under its own cap and within the whole run's budget
# (RELABEL_CHECK_BUDGET_S, default 450 s: the run ends before 8 minutes); a step that does not fit is skipped with
# the reason. summary.txt gets a line after every step, and its RESULT line on exit or when the run is killed.
#
# Fixtures: ../shared/fixtures, else .fixtures (copy them there for the device: see bench/gpu/README.md).
# Environment: PYTHON (default python3), RELABEL_CHECK_BUDGET_S, RELABEL_CHECK_BUILD_DIR (default build-gpu),
# RELABEL_CHECK_ALLOW_NO_GPU=1 (dry run without a GPU: the GPU steps are skipped), CUDA_ARCHS (default: the GPU's).
# Exit status: 0 when no correctness step failed, 1 otherwise (timing steps only warn), 2 on bad usage.
set -uo pipefail

usage() { sed -n '2,/^set -uo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; }

# ---- the step machinery --------------------------------------------------------------------------------------
# STEPS_FILE: summary.txt; every step appends "status  seconds  name  note"; FAILED=1 once a correctness step fails.
FAILED=0
CURRENT=""
STEP_PID=""
START_S=$(date +%s)
elapsed() { echo $(( $(date +%s) - START_S )); }
budget_left() { echo $(( BUDGET_S - $(elapsed) )); }

record() {  # status seconds kind name note
  local status=$1 secs=$2 kind=$3 name=$4 note=${5:-}
  [[ $status == FAIL && $kind == correctness ]] && FAILED=1
  printf '%-8s %5ss  %-34s %s\n' "$status" "$secs" "$name" "$note" | tee -a "$SUMMARY"
}

# run_step NAME KIND CAP LOG CMD...: runs CMD (output to LOG) under min(CAP, budget left); records PASS, FAIL,
# TIMEOUT or SKIP (budget); LAST_RC is the command's status (124: timed out, 125: not run).
run_step() {
  local name=$1 kind=$2 cap=$3 log=$4
  shift 4
  local left limit t0 rc
  left=$(budget_left)
  LAST_RC=125
  if (( left < 2 )); then
    record SKIP 0 "$kind" "$name" "time budget (${BUDGET_S}s) used up"
    return 0
  fi
  limit=$(( cap < left ? cap : left ))
  CURRENT=$name
  t0=$(date +%s)
  # In the background + wait, so that a TERM/INT to this script is handled at once (the trap stops the step).
  timeout --kill-after=5 "$limit" "$@" >"$log" 2>&1 </dev/null &
  STEP_PID=$!
  wait "$STEP_PID"
  rc=$?
  STEP_PID=""
  CURRENT=""
  LAST_RC=$rc
  local dt=$(( $(date +%s) - t0 )) logname
  logname=$(basename "$log")
  if (( rc == 124 || rc == 137 )); then
    LAST_RC=124
    record TIMEOUT "$dt" "$kind" "$name" "cap ${limit}s reached; $logname"
    [[ $kind == correctness ]] && FAILED=1
  elif (( rc != 0 )); then
    record "$( [[ $kind == correctness ]] && echo FAIL || echo WARN )" "$dt" "$kind" "$name" "exit $rc; $logname: $(tail -n 1 "$log" | cut -c1-100)"
  else
    record PASS "$dt" "$kind" "$name" "${STEP_NOTE:-$logname}"
  fi
  STEP_NOTE=""
  return 0
}

finish() {  # EXIT trap: the RESULT line, whatever ended the run
  local rc=$?
  trap - EXIT INT TERM
  if [[ -n "$CURRENT" ]]; then
    printf '%-8s %5ss  %-34s %s\n' INTERRUPTED "$(elapsed)" "$CURRENT" "the run was stopped during this step" >>"$SUMMARY"
    FAILED=1
  fi
  if (( FAILED == 0 )); then
    echo "RESULT: PASS (no correctness step failed) after $(elapsed)s" >>"$SUMMARY"
  else
    echo "RESULT: FAIL after $(elapsed)s (see the FAIL/TIMEOUT/INTERRUPTED lines and the logs beside this file)" >>"$SUMMARY"
  fi
  tail -n 1 "$SUMMARY"
  (( rc == 0 )) && rc=$FAILED
  exit "$rc"
}
on_signal() {
  echo "check.sh: stopped by a signal${CURRENT:+ during step '$CURRENT'}" >&2
  [[ -n "${STEP_PID:-}" ]] && kill -TERM "$STEP_PID" 2>/dev/null
  exit 143
}

begin() {  # OUT_DIR: summary.txt header, traps
  mkdir -p "$OUT_DIR"
  OUT_DIR=$(cd "$OUT_DIR" && pwd)
  SUMMARY="$OUT_DIR/summary.txt"
  echo "ReLabel4J GPU device check, started $(date -u +%Y-%m-%dT%H:%M:%SZ), budget ${BUDGET_S}s" >"$SUMMARY"
  trap finish EXIT
  trap on_signal INT TERM
}

# ---- the plan: name | kind | cap (s) ---------------------------------------------------------------------------
PLAN=(
  "environment|info|15"
  "build|correctness|200"
  "check.py --selftest|correctness|30"
  "ctest (v1)|correctness|90"
  "ctest CUDA suites (v2)|correctness|60"
  "sanitizers (8 runs, shared cap)|correctness|150"
  "check.py golden (v1)|correctness|75"
  "check.py golden (v2)|correctness|75"
  "relabel_bench --device cuda (v1)|timing|60"
  "relabel_bench --device cuda (v2)|timing|45"
  "torch anchors|timing|60"
  "timing table|timing|10"
  "nsys (when present)|timing|40"
)
cap_of() { local e; for e in "${PLAN[@]}"; do [[ ${e%%|*} == "$1" ]] && { echo "${e##*|}"; return; }; done; echo 60; }

print_plan() {
  local e total=0 name kind cap
  printf '%-36s %-12s %s\n' step kind "cap (s)"
  for e in "${PLAN[@]}"; do
    IFS='|' read -r name kind cap <<<"$e"
    printf '%-36s %-12s %5s\n' "$name" "$kind" "$cap"
    total=$(( total + cap ))
  done
  echo "sum of caps ${total}s; the whole run stops at the budget, ${BUDGET_S}s (RELABEL_CHECK_BUDGET_S): steps that"
  echo "no longer fit are skipped with that reason, so the command ends before 8 minutes"
}

# ---- self test (CI): the machinery on fake steps -----------------------------------------------------------------
self_test() {
  local dir fails=0 out
  dir=$(mktemp -d)
  # 1. caps, budget, statuses, the summary and its RESULT line, in a child run of this script.
  RELABEL_CHECK_BUDGET_S=5 bash "${BASH_SOURCE[0]}" --self-test-child "$dir/a" >"$dir/a.log" 2>&1
  local rc=$?
  out=$(cat "$dir/a/summary.txt" 2>/dev/null)
  expect() { if grep -qE "$1" <<<"$out"; then echo "ok    $2"; else echo "FAIL  $2 (no /$1/ in summary.txt)"; fails=$((fails + 1)); fi; }
  expect '^PASS .* passing step' "a passing step is recorded PASS"
  expect '^FAIL .* failing step .*exit 3' "a failing correctness step is recorded FAIL with its status"
  expect '^WARN .* failing timing step' "a failing timing step only warns"
  expect '^TIMEOUT .* slow step .*cap 1s' "a step over its cap is killed and recorded TIMEOUT"
  expect '^SKIP .* late step .*budget' "a step beyond the budget is skipped with the reason"
  expect '^RESULT: FAIL' "the RESULT line is written at exit"
  if [[ $rc -eq 1 ]]; then echo "ok    exit status 1 after a failed correctness step"; else echo "FAIL  exit status $rc, want 1"; fails=$((fails + 1)); fi
  # 2. A run killed during a step still ends its summary: INTERRUPTED + RESULT.
  RELABEL_CHECK_BUDGET_S=60 bash "${BASH_SOURCE[0]}" --self-test-child "$dir/b" --hang >"$dir/b.log" 2>&1 &
  local pid=$!
  for _ in $(seq 50); do grep -q '^PASS' "$dir/b/summary.txt" 2>/dev/null && break; sleep 0.1; done
  sleep 0.3
  kill -TERM "$pid"
  wait "$pid"
  out=$(cat "$dir/b/summary.txt" 2>/dev/null)
  expect '^INTERRUPTED .* hanging step' "a killed run names the step it was in"
  expect '^RESULT: FAIL' "a killed run still writes its RESULT line"
  # 3. The real plan: every cap within the budget, the budget within the 8-minute call.
  local e name kind cap
  for e in "${PLAN[@]}"; do
    IFS='|' read -r name kind cap <<<"$e"
    if (( cap > BUDGET_S )); then echo "FAIL  step '$name' cap ${cap}s exceeds the budget"; fails=$((fails + 1)); fi
  done
  if (( BUDGET_S + 20 <= 480 )); then echo "ok    budget ${BUDGET_S}s + 20s of start-up fits in 8 minutes"
  else echo "FAIL  budget ${BUDGET_S}s does not fit in 8 minutes"; fails=$((fails + 1)); fi
  # 4. Usage errors.
  if bash "${BASH_SOURCE[0]}" --no-such-option >/dev/null 2>&1; then echo "FAIL  an unknown option is accepted"; fails=$((fails + 1))
  else echo "ok    an unknown option is rejected"; fi
  rm -rf "$dir"
  echo "check.sh --self-test: $fails failure(s)"
  return $(( fails > 0 ))
}

self_test_child() {  # OUT_DIR [--hang]
  OUT_DIR=$1
  begin
  if [[ "${2:-}" == --hang ]]; then
    run_step "first step" correctness 5 "$OUT_DIR/1.log" true
    run_step "hanging step" correctness 50 "$OUT_DIR/2.log" sleep 40
    exit 0
  fi
  run_step "passing step" correctness 5 "$OUT_DIR/1.log" true
  run_step "failing step" correctness 5 "$OUT_DIR/2.log" bash -c 'echo broken; exit 3'
  run_step "failing timing step" timing 5 "$OUT_DIR/3.log" false
  run_step "slow step" timing 1 "$OUT_DIR/4.log" sleep 10
  sleep 3
  run_step "late step" correctness 5 "$OUT_DIR/5.log" true
}

# ---- arguments ---------------------------------------------------------------------------------------------------
BUDGET_S="${RELABEL_CHECK_BUDGET_S:-450}"
case "${1:-}" in
  -h | --help) usage; exit 0 ;;
  --plan) print_plan; exit 0 ;;
  --self-test) self_test; exit $? ;;
  --self-test-child) shift; self_test_child "$@"; exit 0 ;;
  -*) echo "check.sh: unknown option $1 (--help)" >&2; exit 2 ;;
esac
cd "$(dirname "${BASH_SOURCE[0]}")/../.." || exit 2
ROOT=$(pwd)
OUT_DIR="${1:-${OUT:-bench/gpu/out}}"
PYTHON="${PYTHON:-python3}"
BUILD="${RELABEL_CHECK_BUILD_DIR:-build-gpu}"
JOBS=$(nproc 2>/dev/null || echo 4)
begin

# ---- 1. environment ----------------------------------------------------------------------------------------------
NVCC=$(command -v nvcc || true)
[[ -z "$NVCC" && -x /usr/local/cuda/bin/nvcc ]] && NVCC=/usr/local/cuda/bin/nvcc
SANITIZER=$(command -v compute-sanitizer || true)
[[ -z "$SANITIZER" && -x /usr/local/cuda/bin/compute-sanitizer ]] && SANITIZER=/usr/local/cuda/bin/compute-sanitizer
NSYS=$(command -v nsys || true)
environment() {
  echo "date -u: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "host: $(uname -a), $JOBS cpus"
  echo "git: $(git rev-parse HEAD 2>/dev/null || echo 'no git metadata')"
  nvidia-smi --query-gpu=index,name,driver_version,memory.total,compute_cap --format=csv 2>&1 || echo "nvidia-smi: none"
  echo "nvcc: ${NVCC:-none}"; [[ -n "$NVCC" ]] && "$NVCC" --version | tail -2
  echo "compute-sanitizer: ${SANITIZER:-none}; nsys: ${NSYS:-none}"
  cmake --version | head -1
  "$PYTHON" -c 'import sys, torch, torchvision, numpy; print("python", sys.version.split()[0], "torch", torch.__version__, "cuda", torch.version.cuda, "available", torch.cuda.is_available(), "torchvision", torchvision.__version__, "numpy", numpy.__version__)'
}
GPU_NAME=$(nvidia-smi --query-gpu=name,driver_version --format=csv,noheader 2>/dev/null | head -1)
GPU=0
[[ -n "$GPU_NAME" ]] && GPU=1
STEP_NOTE="${GPU_NAME:-no GPU}" run_step environment info "$(cap_of environment)" "$OUT_DIR/environment.txt" \
  bash -c "$(declare -f environment); NVCC='$NVCC' SANITIZER='$SANITIZER' NSYS='$NSYS' JOBS=$JOBS PYTHON='$PYTHON' environment"
if (( GPU == 0 )) && [[ "${RELABEL_CHECK_ALLOW_NO_GPU:-0}" != 1 ]]; then
  record FAIL 0 correctness "gpu" "nvidia-smi sees no GPU (RELABEL_CHECK_ALLOW_NO_GPU=1 for a dry run)"
fi
if [[ -d ../shared/fixtures/labelpool ]]; then FIXTURES=$(cd ../shared/fixtures && pwd)
elif [[ -d .fixtures/labelpool ]]; then FIXTURES="$ROOT/.fixtures"
else
  FIXTURES="$ROOT/.fixtures"
  record FAIL 0 correctness "fixtures" "none at ../shared/fixtures or .fixtures (see bench/gpu/README.md)"
fi
export RELABEL_FIXTURES="$FIXTURES"

# ---- 2. build ----------------------------------------------------------------------------------------------------
ARCHS="${CUDA_ARCHS:-}"
if [[ -z "$ARCHS" ]]; then
  cc=$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader 2>/dev/null | head -1 | tr -d ' .')
  ARCHS=${cc:-90}
fi
TESTS=$BUILD/native/tests/relabel_tests
BENCH=$BUILD/native/bench/relabel_bench
LIB=$BUILD/lib/librelabel.so
if [[ -z "$NVCC" ]]; then
  record FAIL 0 correctness build "no nvcc (PATH, /usr/local/cuda/bin)"
else
  STEP_NOTE="sm_$ARCHS" run_step build correctness "$(cap_of build)" "$OUT_DIR/build.log" bash -c "
    cmake -S . -B '$BUILD' -DRELABEL_CUDA=ON -DCMAKE_BUILD_TYPE=Release \
      -DCMAKE_CUDA_ARCHITECTURES='$ARCHS' -DRELABEL_FIXTURES='$FIXTURES' && cmake --build '$BUILD' -j$JOBS"
fi
BUILT=0
[[ ${LAST_RC:-1} -eq 0 && -f $LIB ]] && BUILT=1

# ---- 3. the self test of check.py against the built library (no GPU needed) --------------------------------------
if (( BUILT )); then
  run_step "check.py --selftest" correctness "$(cap_of 'check.py --selftest')" "$OUT_DIR/selftest.log" \
    "$PYTHON" bench/gpu/check.py --selftest --lib "$LIB" --fixtures "$FIXTURES" --out "$OUT_DIR/selftest"
fi

# ---- 4. ctest on the GPU: the CUDA suites must run, not skip -----------------------------------------------------
ctest_step() {  # name log env-generation regex
  local name=$1 log=$2 gen=$3 regex=$4
  run_step "$name" correctness "$(cap_of "$name")" "$log" \
    env RELABEL_KERNELS="$gen" ctest --test-dir "$BUILD" --output-on-failure -R "$regex"
  if (( GPU )) && grep -qE '\*\*\*Skipped|SKIPPED' "$log"; then
    record FAIL 0 correctness "$name: no skips" "CUDA suites skipped with a GPU present: $(grep -m1 SKIPPED "$log")"
  fi
}
if (( BUILT )); then
  ctest_step "ctest (v1)" "$OUT_DIR/ctest_v1.log" v1 '.'
  ctest_step "ctest CUDA suites (v2)" "$OUT_DIR/ctest_v2.log" v2 'cuda'
fi

# ---- 5. compute-sanitizer over cuda_small, both generations, under one shared cap --------------------------------
if (( BUILT && GPU )) && [[ -n "$SANITIZER" ]]; then
  san_end=$(( $(elapsed) + $(cap_of 'sanitizers (8 runs, shared cap)') ))
  for spec in "memcheck v2" "memcheck v1" "racecheck v2" "racecheck v1" "synccheck v2" "synccheck v1" \
              "initcheck v2" "initcheck v1"; do
    read -r tool gen <<<"$spec"
    extra=()
    [[ $tool == memcheck ]] && extra=(--leak-check full)
    [[ $tool == racecheck ]] && extra=(--racecheck-report all)
    left=$(( san_end - $(elapsed) ))
    if (( left < 5 )); then record SKIP 0 correctness "$tool ($gen)" "the sanitizers' shared cap is used up"; continue; fi
    STEP_NOTE="cuda_small" run_step "$tool ($gen)" correctness "$left" "$OUT_DIR/sanitizer_${tool}_${gen}.log" \
      env RELABEL_KERNELS="$gen" "$SANITIZER" --tool "$tool" "${extra[@]}" --error-exitcode 99 "$TESTS" cuda_small
  done
elif (( BUILT && GPU )); then
  record SKIP 0 correctness "compute-sanitizer" "not found (PATH, /usr/local/cuda/bin)"
fi

# ---- 6. golden comparison against torch/torchvision (check.py), both generations ---------------------------------
if (( BUILT && GPU )); then
  for gen in v1 v2; do
    run_step "check.py golden ($gen)" correctness "$(cap_of "check.py golden ($gen)")" "$OUT_DIR/check_py_$gen.log" \
      env RELABEL_KERNELS="$gen" "$PYTHON" -u bench/gpu/check.py --lib "$LIB" --fixtures "$FIXTURES" \
      --out "$OUT_DIR/check_$gen" --device cuda --quick --no-timing
  done
fi

# ---- 7. timings: relabel_bench (CUDA events + graphs), the torch anchors on the same inputs, the table -------------
if (( BUILT && GPU )); then
  INPUTS="$BUILD/bench-inputs"
  mkdir -p "$INPUTS"
  run_step "relabel_bench --device cuda (v1)" timing "$(cap_of 'relabel_bench --device cuda (v1)')" \
    "$OUT_DIR/bench_v1.jsonl" env RELABEL_KERNELS=v1 "$BENCH" --device cuda --iters 20 --launches 100 --save-inputs "$INPUTS"
  run_step "relabel_bench --device cuda (v2)" timing "$(cap_of 'relabel_bench --device cuda (v2)')" \
    "$OUT_DIR/bench_v2.jsonl" env RELABEL_KERNELS=v2 "$BENCH" --device cuda --iters 20 --launches 100
  run_step "torch anchors" timing "$(cap_of 'torch anchors')" "$OUT_DIR/anchors.jsonl" \
    "$PYTHON" bench/gpu/anchors.py --inputs "$INPUTS"
  table_args=()
  for f in bench_v1.jsonl bench_v2.jsonl; do grep -q '"op"' "$OUT_DIR/$f" 2>/dev/null && table_args+=(--bench "$OUT_DIR/$f"); done
  grep -q '"anchor"' "$OUT_DIR/anchors.jsonl" 2>/dev/null && table_args+=(--anchors "$OUT_DIR/anchors.jsonl")
  if (( ${#table_args[@]} )); then
    run_step "timing table" timing "$(cap_of 'timing table')" "$OUT_DIR/table.log" \
      "$PYTHON" bench/gpu/table.py "${table_args[@]}" --out "$OUT_DIR/timing.md"
  fi
  [[ -f "$OUT_DIR/timing.md" ]] && { echo; cat "$OUT_DIR/timing.md"; } >>"$SUMMARY"
  if [[ -n "$NSYS" ]]; then
    run_step "nsys (when present)" timing "$(cap_of 'nsys (when present)')" "$OUT_DIR/nsys.log" \
      env RELABEL_KERNELS=v2 "$NSYS" profile --stats=true --force-overwrite true -o "$BUILD/nsys-v2" \
      "$BENCH" --device cuda --op pool --iters 3 --launches 20
  fi
fi
exit 0
