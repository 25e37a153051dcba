#!/usr/bin/env bash
# The whole GPU suite, on any machine with an NVIDIA GPU and numba-cuda 0.30.x:
# builds and installs numba-cuda-lcs, runs our tests, numba-cuda's own
# regression modules with the package disabled (stock) and active, the demo and
# the launch-overhead benchmark.  Logs go to $LOG_DIR; $OUT (if set) receives
# logs.tar.gz, the benchmark JSON and summary.txt (at most a few files, for the
# device tool).
#
#   bash scripts/gpu-suite.sh                # full
#   BENCH_LOOPS=20000 BENCH_REPEATS=5 bash scripts/gpu-suite.sh
#   BENCH_SCENARIOS=0: the benchmark without its scenarios (faster)
#   BENCH_INTERFACE_SYNC=0: the benchmark with NUMBA_CUDA_ARRAY_INTERFACE_SYNC=0
#   BENCH_EXTRAS=0: the launch-overhead benchmark only (no pytest-benchmark,
#   no launch-bounds run)
#   STAGES="tests bench" bash scripts/gpu-suite.sh   # some stages only
#
# Stages: tests (ours; PYTEST_JOBS=N runs them in N processes; TESTS_PATHS
# names some files only),
# launch-tests (tests/launch_path only),
# regression (numba-cuda's modules, stock vs active), launcher, memory
# (MEMORY_COMPILERS="numba-cuda numba-cuda-mlir" by default),
# mlir (our numba-cuda-mlir tests and its launch overhead), mlir-bench (that
# launch overhead alone, with the C floor; MLIR_BENCH_ROUNDS, MLIR_BENCH_CASES,
# MLIR_BENCH_LAUNCHES, MLIR_BENCH_BATCHES), numba-suite
# (numba-cuda's whole suite stock vs active), mlir-suite (numba-cuda-mlir's
# own suite stock vs active), mlir-ubench (numba-cuda-mlir's launch-latency
# microbenchmark cases, stock vs active; UBENCH_ROUNDS), paired (LC-S vs
# plain and the like, batch against batch in one process; PAIRED_ROUNDS,
# PAIRED_PAIRS, PAIRED_COMPILERS), probe (what reading a CuPy array or PyTorch
# tensor costs: scripts/probe-array-producers.py), examples, demo, bench.
# scripts/gpu-lanes.sh runs groups of stages in parallel, one GPU each.
# A numba-cuda-lcs tree in .before/ (e.g. `git archive <rev> | tar -x -C
# .before`) is built in place and measured as the before-* benchmark variants.
#
# Offline machines: wheels in .whl/ (scripts/../.whl, see ../shared/gpu-wheels.sh)
# are installed first into /tmp/lcs-site, which goes on PYTHONPATH.
set -u
cd "$(dirname "$0")/.."
ROOT=$PWD
PY=${PYTHON:-python3}
LOG_DIR=${LOG_DIR:-$ROOT/gpu-out}
mkdir -p "$LOG_DIR"
SUMMARY=$LOG_DIR/summary.txt
: > "$SUMMARY"
say() { echo "$*" | tee -a "$SUMMARY"; }

export PYTHONUNBUFFERED=1
# numba-cuda-mlir travels as xz archives (with numpy<2.5 and filecheck), see
# ../shared/gpu-mlir-carry.sh: carry .mlir instead of .whl for the mlir stage.
if [ "${INSTALL:-1}" = 0 ]; then
  [ -d /tmp/lcs-site ] && export PYTHONPATH=/tmp/lcs-site${PYTHONPATH:+:$PYTHONPATH}
else
  . scripts/gpu-carried-site.sh
fi

say "== $(date -u '+%Y-%m-%d %H:%M:%S UTC') on $(hostname)"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>&1 | tee -a "$SUMMARY"

# Build and install (no network needed).  An installed wheel carries the
# autoload .pth, so numba-cuda's own tests run with the package active.
# INSTALL=0: already installed (scripts/gpu-lanes.sh installs once).
if [ "${INSTALL:-1}" = 0 ]; then
  say "numba-cuda-lcs already installed"
