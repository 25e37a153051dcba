"""numba-cuda-mlir's whole-function planners with numba-cuda-lcs active, on
CPU: a planner that reads the launch (``require_launch_config``) and sizes a
shared buffer from the block keeps numba-cuda-mlir's semantics (one
specialization per configuration) and, with ``cache=True``, is saved and
loaded per configuration under a key holding the planners' identity;
kernels no planner made launch-dependent keep a disk cache while planners
are registered.

Each scenario runs in fresh processes sharing one cache directory (planners
are process-wide).  Launches go through numba-cuda-mlir's own configured
launcher and ``_launch`` (which compiles through the planners); only the
native launch is replaced by a recorder, and cubins are built for compute
capability 9.0 without a GPU.
"""

import os
import textwrap

import pytest

pytest.importorskip("numba_cuda_mlir")

from support.planners import PLANNER_MODULE, THREADS_MODULE  # noqa: E402
from support.processes import lcs_result, run_python  # noqa: E402

KERNEL_MODULE = """\
from numba_cuda_mlir import cuda
from numba_cuda_mlir.numba_cuda import float32

SLOTS = 1  # replaced by the planner


@cuda.jit(cache=True)
def block_buffer(x):
    buf = cuda.shared.array(SLOTS, float32)
    buf[cuda.threadIdx.x] = x
    cuda.syncthreads()
    if buf[SLOTS - 1 - cuda.threadIdx.x] > 0:  # read: the buffer stays
        cuda.syncthreads()


@cuda.jit(cache=True)
def plain(x):
    if x > 0:
        cuda.syncthreads()
"""

CHILD = """\
import json, re, sys, warnings
sys.path.insert(0, {module_dir!r})
warnings.simplefilter("ignore")
import numpy as np
from numba_cuda_mlir import descriptor, tools
from numba_cuda_mlir._whole_function_planners import register_planner
import numba_cuda_lcs
from numba_cuda_lcs import inspection

tools.get_gpu_compute_capability = lambda as_type=str: (9, 0) if as_type is tuple else "sm_90"
launched = []
descriptor.LaunchConfiguration = (
    lambda kernel, grid, block, stream, sharedmem, cluster:
    lambda *args: launched.append(block)
)
import lcs_planner
import lcs_planned_kernels as kernels
if {register!r}:
    register_planner(lcs_planner.{planner})


class UsesLaunchConfig:  # an extension numba-cuda-mlir keys by the launch
    uses_launch_config = True

    def prepare_args(self, ty, val, stream=None, retr=None):
        return ty, val


if {extension!r}:
    kernels.plain.extensions.append(UsesLaunchConfig())
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    for block in {blocks!r}:
        if {register!r}:
            kernels.block_buffer[1, block](np.float32(1.0))
        else:  # no planner: the native launch would compile; do it here
            kernels.block_buffer[1, block].compile_only((np.float32(1.0),))
    if {register!r}:
        kernels.plain[1, 32](np.float32(1.0))
    else:
        kernels.plain[1, 32].compile_only((np.float32(1.0),))


def shared(cres):
    return [int(n) for n in re.findall(r"\\.shared \\.align \\d+ \\.b8 \\w+\\[(\\d+)\\]", cres.ptx)]


planned = kernels.block_buffer
with planned._launch_config_lock:
    found = [*planned._launch_config_overloads.values(), *planned.overloads.values()]
    sizes = [shared(cres) for cres in found]
print("LCS-RESULT " + json.dumps({{
    "active": "numba-cuda-mlir" in numba_cuda_lcs.active_compilers(),
    "planned": inspection.compile_counters(planned),
    "plain": inspection.compile_counters(kernels.plain),
    "shared_sizes": sorted(set(n for found in sizes for n in found)),
    "launched": launched,
    "warnings": [str(w.message) for w in caught if "numba-cuda-lcs" in str(w.message)],
    "notices": [str(w.message) for w in caught if "Persistent disk cache" in str(w.message)],
}}))
"""

BLOCKS = (32, 64, 128)


