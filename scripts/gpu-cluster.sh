#!/usr/bin/env bash
# Compile once per cluster (issue 21) on a GPU machine: installs what was
# carried (numba-cuda-mlir from .mlir/, see ../shared/gpu-mlir-carry.sh; the
# dask.distributed wheels from .whl/, see scripts/fetch-dask-wheels.sh; both
# may be there), installs numba-cuda-lcs, then runs the stages asked for.
# Logs and JSON go to $LOG_DIR (default gpu-out/cluster), copied to $OUT.
#
#   bash scripts/gpu-cluster.sh                     # tests, then bench, then dask
#   STAGES=tests bash scripts/gpu-cluster.sh
#   STAGES="bench dask" INSTALL=0 bash scripts/gpu-cluster.sh
#
# Stages:
#   tests  tests/cluster (GPU: processes compile each configuration once on
#          both compilers, warm then a fresh process with no compile, the
#          Dask example) and the CPU tests of locks, cache and warm
#   bench  scripts/bench-cluster-compiles.py: numba-cuda with and without
#          locks, numba-cuda-mlir with locks (P = 1, 4, 16)
#   dask   examples/dask_cluster_cache.py, 4 workers, both compilers
set -u
cd "$(dirname "$0")/.."
ROOT=$PWD
PY=${PYTHON:-python3}
LOG_DIR=${LOG_DIR:-$ROOT/gpu-out/cluster}
mkdir -p "$LOG_DIR"
SUMMARY=$LOG_DIR/summary.txt
: > "$SUMMARY"
say() { echo "$*" | tee -a "$SUMMARY"; }
export PYTHONUNBUFFERED=1

if [ "${INSTALL:-1}" != 0 ]; then
  . scripts/gpu-carried-site.sh
elif [ -d /tmp/lcs-site ]; then
  export PYTHONPATH=/tmp/lcs-site${PYTHONPATH:+:$PYTHONPATH}
fi
if [ "${INSTALL:-1}" != 0 ]; then
  if $PY -m pip install --no-deps --no-build-isolation --no-index . > "$LOG_DIR/install.log" 2>&1; then
    say "installed numba-cuda-lcs"
  else
    say "pip install failed (see install.log)"; exit 1
  fi
fi
say "== $(date -u '+%Y-%m-%d %H:%M:%S UTC') on $(hostname)"
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader 2>&1 | tee -a "$SUMMARY"
(cd /tmp && $PY -c "import numba_cuda_lcs, numba_cuda; print('numba-cuda-lcs', numba_cuda_lcs.__version__, 'numba-cuda', numba_cuda.__version__)"
 cd /tmp && $PY -c "import numba_cuda_mlir; print('numba-cuda-mlir', numba_cuda_mlir.__version__)"
 cd /tmp && $PY -c "import dask, distributed; print('dask', dask.__version__)") 2>&1 | tee -a "$SUMMARY"

STAGES=${STAGES:-tests bench dask}
stage() { case " $STAGES " in *" $1 "*) return 0;; *) return 1;; esac; }
status=0

if stage tests; then
  # The checkout's tests against the installed package (run from /tmp).
  (cd /tmp && $PY -m pytest -q -p no:cacheprovider ${PYTEST_JOBS:+-n $PYTEST_JOBS} -rs \
      "$ROOT/tests/cluster" "$ROOT/tests/cache" "$ROOT/tests/mlir/test_mlir_cluster.py") \
      > "$LOG_DIR/tests.log" 2>&1 || status=1
  say "tests: $(tail -1 "$LOG_DIR/tests.log")"
fi

if stage bench; then
  # CLUSTER_BENCH="numba-cuda: numba-cuda-mlir:" picks variants (compiler:extra args).
  for variant in ${CLUSTER_BENCH:-numba-cuda: numba-cuda:--no-locks numba-cuda-mlir:}; do
    compiler=${variant%%:*}; extra=${variant#*:}
    name=cluster-compiles-$compiler${extra:+-no-locks}
    $PY scripts/bench-cluster-compiles.py --compiler "$compiler" $extra \
        --output "$LOG_DIR/$name.json" > "$LOG_DIR/$name.txt" 2>&1 || status=1
    say "bench $compiler $extra:"; tee -a "$SUMMARY" < "$LOG_DIR/$name.txt"
  done
fi

if stage dask; then
  for compiler in ${DASK_COMPILERS:-numba-cuda numba-cuda-mlir}; do
    $PY examples/dask_cluster_cache.py --workers 4 --compiler "$compiler" --json \
        > "$LOG_DIR/dask-$compiler.txt" 2>&1 || status=1
    say "dask example, $compiler:"; grep -v '^LCS-DASK' "$LOG_DIR/dask-$compiler.txt" | tail -8 | tee -a "$SUMMARY"
  done
fi

if [ -n "${OUT:-}" ]; then
  tar -czf "$OUT/cluster-logs.tar.gz" -C "$LOG_DIR" .
  cp "$SUMMARY" "$LOG_DIR"/*.json "$OUT"/ 2>/dev/null
fi
exit $status