elif $PY -m pip install --no-deps --no-build-isolation --no-index . > "$LOG_DIR/install.log" 2>&1; then
  say "installed numba-cuda-lcs with pip"
else
  say "pip install failed (see install.log); building in place"
  $PY setup.py build_ext --inplace >> "$LOG_DIR/install.log" 2>&1
  mkdir -p /tmp/lcs-autoload
  cp _numba_cuda_lcs_autoload.py /tmp/lcs-autoload/
  echo "import _numba_cuda_lcs_autoload; _numba_cuda_lcs_autoload.install_hook()" > /tmp/lcs-autoload/sitecustomize.py
  export PYTHONPATH=/tmp/lcs-autoload:$ROOT${PYTHONPATH:+:$PYTHONPATH}
fi
# Run everything from outside the checkout so the installed package is used.
cd /tmp
$PY -c "import numba_cuda_lcs, numba_cuda, numpy, sys; from numba_cuda_lcs import tls; print('numba-cuda-lcs', numba_cuda_lcs.__version__, 'active', numba_cuda_lcs.is_active(), 'tls', tls.IMPLEMENTATION, '| numba-cuda', numba_cuda.__version__, '| numpy', numpy.__version__, '| python', sys.version.split()[0])" 2>&1 | tee -a "$SUMMARY"

STAGES=${STAGES:-tests regression launcher memory demo bench}
stage() { case " $STAGES " in *" $1 "*) return 0;; *) return 1;; esac; }
status=0
if stage launch-tests; then
  say "== our launch-path tests only (tests/launch_path)"
  $PY -m pytest -q -p no:cacheprovider "$ROOT/tests/launch_path" -rs > "$LOG_DIR/pytest-launch.log" 2>&1 || status=1
  grep -E "^(FAILED|ERROR)" "$LOG_DIR/pytest-launch.log" | head -30 | tee -a "$SUMMARY"
  tail -n 1 "$LOG_DIR/pytest-launch.log" | tee -a "$SUMMARY"
fi

if stage tests; then
  say "== our tests"
  # TESTS_PATHS: some test files only (paths relative to the checkout)
  paths=()
  for p in ${TESTS_PATHS:-tests}; do paths+=("$ROOT/$p"); done
  $PY -m pytest -q -p no:cacheprovider ${PYTEST_JOBS:+-n $PYTEST_JOBS} "${paths[@]}" -rs > "$LOG_DIR/pytest.log" 2>&1 || status=1
  grep -E "^(FAILED|ERROR)" "$LOG_DIR/pytest.log" | head -30 | tee -a "$SUMMARY"
  tail -n 1 "$LOG_DIR/pytest.log" | tee -a "$SUMMARY"
fi

if stage regression && [ "${SKIP_REGRESSION:-0}" != 1 ]; then
  say "== numba-cuda regression modules: stock (NUMBA_CUDA_LCS_DISABLE=1) vs active"
  for m in test_dispatcher test_launch_config_sensitive test_caching test_forall test_serialize test_sm test_laplace; do
    for mode in stock lcs; do
      if [ $mode = stock ]; then dis=1; else dis=0; fi
      NUMBA_CUDA_LCS_DISABLE=$dis timeout 900 $PY -m unittest numba.cuda.tests.cudapy.$m > "$LOG_DIR/$mode-$m.log" 2>&1
      ran=$(grep -E '^Ran [0-9]+ test' "$LOG_DIR/$mode-$m.log" | tail -1)
      res=$(grep -E '^(OK|FAILED)' "$LOG_DIR/$mode-$m.log" | tail -1)
      say "$(printf '%-30s %-5s %-18s %s' "$m" "$mode" "$ran" "$res")"
    done
    # Same set of failing/erroring tests in both modes?
    for mode in stock lcs; do
      grep -E '^(FAIL|ERROR): ' "$LOG_DIR/$mode-$m.log" | sort > "$LOG_DIR/$mode-$m.failures"
    done
    if ! cmp -s "$LOG_DIR/stock-$m.failures" "$LOG_DIR/lcs-$m.failures"; then
      say "   DIFFERENT failures for $m:"; diff "$LOG_DIR/stock-$m.failures" "$LOG_DIR/lcs-$m.failures" | tee -a "$SUMMARY"
      status=1
    fi
  done
