#!/usr/bin/env bash
# The GPU device check of ReLabel4J's native core: builds librelabel with CUDA, runs the ctest suites (the CUDA
# ones must run, not skip), compute-sanitizer over the CUDA suites, the quick benchmark harness, and
# bench/gpu/check.py (the CUDA kernels vs torch/torchvision through the C ABI, plus timings).
#
# usage (from the repository root): bash bench/gpu/check.sh [OUT_DIR]
#   OUT_DIR: $1, else $OUT, else bench/gpu/out. Every log and result lands there; summary.txt says what passed.
#   Fixtures: ../shared/fixtures, else .fixtures (copy them there for the device: see bench/gpu/README.md).
# Environment: PYTHON (default python3), RELABEL_CHECK_ALLOW_NO_GPU=1 (dry run on a machine without a GPU: the
# CUDA parts are expected to skip and check.py runs on the CPU), RELABEL_CHECK_BUDGET_S (default 360: optional
# steps are skipped once the run has used that many seconds), RELABEL_CHECK_BUILD_DIR (default build-gpu).
# Exit status: 0 when every correctness step passed, 1 otherwise (timing steps only warn).
set -euo pipefail
if [[ "${1:-}" == -h || "${1:-}" == --help ]]; then
  sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'
  exit 0
fi

cd "$(dirname "${BASH_SOURCE[0]}")/../.."
ROOT=$(pwd)
OUT_DIR="${1:-${OUT:-bench/gpu/out}}"
mkdir -p "$OUT_DIR"
OUT_DIR=$(cd "$OUT_DIR" && pwd)
PYTHON="${PYTHON:-python3}"
BUDGET_S="${RELABEL_CHECK_BUDGET_S:-360}"
BUILD="${RELABEL_CHECK_BUILD_DIR:-build-gpu}"
JOBS=$(nproc 2>/dev/null || echo 4)
SECONDS=0

STEPS=()       # "name|status|seconds|kind|note" ; status PASS FAIL SKIP WARN N/A ; kind correctness|timing|info
FAILED=0

record() {  # name status seconds kind note
  STEPS+=("$1|$2|$3|$4|${5:-}")
  if [[ "$2" == FAIL && "$4" == correctness ]]; then FAILED=1; fi
  printf '[%4ss] %-28s %-5s %s\n' "$SECONDS" "$1" "$2" "${5:-}"
}

# run_step NAME KIND TIMEOUT_S LOG CMD...: runs CMD (stdout+stderr -> LOG) under a timeout; returns its status.
run_step() {
  local name=$1 kind=$2 limit=$3 log=$4
  shift 4
  local t0=$SECONDS rc
  set +e
  timeout --kill-after=10 "$limit" "$@" >"$log" 2>&1
  rc=$?
  set -e
  LAST_RC=$rc
  LAST_DT=$((SECONDS - t0))
  if [[ $rc -eq 124 || $rc -eq 137 ]]; then
    echo "--- $name: timed out after ${limit}s (log: $log)"
    tail -n 20 "$log" | sed 's/^/    /'
  elif [[ $rc -ne 0 ]]; then
    echo "--- $name: exit status $rc (log: $log), last lines:"
    tail -n 25 "$log" | sed 's/^/    /'
  fi
  return 0
}

over_budget() { [[ $SECONDS -ge $BUDGET_S ]]; }

echo "== ReLabel4J GPU device check: $(date -u +%Y-%m-%dT%H:%M:%SZ), output in $OUT_DIR"

# ---- 1. environment -------------------------------------------------------------------------------------------
NVCC=$(command -v nvcc || true)
[[ -z "$NVCC" && -x /usr/local/cuda/bin/nvcc ]] && NVCC=/usr/local/cuda/bin/nvcc
SANITIZER=$(command -v compute-sanitizer || true)
if [[ -z "$SANITIZER" ]]; then
  for c in /usr/local/cuda/bin/compute-sanitizer /usr/local/cuda-*/bin/compute-sanitizer \
           /usr/local/cuda/compute-sanitizer/compute-sanitizer; do
    if [[ -x "$c" ]]; then SANITIZER=$c; break; fi
  done
