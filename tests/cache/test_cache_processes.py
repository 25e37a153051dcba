"""numba-cuda's compile path across processes, on CPU: the entry locks
``backends.numba_cuda.compile._obtain_kernel`` claims, the index lock every
save holds, and the trust check -- with the stand-ins of
``test_cache_files`` (code generation replaced by a slow fake that logs each
"compile"; entries go through numba-cuda's own index and data files)."""

import os
import stat
import warnings

import pytest
from support import cluster, installs
from support.cluster import release_together, report

from numba_cuda_lcs import cache_locks, cache_trust, keys

HERE = os.path.dirname(os.path.abspath(__file__))
TESTS_DIR = os.path.dirname(HERE)

CHILD = r"""
import importlib.util, json, os, sys, time, warnings

spec = json.loads(sys.argv[1])
sys.path[:0] = [spec["here"], spec["tests_dir"]]
warnings.simplefilter("always")
import test_cache_files as t
from numba_cuda_lcs import keys
from numba_cuda_lcs.backends.numba_cuda import compile as lcs_compile

path = spec["module_path"]
module_spec = importlib.util.spec_from_file_location("lcs_cache_mod", path)
module = importlib.util.module_from_spec(module_spec)
module_spec.loader.exec_module(module)


class SlowBuild(t.FakeBuild):
    def __call__(self, dispatcher, argtypes, config):
        time.sleep(spec["compile_seconds"])
        with open(spec["log"], "a") as f:
            f.write(f"{os.getpid()} {config.blockdim[0]}\n")
        return super().__call__(dispatcher, argtypes, config)


lcs_compile._build_kernel = SlowBuild(spec["mask"])
dispatcher = t.process_dispatcher(module.kern)
if spec.get("start_file"):
    open(spec["start_file"] + f".ready.{os.getpid()}", "w").close()
    while not os.path.exists(spec["start_file"]):
        time.sleep(0.002)
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    if spec.get("save_keys"):
        cache = dispatcher._cache
        cache.write_marker(keys.BLOCKDIM)
        for round_ in range(spec["rounds"]):
            for block in spec["save_keys"]:
                cache.save_for(t.SIG, t.FakeKernel(f"b{block}", True),
                               (keys.BLOCKDIM, (block, 1, 1)))
    else:
        tags = [t.tag_of(t.obtain(dispatcher, 1, b)) for b in spec["blocks"]]
hits, misses = t.hits_and_misses(dispatcher)
print("LCS-RESULT " + json.dumps({
    "hits": hits, "misses": misses,
    "warnings": [str(w.message) for w in caught if "numba-cuda-lcs" in str(w.message)],
}))
"""


@pytest.fixture
def workspace(tmp_path):
    if not installs.installed("numba_cuda"):  # the children compile with numba-cuda
        pytest.skip(installs.reason_for("numba") or "needs numba-cuda")
    src = tmp_path / "src"
    src.mkdir()
    from test_cache_files import MODULE_SOURCE

    (src / "lcs_cache_mod.py").write_text(MODULE_SOURCE)
    (tmp_path / "child.py").write_text(CHILD)
    (tmp_path / "cache").mkdir()
    return tmp_path


def env_for(workspace, **extra):
    return cluster.cache_env(workspace, **extra)


def child(workspace, *, mask=keys.BLOCKDIM, blocks=(), start_file=None, **spec_extra):
    env_extra = spec_extra.pop("env", {})
    spec = {
        "here": HERE,
        "tests_dir": TESTS_DIR,
        "module_path": str(workspace / "src" / "lcs_cache_mod.py"),
        "mask": mask,
        "blocks": list(blocks),
        "log": str(workspace / "compiles.log"),
        "compile_seconds": 0.3,
        "start_file": None if start_file is None else str(start_file),
        **spec_extra,
    }
    return cluster.spawn(workspace, spec, env_for(workspace, **env_extra))


def compiles(workspace):
    log = workspace / "compiles.log"
    return [tuple(line.split()) for line in log.read_text().splitlines()] if log.exists() else []


def together(workspace, count, **spec):
    procs = [child(workspace, start_file=workspace / "start", **spec) for _ in range(count)]
    release_together(workspace, procs)
    return [report(p) for p in procs]


def leftovers(workspace):
    found = []
    for _root, _dirs, names in os.walk(workspace / "cache"):
        found += [n for n in names if ".lock" in n or ".tmp" in n or n.endswith(".stale")]
    return found


BLOCKS = (32, 64, 96, 128)


def test_lcs_kernel_across_processes_compiles_each_configuration_once(workspace):
    reports = together(workspace, 4, blocks=BLOCKS)
    done = compiles(workspace)
    assert sorted(int(block) for _pid, block in done) == list(BLOCKS), done
    assert sum(r["misses"] for r in reports) == len(BLOCKS)
    assert sum(r["hits"] for r in reports) == len(BLOCKS) * 3
    assert leftovers(workspace) == []


def test_plain_kernel_across_processes_compiles_once(workspace):
    reports = together(workspace, 4, mask=0, blocks=(32,))
    assert len(compiles(workspace)) == 1
    assert sum(r["hits"] for r in reports) == 3


def test_without_locks_processes_compile_the_same_entries(workspace):
    reports = together(workspace, 3, blocks=(32,), env={cache_locks.TIMEOUT_ENV: "0"})
    assert len(compiles(workspace)) == 3  # what the locks save
    assert sum(r["misses"] for r in reports) == 3


