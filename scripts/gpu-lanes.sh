#!/usr/bin/env bash
# The GPU suite in parallel lanes, one GPU and a share of the cores each, so
# that one device call covers everything: installs once, then runs groups of
# scripts/gpu-suite.sh's stages side by side.  A lane with bench, mlir-bench,
# mlir-ubench or paired gets cores of its own (launch overhead is CPU time).
#
#   bash scripts/gpu-lanes.sh                  # the lanes below
#   LANES="tests launcher demo|bench" bash scripts/gpu-lanes.sh
#   LANES="mlir-ubench" bash scripts/gpu-lanes.sh  # (not in the default lanes)
#
# Default lanes (with fewer GPUs than lanes, lanes share GPUs in turn):
#   0: tests (PYTEST_JOBS=4), launcher, examples, demo
#   1: bench (before/after when .before/ holds another tree)
#   2: numba-suite cudapy
#   3: mlir (our numba-cuda-mlir tests), mlir-suite, numba-suite cudadrv doc_examples
# LANE_TIMEOUT (540 s) bounds each lane, so that one device call returns.
# Logs: gpu-out/lane-N/; $OUT gets logs.tar.gz, summary.txt and the JSON
# (the device tool brings back at most 8 files: run few JSON-writing stages).
set -u
cd "$(dirname "$0")/.."
ROOT=$PWD
PY=${PYTHON:-python3}
OUT_DIR=${LOG_DIR:-$ROOT/gpu-out}
mkdir -p "$OUT_DIR"
SUMMARY=$OUT_DIR/summary.txt
: > "$SUMMARY"

export PYTHONUNBUFFERED=1
. scripts/gpu-carried-site.sh
echo "== $(date -u '+%Y-%m-%d %H:%M:%S UTC') on $(hostname)" | tee -a "$SUMMARY"
nvidia-smi --query-gpu=index,name,driver_version --format=csv,noheader 2>&1 | tee -a "$SUMMARY"
$PY -m pip install --no-deps --no-build-isolation --no-index . > "$OUT_DIR/install.log" 2>&1 \
  || { echo "pip install failed (install.log)" | tee -a "$SUMMARY"; tail -20 "$OUT_DIR/install.log"; exit 1; }

GPUS=$(nvidia-smi --query-gpu=index --format=csv,noheader | wc -l)
CORES=$(nproc)
DEFAULT_LANES="tests launcher examples demo|bench|numba-suite:cudapy|mlir mlir-suite numba-suite:cudadrv,doc_examples"
IFS='|' read -r -a lanes <<< "${LANES:-$DEFAULT_LANES}"
BENCH_CORES=4
pids=()
for i in "${!lanes[@]}"; do
  gpu=$((i % GPUS))
  dir=$OUT_DIR/lane-$i
  mkdir -p "$dir"
  stages=() pkgs=""
  for word in ${lanes[$i]}; do
    case $word in
      numba-suite:*) stages+=(numba-suite); pkgs=${word#numba-suite:}; pkgs=${pkgs//,/ } ;;
      *) stages+=("$word") ;;
    esac
  done
  if [[ " ${stages[*]} " == *" bench "* || " ${stages[*]} " == *" mlir-ubench "* || " ${stages[*]} " == *" mlir-bench "* || " ${stages[*]} " == *" paired "* ]]; then
    cpus="$((CORES - BENCH_CORES))-$((CORES - 1))"
  else
    cpus="0-$((CORES - BENCH_CORES - 1))"
  fi
  echo "lane $i on GPU $gpu, cores $cpus: ${stages[*]} ${pkgs:+($pkgs)}" | tee -a "$SUMMARY"
  env -u OUT CUDA_VISIBLE_DEVICES=$gpu INSTALL=0 LOG_DIR=$dir STAGES="${stages[*]}" \
    NUMBA_SUITE_PACKAGES="$pkgs" PYTEST_JOBS=${PYTEST_JOBS:-4} \
    timeout "${LANE_TIMEOUT:-540}" taskset -c "$cpus" bash scripts/gpu-suite.sh > "$dir/lane.log" 2>&1 &
  pids+=($!)
done
status=0
for i in "${!pids[@]}"; do
  wait "${pids[$i]}" || status=1
  { echo; echo "######## lane $i: ${lanes[$i]}"; cat "$OUT_DIR/lane-$i/summary.txt"; } >> "$SUMMARY"
  # A lane stopped by LANE_TIMEOUT leaves its partial logs (and says so).
done
echo "== lanes exit status $status" | tee -a "$SUMMARY"
if [ -n "${OUT:-}" ]; then
  tar -C "$OUT_DIR" -czf "$OUT/logs.tar.gz" .
  cp "$SUMMARY" "$OUT/summary.txt"
  for f in "$OUT_DIR"/lane-*/{launch-overhead,launcher-check,launcher-check-pointers,mlir-launch-overhead,mlir-ubench,memory-launches,memory-launches-mlir,paired,probe-array-producers}.json; do
    [ -f "$f" ] && cp "$f" "$OUT/"
  done
fi
exit $status