fi
GPU_PRESENT=0
{
  echo "date -u: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "host: $(uname -a)"
  echo "cpus: $JOBS"
  echo "repo: $ROOT"
  echo "git: $(git rev-parse HEAD 2>/dev/null || echo 'no git metadata')"
  git status --short 2>/dev/null | head -50 | sed 's/^/  /' || true
  echo "--- nvidia-smi"
  if command -v nvidia-smi >/dev/null 2>&1; then
    nvidia-smi --query-gpu=index,name,driver_version,memory.total,compute_cap --format=csv 2>&1 || true
    nvidia-smi 2>&1 || true
  else
    echo "nvidia-smi: not found"
  fi
  echo "--- nvcc ($NVCC)"
  if [[ -n "$NVCC" ]]; then "$NVCC" --version 2>&1 || true; else echo "nvcc: not found"; fi
  echo "--- compute-sanitizer: ${SANITIZER:-not available}"
  [[ -n "$SANITIZER" ]] && { "$SANITIZER" --version 2>&1 | head -3 || true; }
  echo "--- cmake: $(cmake --version 2>&1 | head -1)"
  echo "--- python: $($PYTHON --version 2>&1)"
  $PYTHON -c 'import torch, torchvision, numpy; print("torch", torch.__version__, "cuda", torch.version.cuda, "available", torch.cuda.is_available(), "| torchvision", torchvision.__version__, "| numpy", numpy.__version__)' 2>&1 || true
} >"$OUT_DIR/environment.txt" 2>&1
if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L 2>/dev/null | grep -q '^GPU '; then GPU_PRESENT=1; fi
GPU_NAME=$(nvidia-smi --query-gpu=name,driver_version --format=csv,noheader 2>/dev/null | head -1 || true)
if [[ $GPU_PRESENT -eq 1 ]]; then
  record "gpu" PASS 0 info "$GPU_NAME"
elif [[ "${RELABEL_CHECK_ALLOW_NO_GPU:-0}" == 1 ]]; then
  record "gpu" WARN 0 info "no GPU (RELABEL_CHECK_ALLOW_NO_GPU=1: dry run, CUDA parts skip)"
else
  record "gpu" FAIL 0 correctness "nvidia-smi sees no GPU (set RELABEL_CHECK_ALLOW_NO_GPU=1 for a dry run)"
fi
[[ -n "$NVCC" ]] || record "nvcc" FAIL 0 correctness "nvcc not found (PATH, /usr/local/cuda/bin)"

if [[ -d ../shared/fixtures/labelpool ]]; then
  FIXTURES=$(cd ../shared/fixtures && pwd)
elif [[ -d .fixtures/labelpool ]]; then
  FIXTURES="$ROOT/.fixtures"
else
  FIXTURES=""
fi
if [[ -n "$FIXTURES" && -d "$FIXTURES/topk" ]]; then
  record "fixtures" PASS 0 info "$FIXTURES"
else
  record "fixtures" FAIL 0 correctness "no fixtures at ../shared/fixtures or .fixtures (mkdir -p .fixtures && cp -r ../shared/fixtures/. .fixtures/)"
  FIXTURES="${FIXTURES:-$ROOT/.fixtures}"
fi
export RELABEL_FIXTURES="$FIXTURES"

# ---- 2. build -------------------------------------------------------------------------------------------------
BUILD_OK=0
run_step build correctness 300 "$OUT_DIR/build.log" bash -c "
  cmake -S . -B '$BUILD' -DRELABEL_CUDA=ON -DCMAKE_BUILD_TYPE=Release -DRELABEL_FIXTURES='$FIXTURES' &&
  cmake --build '$BUILD' -j$JOBS"
if [[ $LAST_RC -eq 0 && -f $BUILD/lib/librelabel.so ]]; then
  BUILD_OK=1
  record "build (RELABEL_CUDA=ON)" PASS $LAST_DT correctness "$(grep -m1 'building CUDA kernels' "$OUT_DIR/build.log" | sed 's/.*relabel: //' || true)"
