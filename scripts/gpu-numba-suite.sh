#!/usr/bin/env bash
# numba-cuda's own test packages, stock (NUMBA_CUDA_LCS_DISABLE=1) and with
# numba-cuda-lcs active, side by side; the sets of failing tests must be
# identical.  Run after scripts/gpu-suite.sh installed the package.
#
#   bash scripts/gpu-numba-suite.sh cudapy cudadrv doc_examples
#
# Each package runs in both modes at once (numba's test runner, -m JOBS
# processes each).  Logs and summary under $LOG_DIR (default gpu-out/).
set -u
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
LOG_DIR=${LOG_DIR:-$PWD/gpu-out}
JOBS=${JOBS:-8}
mkdir -p "$LOG_DIR"
SUMMARY=$LOG_DIR/numba-suite.txt
say() { echo "$*" | tee -a "$SUMMARY"; }
if [ -d /tmp/lcs-site ]; then  # wheels (.whl) or numba-cuda-mlir (.mlir) unpacked by gpu-suite.sh
  export PYTHONPATH=/tmp/lcs-site${PYTHONPATH:+:$PYTHONPATH}
fi
cd /tmp
status=0
for pkg in "$@"; do
  for mode in stock lcs; do
    dis=$([ $mode = stock ] && echo 1 || echo 0)
    NUMBA_CUDA_LCS_DISABLE=$dis timeout "${SUITE_TIMEOUT:-540}" $PY -m numba.runtests -m "$JOBS" -v \
      "numba.cuda.tests.$pkg" > "$LOG_DIR/numba-$mode-$pkg.log" 2>&1 &
  done
  wait
  for mode in stock lcs; do
    grep -E "^(FAIL|ERROR): " "$LOG_DIR/numba-$mode-$pkg.log" | sed 's/ (.*//' | sort -u > "$LOG_DIR/numba-$mode-$pkg.failures"
    ran=$(grep -E "^Ran [0-9]+ test" "$LOG_DIR/numba-$mode-$pkg.log" | tail -1)
    res=$(grep -E "^(OK|FAILED)" "$LOG_DIR/numba-$mode-$pkg.log" | tail -1)
    say "$(printf '%-14s %-5s %-22s %s' "$pkg" "$mode" "$ran" "$res")"
  done
  if cmp -s "$LOG_DIR/numba-stock-$pkg.failures" "$LOG_DIR/numba-lcs-$pkg.failures"; then
    say "   identical failing sets ($(wc -l < "$LOG_DIR/numba-lcs-$pkg.failures") failing)"
  else
    say "   DIFFERENT failing sets for $pkg:"
    diff "$LOG_DIR/numba-stock-$pkg.failures" "$LOG_DIR/numba-lcs-$pkg.failures" | tee -a "$SUMMARY"
    status=1
  fi
done
exit $status