def test_concurrent_saves_of_different_entries_all_stay_in_the_index(workspace):
    """Each save rewrites the function's index: without the index lock
    (NUMBA_CUDA_LCS_CACHE_LOCK_TIMEOUT=0) saves of different entries by
    processes at once lose some (seen: about one in ten here)."""
    per_process = [[4 * (j * 4 + i + 1) for j in range(40)] for i in range(4)]
    start = workspace / "start"
    procs = [
        child(workspace, start_file=start, save_keys=blocks, rounds=1) for blocks in per_process
    ]
    release_together(workspace, procs)
    for proc in procs:
        report(proc)
    everything = [b for blocks in per_process for b in blocks]
    reader = report(child(workspace, blocks=everything, compile_seconds=0))
    assert reader["misses"] == 0, "an entry was lost from the index"
    assert reader["hits"] == len(everything)
    assert leftovers(workspace) == []


def test_a_world_writable_cache_directory_is_not_loaded_from(workspace):
    report(child(workspace, blocks=(32,)))
    assert len(compiles(workspace)) == 1
    cache_dirs = [root for root, _d, names in os.walk(workspace / "cache") if names]
    for directory in cache_dirs:
        os.chmod(directory, os.stat(directory).st_mode | stat.S_IWOTH)
    before = sorted(os.listdir(cache_dirs[0]))
    refused = report(child(workspace, blocks=(32, 64)))
    assert (refused["hits"], refused["misses"]) == (0, 2)
    assert len(compiles(workspace)) == 3  # compiled instead of loaded
    assert sorted(os.listdir(cache_dirs[0])) == before  # nothing saved or locked
    [warning] = [w for w in refused["warnings"] if "not loading" in w]
    assert cache_dirs[0] in warning and "chmod o-w" in warning
    trusted = report(child(workspace, blocks=(32,), env={cache_trust.TRUST_ENV: "any"}))
    assert trusted["hits"] == 1


def test_a_world_writable_entry_is_not_loaded(workspace):
    report(child(workspace, blocks=(32,)))
    [data] = [
        os.path.join(root, n)
        for root, _d, names in os.walk(workspace / "cache")
        for n in names
        if n.endswith(".nbc")
    ]
    os.chmod(data, 0o666)
    refused = report(child(workspace, blocks=(32,)))
    assert refused["hits"] == 0
    assert any(data in w and "chmod o-w" in w for w in refused["warnings"])


# ---------------------------------------------------------------------------
# Who is trusted (no processes needed)
# ---------------------------------------------------------------------------


class Stat:
    def __init__(self, mode, uid, gid):
        self.st_mode, self.st_uid, self.st_gid = mode, uid, gid


ME, OTHER, MY_GROUP, OTHER_GROUP = 1000, 1001, 100, 200


@pytest.mark.parametrize(
    "mode, uid, gid, level, trusted",
    [
        (0o40755, ME, MY_GROUP, "owner", True),
        (0o40775, ME, MY_GROUP, "owner", True),  # the owner's group may write
        (0o40777, ME, MY_GROUP, "owner", False),  # everyone may write
        (0o41777, ME, MY_GROUP, "group", False),  # sticky does not help
        (0o100666, ME, MY_GROUP, "owner", False),
        (0o40755, 0, 0, "owner", True),  # root's
        (0o40755, OTHER, MY_GROUP, "owner", False),  # another user's
        (0o42770, OTHER, MY_GROUP, "group", True),  # a group cache
        (0o42770, OTHER, OTHER_GROUP, "group", False),  # not my group
        (0o42777, OTHER, MY_GROUP, "group", False),
    ],
)
def test_who_is_trusted(mode, uid, gid, level, trusted):
    found = cache_trust.problem("/c", Stat(mode, uid, gid), level, uid=ME, groups={MY_GROUP})
    assert (found is None) == trusted, found
    if found is not None:
        assert "Fix:" in found and "/c" in found


def test_the_trust_level_comes_from_the_environment(monkeypatch):
    cache_trust._warned.clear()
    monkeypatch.delenv(cache_trust.TRUST_ENV, raising=False)
    assert cache_trust.level() == "owner"
    for value in ("group", "ANY", " owner "):
        monkeypatch.setenv(cache_trust.TRUST_ENV, value)
        assert cache_trust.level() == value.strip().lower()
    monkeypatch.setenv(cache_trust.TRUST_ENV, "everyone")
    with pytest.warns(RuntimeWarning, match=cache_trust.TRUST_ENV):
        assert cache_trust.level() == "owner"


def test_a_directory_owned_by_another_user(tmp_path, monkeypatch):
    if os.geteuid() != 0:
        pytest.skip("needs root to give a directory to another user")
    cache_trust._warned.clear()
    directory = tmp_path / "shared"
    directory.mkdir(mode=0o770)
    os.chown(directory, 4242, os.getegid())
    # root's processes trust everything root owns; act as another user.
    monkeypatch.setattr(os, "geteuid", lambda: 5151)
    monkeypatch.delenv(cache_trust.TRUST_ENV, raising=False)
    assert "another user" in cache_trust.untrusted(str(directory), "k.")
    monkeypatch.setenv(cache_trust.TRUST_ENV, "group")
    assert cache_trust.untrusted(str(directory), "k.") is None
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert cache_trust.trusted(str(directory), "k.", "kern")