@pytest.fixture
def modules(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    (src / "lcs_planner.py").write_text(PLANNER_MODULE)
    (src / "lcs_planned_kernels.py").write_text(KERNEL_MODULE)
    (src / "lcs_threads.py").write_text(THREADS_MODULE)
    return src


def run_child(
    modules,
    cache_dir,
    *,
    blocks=BLOCKS,
    register=True,
    planner="BlockSizedBuffer",
    env=None,
    extension=False,
):
    code = CHILD.format(
        module_dir=str(modules),
        blocks=list(blocks),
        register=register,
        planner=planner,
        extension=extension,
    )
    proc = run_python("-c", code, env={"NUMBA_CACHE_DIR": str(cache_dir), **(env or {})})
    result = lcs_result(proc)
    assert result["active"]
    return result


def test_planner_kernels_are_disk_cached_per_configuration(modules, tmp_path):
    cache = tmp_path / "cache"
    first = run_child(modules, cache)
    # numba-cuda-mlir's semantics: one specialization per block size, the
    # buffer sized from each.
    assert first["planned"]["compiles"] == len(BLOCKS)
    assert first["planned"]["cache_loads"] == 0
    assert first["shared_sizes"] == [4 * b for b in BLOCKS]
    assert first["launched"][: len(BLOCKS)] == [[b, 1, 1] for b in BLOCKS]
    # ... and numba-cuda-mlir's notice that they are not disk-cached is gone.
    assert first["notices"] == []
    assert first["plain"]["compiles"] == 1

    second = run_child(modules, cache)
    assert second["planned"]["compiles"] == 0
    assert second["planned"]["cache_loads"] == len(BLOCKS)
    assert second["shared_sizes"] == [4 * b for b in BLOCKS]
    # A kernel no planner made launch-dependent keeps its disk cache.
    assert second["plain"]["compiles"] == 0
    assert second["plain"]["cache_loads"] == 1

    # A configuration not seen yet compiles (and only it).
    third = run_child(modules, cache, blocks=(32, 256))
    assert third["planned"]["compiles"] == 1
    assert third["planned"]["cache_loads"] == 1
    assert 4 * 256 in third["shared_sizes"]


def test_a_changed_planner_never_loads_old_entries(modules, tmp_path):
    cache = tmp_path / "cache"
    run_child(modules, cache)
    # The planner's module changes (SCALE 2: buffers twice the size): the
    # kernel's source is the same, its entries are not.
    planner = modules / "lcs_planner.py"
    planner.write_text(planner.read_text().replace("SCALE = 1", "SCALE = 2"))
    changed = run_child(modules, cache)
    assert changed["planned"]["compiles"] == len(BLOCKS)
    assert changed["planned"]["cache_loads"] == 0
    assert changed["shared_sizes"] == [8 * b for b in BLOCKS]
    # The plain kernel was compiled while the old planner was registered:
    # its entry is keyed by it too.
    assert changed["plain"]["compiles"] == 1


def test_entries_compiled_with_planners_are_not_loaded_without_them(modules, tmp_path):
    cache = tmp_path / "cache"
    run_child(modules, cache)
    without = run_child(modules, cache, register=False, blocks=(64,))
    # No planner: SLOTS stays 1 (numba-cuda-mlir's own cache, its own keys).
    assert without["planned"]["cache_loads"] == 0
    assert without["planned"]["compiles"] == 1
    assert without["shared_sizes"] == [4]
    assert without["plain"]["cache_loads"] == 0
    assert without["plain"]["compiles"] == 1
    # ... and the entries it saved are not loaded once planners are back.
    again = run_child(modules, cache, blocks=(64,))
    assert again["planned"]["compiles"] == 0
    assert again["planned"]["cache_loads"] == 1
    assert again["shared_sizes"] == [4 * 64]


def test_a_corrupted_planned_marker_is_a_miss(modules, tmp_path):
    cache = tmp_path / "cache"
    run_child(modules, cache)
    markers = [
        os.path.join(root, name)
        for root, _dirs, names in os.walk(cache)
        for name in names
        if ".planned-" in name
    ]
    assert len(markers) == 1
    with open(markers[0], "w") as f:
        f.write("{not json")
    again = run_child(modules, cache)
    # Without the marker the first launch compiles through the planner
    # (which finds the kernel launch-dependent again); the rest load.
    assert again["planned"]["compiles"] == 1
    assert again["planned"]["cache_loads"] == len(BLOCKS) - 1
    assert again["shared_sizes"] == [4 * b for b in BLOCKS]


def test_a_planner_that_cannot_be_fingerprinted_disables_caching_with_one_warning(
    modules, tmp_path
):
    planner = modules / "lcs_planner.py"
    planner.write_text(
        planner.read_text()
        + textwrap.dedent(
            """
            def _opaque():
                class Local:  # its instances cannot be pickled
                    def __call__(self):
                        return False

                return Local()


            class Opaque(WholeFunctionPlanner):
                run = staticmethod(_opaque())  # a callable whose state is unreadable


            class OpaqueWithKey(Opaque):
                lcs_cache_key = "opaque-v1"  # the author vouches for its behaviour
            """
        )
    )
    cache = tmp_path / "cache"
    first = run_child(modules, cache, planner="Opaque")
    # The opaque planner is the only one registered: no kernel is
    # launch-dependent, none is disk-cached.
    assert first["planned"]["compiles"] == 1
    assert first["plain"]["compiles"] == 1
    warned = [w for w in first["warnings"] if "cannot be part of a disk-cache key" in w]
    assert len(warned) == 2  # one per kernel
    assert "lcs_planner.Opaque" in warned[0] and "lcs_cache_key" in warned[0]
    second = run_child(modules, cache, planner="Opaque")
    assert second["planned"]["compiles"] == 1
    assert second["plain"]["compiles"] == 1
    # With the hook the planner is identified: cached, and no warning.
    keyed = [run_child(modules, cache, planner="OpaqueWithKey") for _ in range(2)]
    assert keyed[0]["warnings"] == [] and keyed[0]["planned"]["compiles"] == 1
    assert keyed[1]["planned"]["cache_loads"] == 1 and keyed[1]["plain"]["cache_loads"] == 1


def test_what_the_planners_code_refers_to_is_part_of_the_key(modules, tmp_path):
    cache = tmp_path / "cache"
    run_child(modules, cache)
    # SCALE read from the environment at import: the module's source is
    # unchanged, the value the planner's code refers to is not.
    planner = modules / "lcs_planner.py"
    planner.write_text(
        "import os\n"
        + planner.read_text().replace(
            "SCALE = 1", "SCALE = int(os.environ.get('LCS_TEST_SCALE', '1'))"
        )
    )
    same = run_child(modules, cache)  # the source changed: compiled once more
    again = run_child(modules, cache)
    assert again["planned"]["cache_loads"] == len(BLOCKS)
    scaled = run_child(modules, cache, env={"LCS_TEST_SCALE": "2"})
    assert scaled["planned"]["compiles"] == len(BLOCKS)
    assert scaled["shared_sizes"] == [8 * b for b in BLOCKS]
    assert same["planned"]["compiles"] == len(BLOCKS)


THREADS_CHILD = """\
import json, re, sys, threading, warnings
sys.path.insert(0, {module_dir!r})
warnings.simplefilter("ignore")
import numpy as np
from numba_cuda_mlir import descriptor, tools
from numba_cuda_mlir._whole_function_planners import register_planner
from numba_cuda_mlir.numba_cuda.typing.typeof import typeof
import numba_cuda_lcs
import lcs_planner, lcs_planned_kernels as kernels, lcs_threads

tools.get_gpu_compute_capability = lambda as_type=str: (9, 0) if as_type is tuple else "sm_90"
register_planner(lcs_planner.BlockSizedBuffer)
kernel = kernels.block_buffer
lock = threading.Lock()
natives = {{}}  # id(native dispatcher), argtypes -> (native, compiled)
wrong = []


def shared(cres):
    return [int(n) for n in re.findall(r"\\.shared \\.align \\d+ \\.b8 \\w+\\[(\\d+)\\]", cres.ptx)]


def native_launcher(native, grid, block, stream, sharedmem, cluster):
    # numba-cuda-mlir's native launcher, without a GPU: each native
    # dispatcher compiles once per argument types (through the dispatcher's
    # _compile, under the launching thread's compile-time state) and keeps
    # what it got; the launch itself checks the kept code's buffer.
    def launch(*args):
        key = (id(native), tuple(typeof(a) for a in args))
        with lock:
            kept = natives.get(key)
        if kept is None or kept[0] is not native:
            kept = (native, kernel._compile(list(args)))
            with lock:
                natives[key] = kept
        cubin = kept[1][0]
        found = [c for c in [*kernel._launch_config_overloads.values(), *kernel.overloads.values()]
                 if c.metadata.get("cubin") is cubin]
        if not found or shared(found[0]) != [4 * block[0]]:
            wrong.append(block[0])
    return launch


descriptor.LaunchConfiguration = native_launcher
_results, errors = lcs_threads.shuffled_in_threads(
    {blocks!r}, lambda block: kernel[1, block](np.float32(1.0))
)
print("LCS-RESULT " + json.dumps({{
    "active": "numba-cuda-mlir" in numba_cuda_lcs.active_compilers(),
    "wrong": wrong, "errors": errors,
}}))
"""


def test_eight_threads_run_every_launch_with_its_own_configurations_code(modules, tmp_path):
    # numba-cuda-mlir 0.6.0 alone runs some of these launches through the
    # kernel's generic native dispatcher, which keeps the first
    # configuration's code (see configured_launch.launch_prepared).
    blocks = (32, 64, 96, 128, 192, 256, 512, 1024)
    for attempt in range(2):
        code = THREADS_CHILD.format(module_dir=str(modules), blocks=list(blocks))
        proc = run_python("-c", code, env={"NUMBA_CACHE_DIR": str(tmp_path / f"cache{attempt}")})
        result = lcs_result(proc)
        assert result["active"]
        assert result["errors"] == []
        assert result["wrong"] == []


TOGETHER_CHILD = """\
import json, os, sys, time, warnings
spec = json.loads(sys.argv[1])
sys.path.insert(0, spec["module_dir"])
warnings.simplefilter("ignore")
import numpy as np
from numba_cuda_mlir import descriptor, tools
from numba_cuda_mlir._whole_function_planners import register_planner
import numba_cuda_lcs
from numba_cuda_lcs import inspection
import lcs_planner, lcs_planned_kernels as kernels

tools.get_gpu_compute_capability = lambda as_type=str: (9, 0) if as_type is tuple else "sm_90"
descriptor.LaunchConfiguration = lambda *config: (lambda *args: None)
register_planner(lcs_planner.BlockSizedBuffer)
open(spec["start_file"] + f".ready.{os.getpid()}", "w").close()
while not os.path.exists(spec["start_file"]):
    time.sleep(0.002)
for block in spec["blocks"]:
    kernels.block_buffer[1, block](np.float32(1.0))
print("LCS-RESULT " + json.dumps(inspection.compile_counters(kernels.block_buffer)))
"""


def test_processes_started_together_compile_each_planned_configuration_once(modules, tmp_path):
    from support.cluster import cache_env, release_together, report, spawn

    workspace = tmp_path / "together"
    workspace.mkdir()
    (workspace / "child.py").write_text(TOGETHER_CHILD)
    spec = {
        "module_dir": str(modules),
        "blocks": list(BLOCKS),
        "start_file": str(workspace / "start"),
    }
    env = cache_env(workspace)
    procs = [spawn(workspace, spec, env) for _ in range(4)]
    release_together(workspace, procs)
    results = [report(proc) for proc in procs]
    # The first launch of each process finds the kernel's generic entry
    # locked, then the marker the holder wrote; every later configuration is
    # compiled by one process and loaded by the others.
    assert sum(r["compiles"] for r in results) == len(BLOCKS)
    assert sum(r["cache_loads"] for r in results) == 3 * len(BLOCKS)


def test_an_edited_kernel_is_not_held_to_an_old_marker(modules, tmp_path):
    cache = tmp_path / "cache"
    run_child(modules, cache)
    # The kernel no longer uses SLOTS: the planner does not make it
    # launch-dependent, and the marker written for its old source is ignored.
    kernels = modules / "lcs_planned_kernels.py"
    kernels.write_text(
        kernels.read_text()
        .replace("cuda.shared.array(SLOTS,", "cuda.shared.array(1024,")
        .replace("buf[SLOTS - 1 -", "buf[1023 -")
    )
    edited = run_child(modules, cache)
    assert edited["planned"]["compiles"] == 1  # one generic compile serves every block
    assert edited["planned"]["cache_loads"] == 0
    assert edited["shared_sizes"] == [4096]


def test_a_kernel_an_extension_keys_by_the_launch_never_loads_a_generic_entry(modules, tmp_path):
    cache = tmp_path / "cache"
    first = run_child(modules, cache)
    assert first["plain"]["compiles"] == 1  # saved as a generic planned entry
    # Now an extension that uses the launch configuration: numba-cuda-mlir
    # compiles the kernel per configuration, so the generic entry is not
    # its to load (its first launch would find nothing published).
    with_extension = run_child(modules, cache, extension=True)
    assert with_extension["plain"]["cache_loads"] == 0


WARM_CHILD = """\
import json, sys, warnings
sys.path.insert(0, {module_dir!r})
warnings.simplefilter("ignore")
from numba_cuda_mlir import tools
from numba_cuda_mlir._whole_function_planners import register_planner
import numba_cuda_lcs
import lcs_planner, lcs_planned_kernels as kernels

# In this process (the planner is registered here), for sm_90 without a GPU.
tools.get_gpu_compute_capability = lambda as_type=str: (9, 0) if as_type is tuple else "sm_90"
register_planner(lcs_planner.BlockSizedBuffer)
report = numba_cuda_lcs.warm(kernels.block_buffer, ["float32"], [(1, 64)])
print("LCS-RESULT " + json.dumps({{
    "failed": report.failed, "compiled": report.compiled,
    "errors": [str(r.error) for r in report.results if r.error],
}}))
"""


def test_warm_says_why_a_planner_kernel_cannot_be_warmed(modules, tmp_path):
    code = WARM_CHILD.format(module_dir=str(modules))
    proc = run_python("-c", code, env={"NUMBA_CACHE_DIR": str(tmp_path / "cache")})
    result = lcs_result(proc)
    assert result["failed"] == 1 and result["compiled"] == 0
    assert "whole-function planner" in result["errors"][0]
    assert "launching it once per configuration" in result["errors"][0]
