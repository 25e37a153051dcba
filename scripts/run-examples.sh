#!/usr/bin/env bash
# Runs every example in examples/ on a GPU machine and writes a log.
#
#   bash scripts/run-examples.sh            # log: gpu-out/examples.log
#   PYTHON=python3.12 LOG=/tmp/ex.log bash scripts/run-examples.sh
#
# Needs numba-cuda-lcs with numba-cuda (e.g. pip install -e ".[cu13]"), CuPy
# and PyTorch with CUDA; numba-cuda-mlir is optional (its example then says
# "skipped: ...").  Each example exits 0 when what it shows held, 1 on a wrong
# result, and 0 with a "skipped: <why>" line when a library it needs is
# missing.  The summary lists passed, skipped and failed examples; the
# script exits 1 if any failed, or if one ran its compile-only path (no GPU
# seen) unless ALLOW_COMPILE_ONLY=1.
set -uo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
LOG=${LOG:-gpu-out/examples.log}
mkdir -p "$(dirname "$LOG")"
: >"$LOG"

log() { printf '%s\n' "$*" | tee -a "$LOG"; }

log "run-examples: $(date -u +%Y-%m-%dT%H:%M:%SZ) $($PYTHON --version 2>&1) ($(command -v "$PYTHON"))"
"$PYTHON" -m numba_cuda_lcs info 2>&1 | tee -a "$LOG"
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader 2>&1 | tee -a "$LOG" || true

passed=() skipped=() failed=() compile_only=()
for example in examples/[a-z]*.py; do
    name=$(basename "$example" .py)
    log ""
    log "=== $name ==="
    start=$(date +%s)
    output=$("$PYTHON" "$example" 2>&1)
    rc=$?
    printf '%s\n' "$output" | tee -a "$LOG"
    log "--- $name: exit $rc, $(( $(date +%s) - start )) s"
    if [ $rc -ne 0 ]; then
        failed+=("$name")
    elif grep -q '^skipped:' <<<"$output"; then
        skipped+=("$name ($(grep -m1 '^skipped:' <<<"$output"))")
    elif grep -q '^compile-only path' <<<"$output"; then
        compile_only+=("$name")
    else
        passed+=("$name")
    fi
done

log ""
log "=== summary ==="
log "passed (GPU): ${passed[*]:-none}"
log "compile-only (no GPU seen): ${compile_only[*]:-none}"
for s in "${skipped[@]}"; do log "skipped: $s"; done
log "failed: ${failed[*]:-none}"
log "log: $LOG"
if [ ${#failed[@]} -gt 0 ]; then exit 1; fi
if [ ${#compile_only[@]} -gt 0 ] && [ "${ALLOW_COMPILE_ONLY:-0}" != 1 ]; then
    log "error: examples ran their compile-only path; is the GPU visible? (ALLOW_COMPILE_ONLY=1 accepts it)"
    exit 1
fi
exit 0
