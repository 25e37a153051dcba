#!/usr/bin/env bash
# numba-cuda-mlir's own test suite, stock (NUMBA_CUDA_LCS_DISABLE=1) and with
# numba-cuda-lcs active, side by side; writes both failing sets and their
# difference.  The suite is its repository's tests/ at the public commit
# nearest the 0.6.0 wheel (../shared/numba-cuda-mlir-tests-10ece76.tar.gz;
# copy it into .mlir/ to carry it to a GPU machine).  Run after
# scripts/gpu-suite.sh installed the package, with numba-cuda-mlir importable
# (the .mlir carry).
#
#   bash scripts/gpu-mlir-suite.sh
#   JOBS=6 STOCK_GPU=2 ACTIVE_GPU=3 bash scripts/gpu-mlir-suite.sh
#
# Exit status 1 when the failing sets differ.  Logs and mlir-suite.txt in
# $LOG_DIR (default gpu-out/).
set -u
cd "$(dirname "$0")/.."
ROOT=$PWD
PY=${PYTHON:-python3}
LOG_DIR=${LOG_DIR:-$ROOT/gpu-out}
JOBS=${JOBS:-6}
mkdir -p "$LOG_DIR"
SUMMARY=$LOG_DIR/mlir-suite.txt
: > "$SUMMARY"
say() { echo "$*" | tee -a "$SUMMARY"; }
if [ -d /tmp/lcs-site ]; then
  export PYTHONPATH=/tmp/lcs-site${PYTHONPATH:+:$PYTHONPATH}
fi
TARBALL=${MLIR_TESTS:-$(ls "$ROOT"/.mlir/numba-cuda-mlir-tests-*.tar.gz "$ROOT"/../shared/numba-cuda-mlir-tests-*.tar.gz 2>/dev/null | head -1)}
if [ -z "$TARBALL" ] || [ ! -f "$TARBALL" ]; then
  say "numba-cuda-mlir's test suite not found: copy ../shared/numba-cuda-mlir-tests-*.tar.gz into .mlir/"
  exit 1
fi
WORK=$(mktemp -d /tmp/mlir-suite.XXXX)
tar -xzf "$TARBALL" -C "$WORK"
say "== numba-cuda-mlir's own suite ($(basename "$TARBALL")): stock vs active, $JOBS workers each"
cd "$WORK"
for mode in stock lcs; do
  dis=$([ $mode = stock ] && echo 1 || echo 0)
  gpu=$([ $mode = stock ] && echo "${STOCK_GPU:-}" || echo "${ACTIVE_GPU:-}")
  env ${gpu:+CUDA_VISIBLE_DEVICES=$gpu} NUMBA_CUDA_LCS_DISABLE=$dis timeout "${SUITE_TIMEOUT:-540}" \
    $PY -m pytest -q -n "$JOBS" -o addopts="" -p no:cacheprovider -rfE tests \
    > "$LOG_DIR/mlir-$mode.log" 2>&1 &
done
wait
status=0
for mode in stock lcs; do
  grep -E "^(FAILED|ERROR) " "$LOG_DIR/mlir-$mode.log" | sed -E 's/^(FAILED|ERROR) //; s/ - .*//' \
    | sort -u > "$LOG_DIR/mlir-$mode.failures"
  say "$(printf '%-6s %s' "$mode" "$(tail -n 1 "$LOG_DIR/mlir-$mode.log")")"
done
if cmp -s "$LOG_DIR/mlir-stock.failures" "$LOG_DIR/mlir-lcs.failures"; then
  say "   identical failing sets ($(wc -l < "$LOG_DIR/mlir-lcs.failures") failing)"
else
  say "   only with the package active:"
  comm -13 "$LOG_DIR/mlir-stock.failures" "$LOG_DIR/mlir-lcs.failures" | sed 's/^/     /' | tee -a "$SUMMARY"
  say "   only stock:"
  comm -23 "$LOG_DIR/mlir-stock.failures" "$LOG_DIR/mlir-lcs.failures" | sed 's/^/     /' | tee -a "$SUMMARY"
  status=1
fi
rm -rf "$WORK"
exit $status