fi

if stage launcher; then
  say "== C launcher check (results vs numba-cuda's launch; micro-benchmark)"
  $PY "$ROOT/scripts/gpu-launcher-check.py" --output "$LOG_DIR/launcher-check.json" > "$LOG_DIR/launcher-check.log" 2>&1 || status=1
  tail -n 40 "$LOG_DIR/launcher-check.log" | tee -a "$SUMMARY"
  grep -c "buffer=True" "$LOG_DIR/launcher-check.log" | sed 's/^/C launchers handing one buffer: /' | tee -a "$SUMMARY"
  # and with a pointer per parameter (the off switch; launcher.c, learn_layout)
  say "== C launcher check, a pointer per parameter (NUMBA_CUDA_LCS_PARAM_BUFFER=0)"
  NUMBA_CUDA_LCS_PARAM_BUFFER=0 $PY "$ROOT/scripts/gpu-launcher-check.py" --output "$LOG_DIR/launcher-check-pointers.json" > "$LOG_DIR/launcher-check-pointers.log" 2>&1 || status=1
  grep -c "buffer=True" "$LOG_DIR/launcher-check-pointers.log" | sed 's/^/C launchers handing one buffer: /' | tee -a "$SUMMARY"
  tail -n 5 "$LOG_DIR/launcher-check-pointers.log" | tee -a "$SUMMARY"
fi

# MEMORY_COMPILERS: which compilers the memory stage runs (default both,
# numba-cuda-mlir where it is installed).
memory_on() { case " ${MEMORY_COMPILERS:-numba-cuda numba-cuda-mlir} " in *" $1 "*) return 0;; *) return 1;; esac; }
if stage memory; then
  if memory_on numba-cuda; then
    say "== memory over many launches (tracemalloc and RSS)"
    $PY "$ROOT/scripts/memory-launches.py" --launches "${MEMORY_LAUNCHES:-1000000}" --slow-launches "${MEMORY_SLOW_LAUNCHES:-100000}" --output "$LOG_DIR/memory-launches.json" > "$LOG_DIR/memory.log" 2>&1 || status=1
    tail -n 10 "$LOG_DIR/memory.log" | tee -a "$SUMMARY"
  fi
  if memory_on numba-cuda-mlir && $PY -c "import numba_cuda_mlir" 2>/dev/null; then
    say "== memory over many launches on numba-cuda-mlir"
    $PY "$ROOT/scripts/memory-launches.py" --compiler numba-cuda-mlir --launches "${MEMORY_LAUNCHES:-1000000}" --slow-launches "${MEMORY_SLOW_LAUNCHES:-100000}" --output "$LOG_DIR/memory-launches-mlir.json" > "$LOG_DIR/memory-mlir.log" 2>&1 || status=1
    tail -n 10 "$LOG_DIR/memory-mlir.log" | tee -a "$SUMMARY"
  fi
fi

if stage mlir; then
  say "== numba-cuda-mlir backend: tests and launch overhead"
  $PY -m pytest -q -p no:cacheprovider "$ROOT/tests/mlir" -rs > "$LOG_DIR/pytest-mlir.log" 2>&1 || status=1
  grep -E "^(FAILED|ERROR)" "$LOG_DIR/pytest-mlir.log" | head -30 | tee -a "$SUMMARY"
  tail -n 1 "$LOG_DIR/pytest-mlir.log" | tee -a "$SUMMARY"
  $PY "$ROOT/scripts/bench-mlir-launch-overhead.py" --rounds "${MLIR_BENCH_ROUNDS:-${BENCH_REPEATS:-5}}" \
    --launches "${MLIR_BENCH_LAUNCHES:-5000}" --batches "${MLIR_BENCH_BATCHES:-3}" \
    --out "$LOG_DIR/mlir-launch-overhead.json" > "$LOG_DIR/bench-mlir.log" 2>&1 || status=1
  sed -n '/^GPU /,$p' "$LOG_DIR/bench-mlir.log" | tee -a "$SUMMARY"
  grep -q '^GPU ' "$LOG_DIR/bench-mlir.log" || tail -n 30 "$LOG_DIR/bench-mlir.log" | tee -a "$SUMMARY"