else
  record "build (RELABEL_CUDA=ON)" FAIL $LAST_DT correctness "see build.log"
fi
TESTS=$BUILD/native/tests/relabel_tests
BENCH=$BUILD/native/bench/relabel_bench

# ---- 3. ctest -------------------------------------------------------------------------------------------------
if [[ $BUILD_OK -eq 1 ]]; then
  run_step ctest correctness 240 "$OUT_DIR/ctest.log" bash -c "cd '$BUILD' && ctest --output-on-failure"
  skipped=$(grep -E '\*\*\*Skipped|Not Run' "$OUT_DIR/ctest.log" | sed -E 's/.*Test +#[0-9]+: ([a-z_]+).*/\1/' | tr '\n' ' ' || true)
  summary_line=$(grep -E 'tests passed' "$OUT_DIR/ctest.log" | tail -1 || true)
  if [[ $LAST_RC -ne 0 ]]; then
    record "ctest" FAIL $LAST_DT correctness "${summary_line:-exit $LAST_RC}; see ctest.log"
  elif [[ -n "${skipped// /}" && $GPU_PRESENT -eq 1 ]]; then
    echo "!!! ctest SKIPPED suites on a machine with a GPU: $skipped -- the CUDA kernels were NOT tested"
    grep -E 'SKIPPED' "$OUT_DIR/ctest.log" | head -5 | sed 's/^/    /' || true
    record "ctest" FAIL $LAST_DT correctness "skipped with a GPU present: $skipped"
  elif [[ -n "${skipped// /}" ]]; then
    record "ctest" WARN $LAST_DT correctness "skipped (no GPU): $skipped"
  else
    record "ctest" PASS $LAST_DT correctness "$summary_line"
  fi
else
  record "ctest" SKIP 0 correctness "no build"
fi

# ---- 4. compute-sanitizer -------------------------------------------------------------------------------------
# sanitize TOOL SUITE KIND: compute-sanitizer --tool TOOL over relabel_tests SUITE.
sanitize() {
  local tool=$1 suite=$2 kind=$3 extra=()
  case $tool in
    memcheck) extra=(--leak-check full) ;;
    racecheck) extra=(--racecheck-report all) ;;
  esac
  run_step "$tool $suite" "$kind" 150 "$OUT_DIR/sanitizer_${tool}_${suite}.log" \
    "$SANITIZER" --tool "$tool" ${extra[@]+"${extra[@]}"} --error-exitcode 99 "$TESTS" "$suite"
  local log="$OUT_DIR/sanitizer_${tool}_${suite}.log" summary
  summary=$(grep -E 'ERROR SUMMARY|RACECHECK SUMMARY|LEAK SUMMARY' "$log" | tr '\n' ' ' || true)
  if [[ $LAST_RC -eq 0 ]]; then
    record "$tool $suite" PASS $LAST_DT "$kind" "$summary"
  elif [[ $LAST_RC -eq 77 ]]; then
    record "$tool $suite" FAIL $LAST_DT "$kind" "suite skipped under the sanitizer: $(grep -m1 SKIPPED "$log" || true)"
  else
    record "$tool $suite" FAIL $LAST_DT "$kind" "exit $LAST_RC; $summary see $(basename "$log")"
  fi
}
SAN_OK=0
if [[ -z "$SANITIZER" ]]; then
  record "compute-sanitizer" N/A 0 info "not available (PATH, /usr/local/cuda/bin)"
elif [[ $BUILD_OK -ne 1 || $GPU_PRESENT -ne 1 ]]; then
  record "compute-sanitizer" SKIP 0 info "no build or no GPU"
else
  SAN_OK=1
  sanitize memcheck labelpool_cuda correctness
  sanitize memcheck topk_cuda correctness
fi

# ---- 5. check.py: CUDA kernels vs torch/torchvision, timings --------------------------------------------------
if [[ $BUILD_OK -eq 1 ]]; then
  if [[ $GPU_PRESENT -eq 1 ]]; then DEVICE=cuda; else DEVICE=cpu; fi
  run_step "check.py" correctness 330 "$OUT_DIR/check_py.log" \
    "$PYTHON" -u bench/gpu/check.py --lib "$BUILD/lib/librelabel.so" --fixtures "$FIXTURES" --out "$OUT_DIR" \
    --device "$DEVICE"
  line=$(grep -E '^check.py: [0-9]+ checks' "$OUT_DIR/check_py.log" | tail -1 || true)
  if [[ $LAST_RC -eq 0 ]]; then
    record "check.py --device $DEVICE" PASS $LAST_DT correctness "${line#check.py: }"
  else
    record "check.py --device $DEVICE" FAIL $LAST_DT correctness "${line:-exit $LAST_RC}; see check_py.log"
  fi
  if [[ -f "$OUT_DIR/timing.md" ]]; then
    if grep -q '^Errors:' "$OUT_DIR/timing.md"; then
      record "check.py timing" WARN 0 timing "errors in timing.md"
    else
      record "check.py timing" PASS 0 timing "timing.md"
    fi
  elif [[ $DEVICE == cuda ]]; then
    record "check.py timing" WARN 0 timing "no timing.md"
  fi
else
  record "check.py" SKIP 0 correctness "no build"
fi

# ---- 6. relabel_bench ---------------------------------------------------------------------------------------------
if [[ $BUILD_OK -eq 1 && $GPU_PRESENT -eq 1 ]]; then
  run_step "bench cuda" timing 120 "$OUT_DIR/bench_cuda.jsonl" "$BENCH" --device cuda --iters 50
  if [[ $LAST_RC -eq 0 ]]; then st=PASS; else st=WARN; fi
  record "relabel_bench --device cuda" $st $LAST_DT timing "bench_cuda.jsonl"
else
  record "relabel_bench --device cuda" SKIP 0 timing "no build or no GPU"
fi

# ---- 7. optional: more sanitizer tools, CPU bench (time permitting) ----------------------------------------------
if [[ $SAN_OK -eq 1 ]]; then
  for spec in "racecheck labelpool_cuda" "synccheck labelpool_cuda" "initcheck labelpool_cuda" "initcheck topk_cuda"; do
    set -- $spec
    if over_budget; then
      record "$1 $2" SKIP 0 info "time budget (${BUDGET_S}s) used"
    else
      sanitize "$1" "$2" correctness
    fi
  done
fi
if [[ $BUILD_OK -eq 1 ]]; then
  if over_budget; then
    record "relabel_bench --device cpu" SKIP 0 timing "time budget (${BUDGET_S}s) used"
  else
    run_step "bench cpu" timing 90 "$OUT_DIR/bench_cpu.jsonl" "$BENCH" --device cpu --iters 50
    if [[ $LAST_RC -eq 0 ]]; then st=PASS; else st=WARN; fi
    record "relabel_bench --device cpu" $st $LAST_DT timing "bench_cpu.jsonl"
  fi
fi

# ---- summary ------------------------------------------------------------------------------------------------------
{
  echo "ReLabel4J GPU device check, $(date -u +%Y-%m-%dT%H:%M:%SZ), ${SECONDS}s, GPU: ${GPU_NAME:-none}"
  printf '%-30s %-5s %5s  %s\n' step status secs note
  for s in "${STEPS[@]}"; do
    IFS='|' read -r name status secs kind note <<<"$s"
    printf '%-30s %-5s %5s  %s\n' "$name" "$status" "$secs" "$note"
  done
  if [[ -f "$OUT_DIR/timing.md" ]]; then
    echo
    cat "$OUT_DIR/timing.md"
  fi
  if [[ -f "$OUT_DIR/check_py.log" ]]; then
    echo
    sed -n '/^check.py: [0-9]* checks/,$p' "$OUT_DIR/check_py.log" | head -40
  fi
  echo
  if [[ $FAILED -eq 0 ]]; then echo "RESULT: PASS (all correctness steps passed)"; else echo "RESULT: FAIL (see the FAIL lines above and the logs in $OUT_DIR)"; fi
} >"$OUT_DIR/summary.txt"
echo
cat "$OUT_DIR/summary.txt"
exit $FAILED