fi

if stage mlir-bench; then
  say "== numba-cuda-mlir launch overhead: stock vs active, and the C floor"
  $PY "$ROOT/scripts/bench-mlir-launch-overhead.py" --rounds "${MLIR_BENCH_ROUNDS:-${BENCH_REPEATS:-5}}" \
    ${MLIR_BENCH_CASES:+--cases "$MLIR_BENCH_CASES"} \
    --launches "${MLIR_BENCH_LAUNCHES:-5000}" --batches "${MLIR_BENCH_BATCHES:-3}" \
    --out "$LOG_DIR/mlir-launch-overhead.json" > "$LOG_DIR/bench-mlir.log" 2>&1 || status=1
  sed -n '/^GPU /,$p' "$LOG_DIR/bench-mlir.log" | tee -a "$SUMMARY"
  grep -q '^GPU ' "$LOG_DIR/bench-mlir.log" || tail -n 30 "$LOG_DIR/bench-mlir.log" | tee -a "$SUMMARY"
fi

if stage numba-suite; then
  say "== numba-cuda's own suite, stock vs active (${NUMBA_SUITE_PACKAGES:-cudapy cudadrv doc_examples})"
  LOG_DIR=$LOG_DIR bash "$ROOT/scripts/gpu-numba-suite.sh" ${NUMBA_SUITE_PACKAGES:-cudapy cudadrv doc_examples} > "$LOG_DIR/numba-suite.log" 2>&1 || status=1
  cat "$LOG_DIR/numba-suite.txt" >> "$SUMMARY"
fi

if stage mlir-suite; then
  LOG_DIR=$LOG_DIR bash "$ROOT/scripts/gpu-mlir-suite.sh" > "$LOG_DIR/mlir-suite.log" 2>&1 || status=1
  cat "$LOG_DIR/mlir-suite.txt" >> "$SUMMARY"
fi

if stage mlir-ubench; then
  say "== numba-cuda-mlir's launch-latency microbenchmark cases, stock vs active"
  $PY "$ROOT/scripts/bench-mlir-ubench.py" --rounds "${UBENCH_ROUNDS:-${BENCH_REPEATS:-5}}" \
    --json "$LOG_DIR/mlir-ubench.json" > "$LOG_DIR/mlir-ubench.log" 2>&1 || status=1
  # The table and what follows it; a failed run has no table, show its end.
  if grep -q '^case ' "$LOG_DIR/mlir-ubench.log"; then
    sed -n '/^case /,$p' "$LOG_DIR/mlir-ubench.log" | tee -a "$SUMMARY"
  else
    tail -n 20 "$LOG_DIR/mlir-ubench.log" | tee -a "$SUMMARY"
  fi
fi

# Paired ratios (scripts/bench-paired.py): LC-S vs plain, 8 configurations
# alternating vs one, CuPy vs own arrays, batch against batch in one process
# -- the drift between processes cancels.  PAIRED_ROUNDS, PAIRED_PAIRS,
# PAIRED_COMPILERS.
if stage paired; then
  say "== paired launch-overhead ratios (one process, batch against batch)"
  $PY "$ROOT/scripts/bench-paired.py" --rounds "${PAIRED_ROUNDS:-3}" --pairs "${PAIRED_PAIRS:-15}" \
    ${PAIRED_COMPILERS:+--compilers "$PAIRED_COMPILERS"} \
    --out "$LOG_DIR/paired.json" > "$LOG_DIR/paired.log" 2>&1 || status=1
  if grep -q '^GPU ' "$LOG_DIR/paired.log"; then
    sed -n '/^GPU /,$p' "$LOG_DIR/paired.log" | tee -a "$SUMMARY"
  else
    tail -n 30 "$LOG_DIR/paired.log" | tee -a "$SUMMARY"
  fi
fi

if stage probe; then
  say "== what reading a CuPy array or PyTorch tensor costs (ns per read)"
  $PY "$ROOT/scripts/probe-array-producers.py" --json "$LOG_DIR/probe-array-producers.json" \
    > "$LOG_DIR/probe.log" 2>&1 || status=1
  tail -n 40 "$LOG_DIR/probe.log" | tee -a "$SUMMARY"
fi

if stage examples && [ -f "$ROOT/scripts/run-examples.sh" ]; then
  say "== examples"
  LOG=$LOG_DIR/examples.log bash "$ROOT/scripts/run-examples.sh" > "$LOG_DIR/examples-run.log" 2>&1 || status=1
  tail -n 30 "$LOG_DIR/examples-run.log" | tee -a "$SUMMARY"
fi

if stage demo; then
  say "== demo"
  $PY -m numba_cuda_lcs demo > "$LOG_DIR/demo.log" 2>&1 || status=1
  cat "$LOG_DIR/demo.log" >> "$SUMMARY"
fi

if stage bench && [ "${SKIP_BENCH:-0}" != 1 ]; then
  before=()
  if [ -f "$ROOT/.before/setup.py" ]; then
    (cd "$ROOT/.before" && $PY setup.py -q build_ext --inplace > "$LOG_DIR/before-build.log" 2>&1) \
      && before=(--before "$ROOT/.before") || say "could not build .before (see before-build.log)"
  fi
  # BENCH_INTERFACE_SYNC: NUMBA_CUDA_ARRAY_INTERFACE_SYNC for the benchmark
  # only (0: CuPy arrays on numba-cuda-mlir without its stream synchronisation)
  sync=()
  [ -n "${BENCH_INTERFACE_SYNC:-}" ] && sync=(env "NUMBA_CUDA_ARRAY_INTERFACE_SYNC=$BENCH_INTERFACE_SYNC")
  say "== launch-overhead benchmark ${before[*]:+(with ${before[*]})} ${sync[*]:+(${sync[*]:1})}"
  "${sync[@]}" $PY "$ROOT/scripts/bench-launch-overhead.py" --loops "${BENCH_LOOPS:-20000}" --loops4 "${BENCH_LOOPS4:-10000}" \
     --repeats "${BENCH_REPEATS:-5}" ${BENCH_VARIANTS:+--variants "$BENCH_VARIANTS"} $([ "${BENCH_SCENARIOS:-1}" = 0 ] && echo --no-scenarios) "${before[@]}" --output "$LOG_DIR/launch-overhead.json" > "$LOG_DIR/bench.log" 2> "$LOG_DIR/bench.err" || status=1
  cat "$LOG_DIR/bench.log" >> "$SUMMARY"
fi

if stage bench && [ "${SKIP_BENCH:-0}" != 1 ] && [ "${BENCH_EXTRAS:-1}" = 1 ]; then
  say "== pytest-benchmark suite (short)"
  $PY -m pytest -q -p no:cacheprovider "$ROOT/benchmarks" --benchmark-max-time=0.1 --benchmark-columns=mean,stddev,rounds > "$LOG_DIR/benchmarks.log" 2>&1 || status=1
  tail -n 20 "$LOG_DIR/benchmarks.log" >> "$SUMMARY"
  say "== launch bounds from the block size (registers, run time)"
  $PY "$ROOT/scripts/bench-launch-bounds.py" --output "$LOG_DIR/launch-bounds.json" > "$LOG_DIR/launch-bounds.log" 2>&1 || status=1
  cat "$LOG_DIR/launch-bounds.log" >> "$SUMMARY"
fi

say "== exit status $status"
if [ -n "${OUT:-}" ]; then
  tar -C "$LOG_DIR" -czf "$OUT/logs.tar.gz" .
  cp "$SUMMARY" "$OUT/summary.txt"
  for f in launch-overhead.json launch-bounds.json launcher-check.json launcher-check-pointers.json mlir-launch-overhead.json mlir-ubench.json memory-launches.json memory-launches-mlir.json; do
    [ -f "$LOG_DIR/$f" ] && cp "$LOG_DIR/$f" "$OUT/"
  done
fi
exit $status
