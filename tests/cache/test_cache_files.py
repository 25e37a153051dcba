"""The disk cache's files, without a GPU.

``LCSCache`` is exercised on real files in a temporary ``NUMBA_CACHE_DIR``:
index keys, the ``.lcs`` marker (format, atomic replacement, damage), damaged
index and data files, and the compile path's use of all of it
(``backends.numba_cuda.compile._obtain_kernel``) with a stand-in for code
generation, so the logic that decides what is loaded, compiled, saved and
marked is checked on CPU-only CI.

What needs a GPU is replaced by stand-ins that change nothing else: a codegen
whose ``magic_tuple()`` is fixed (numba-cuda's asks the driver), a target
context whose ``refresh()`` does nothing, and kernels whose serialized state is
what ``_Kernel._rebuild`` takes, tagged so that a load shows *which* entry it
found.  Entries go through numba-cuda's own index and data files.
"""

import errno
import importlib.util
import json
import os
import stat
import threading
import warnings

import pytest
from numba import cuda
from numba.cuda import dispatcher as nb_dispatcher
from numba.cuda import types
from numba.cuda.core import caching as nb_caching
from numba.cuda.core import config as nb_config

from numba_cuda_lcs import __version__, disk_cache, keys
from numba_cuda_lcs.backends.numba_cuda import compile as lcs_compile
from numba_cuda_lcs.backends.numba_cuda import records, routing
from numba_cuda_lcs.backends.numba_cuda.cache import LCSCache

StockCUDACache = nb_dispatcher.CUDACache

SIG = (types.int64[::1],)
KEY32 = (keys.BLOCKDIM, (32, 1, 1))
KEY64 = (keys.BLOCKDIM, (64, 1, 1))
KEY96 = (keys.BLOCKDIM, (96, 1, 1))
KEY128 = (keys.BLOCKDIM, (128, 1, 1))

MODULE_SOURCE = """\
from numba import cuda


def kern(out):
    out[0] = 987654321


def other(out):
    out[0] = 1


@cuda.jit(cache=True)
def cached_kernel(out):
    out[0] = 987654321
"""


# --------------------------------------------------------------------------
# Stand-ins for what needs a GPU
# --------------------------------------------------------------------------


class StubCodegen:
    def magic_tuple(self):
        return ("nvptx64-nvidia-cuda", "sm_90", "")


class StubTargetContext:
    def refresh(self):
        pass

    def codegen(self):
        return StubCodegen()


class FakeKernel:
    """Serializes like a ``_Kernel``; the tag comes back as ``entry_name``."""

    codegen = StubCodegen()
    _lcs = None  # as on a _Kernel we never tagged

    def __init__(self, tag, sensitive=False):
        self.tag = self.entry_name = tag
        self.launch_config_sensitive = sensitive

    def _reduce_states(self):
        return dict(
            cooperative=False,
            name=self.tag,
            signature=None,
            codelibrary=self.tag,
            debug=False,
            lineinfo=False,
            call_helper=None,
            extensions=[],
            shared_memory_carveout=None,
            launch_config_sensitive=self.launch_config_sensitive,
        )


class UnpicklableKernel(FakeKernel):
    """A kernel numba-cuda refuses to serialize (e.g. it has link files)."""

    def _reduce_states(self):
        raise RuntimeError("Cannot pickle CUDACodeLibrary with linking files")


# --------------------------------------------------------------------------
# Fixtures and helpers
# --------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _quiet_numba_performance_warnings():
    from numba.cuda.core.errors import NumbaPerformanceWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NumbaPerformanceWarning)
        yield


@pytest.fixture
def cache_dir(tmp_path, monkeypatch):
    """numba-cuda's user-provided cache directory (``NUMBA_CACHE_DIR``)."""
    path = tmp_path / "numba-cache"
    monkeypatch.setattr(nb_config, "CACHE_DIR", str(path))
    return path


@pytest.fixture
def mod(tmp_path, cache_dir):
    """A module in a real source file (the cache locators need one)."""
    src = tmp_path / "src"
    src.mkdir()
    path = src / "lcs_cache_mod.py"
    path.write_text(MODULE_SOURCE)
    spec = importlib.util.spec_from_file_location(f"lcs_cache_mod_{id(path)}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def load(cache, launch_key):
    return cache.load_for(SIG, StubTargetContext(), launch_key)


def tag_of(kernel):
    return None if kernel is None else kernel.entry_name


def index_keys(cache):
    return list(cache._cache_file._load_index())


def lcs_extras(cache):
    """The numba-cuda-lcs part of every index key (None for plain entries)."""
    found = []
    for key in index_keys(cache):
        last = key[-1]
        is_ours = isinstance(last, tuple) and last[:1] == ("numba-cuda-lcs",)
        found.append(last if is_ours else None)
    return found


def leftover_temporaries(directory):
    return [name for name in os.listdir(directory) if ".tmp" in name]


def marker_json(cache):
    with open(cache.marker_path, "rb") as f:
        return json.loads(f.read().decode("utf-8"))


# --------------------------------------------------------------------------
# Keys
# --------------------------------------------------------------------------


def test_index_extra_is_none_for_plain_kernels_and_tagged_otherwise():
    assert disk_cache.index_extra(None) is None
    assert disk_cache.index_extra(KEY32) == ("numba-cuda-lcs", __version__, KEY32)


def test_saved_key_round_trip_and_entries_written_by_0_1_0():
    payload = disk_cache.with_saved_key({"cubin": b"x"}, KEY32)
    assert disk_cache.split_saved_key(payload) == ({"cubin": b"x"}, KEY32)
    assert disk_cache.with_saved_key({"cubin": b"x"}, None) == {"cubin": b"x"}
    # 0.1.0 stored the key under another name: it is read, and never left
    # in the payload for numba-cuda's _Kernel._rebuild(**payload) to choke on.
    assert disk_cache.split_saved_key({"cubin": b"x", "_lcs_saved_key": KEY64}) == (
        {"cubin": b"x"},
        KEY64,
    )


def test_plain_index_key_is_numba_cudas_and_lcs_keys_append_the_extra(mod):
    ours, stock = LCSCache(mod.kern), StockCUDACache(mod.kern)
    codegen = StubCodegen()
    plain = stock._index_key(SIG, codegen)
    assert ours._index_key(SIG, codegen) == plain

    ours.lcs_launch_key = KEY32
    keyed32 = ours._index_key(SIG, codegen)
    assert keyed32 == plain + (("numba-cuda-lcs", __version__, KEY32),)
    ours.lcs_launch_key = KEY64
    assert ours._index_key(SIG, codegen) not in (plain, keyed32)

    # numba-cuda's own launch-config keys never collide with ours.
    stock.set_launch_config_key(KEY32)
    assert stock._index_key(SIG, codegen) != keyed32


def test_load_and_save_leave_the_key_plain_afterwards(mod):
    cache = LCSCache(mod.kern)
    cache.save_for(SIG, FakeKernel("b32", True), KEY32)
    assert cache.lcs_launch_key is None
    load(cache, KEY32)
    assert cache.lcs_launch_key is None
    with open(cache._cache_file._index_path, "wb") as f:
        f.write(b"garbage")
    with pytest.warns(RuntimeWarning):
        assert load(cache, KEY32) is None
    assert cache.lcs_launch_key is None  # even when loading failed
    assert cache._index_key(SIG, StubCodegen()) == StockCUDACache(mod.kern)._index_key(
        SIG, StubCodegen()
    )


def test_entries_are_kept_apart_per_launch_key_and_from_plain_entries(mod):
    writer = LCSCache(mod.kern)
    writer.save_for(SIG, FakeKernel("b32", True), KEY32)
    writer.save_for(SIG, FakeKernel("b64", True), KEY64)
    writer.save_for(SIG, FakeKernel("plain"), None)

    reader = LCSCache(mod.kern)  # as another process would
    assert tag_of(load(reader, KEY32)) == "b32"
    assert tag_of(load(reader, KEY64)) == "b64"
    assert tag_of(load(reader, None)) == "plain"
    assert load(reader, KEY128) is None
    # A key of other fields with the same values is another key.
    assert load(reader, (keys.GRIDDIM, (32, 1, 1))) is None
    assert load(reader, KEY32).launch_config_sensitive is True
    assert load(reader, None).launch_config_sensitive is False

    base = reader._impl.filename_base
    assert sorted(os.listdir(reader.cache_path)) == sorted(
        [f"{base}.nbi"] + [f"{base}.{n}.nbc" for n in (1, 2, 3)]
    )
    assert sorted(lcs_extras(reader), key=repr) == sorted(
        [None] + [("numba-cuda-lcs", __version__, k) for k in (KEY32, KEY64)], key=repr
    )


def test_entries_of_another_package_version_are_not_reused(mod, monkeypatch):
    cache = LCSCache(mod.kern)
    monkeypatch.setattr(disk_cache, "LCS_VERSION", "0.0.1-older")
    cache.save_for(SIG, FakeKernel("old", True), KEY32)
    assert tag_of(load(cache, KEY32)) == "old"
    monkeypatch.undo()
    assert load(cache, KEY32) is None


# --------------------------------------------------------------------------
# The marker
# --------------------------------------------------------------------------


def test_marker_sits_beside_the_index_where_numba_cuda_puts_its_own(mod):
    cache = LCSCache(mod.kern)
    base = cache._impl.filename_base
    assert cache.marker_path == os.path.join(cache.cache_path, f"{base}.lcs")
    assert cache._cache_file._index_path == os.path.join(cache.cache_path, f"{base}.nbi")
    assert cache.marker_path == StockCUDACache(mod.kern)._launch_config_marker_path
    # NUMBA_CACHE_DIR is honoured.
    assert cache.cache_path.startswith(nb_config.CACHE_DIR)


def test_no_marker_reads_as_none(mod):
    assert LCSCache(mod.kern).read_marker() is None


@pytest.mark.parametrize("mask", range(1, keys.ALL_FIELDS + 1))
def test_marker_round_trip(mod, mask):
    writer = LCSCache(mod.kern)
    assert writer.write_marker(mask) is True
    assert marker_json(writer) == {
        "numba_cuda_lcs": __version__,
        "fields": list(keys.mask_to_fields(mask)),
    }
    assert writer.read_marker() == mask
    assert LCSCache(mod.kern).read_marker() == mask  # another process
    assert leftover_temporaries(writer.cache_path) == []


def test_marker_is_per_function(mod):
    LCSCache(mod.kern).write_marker(keys.BLOCKDIM)
    assert LCSCache(mod.other).read_marker() is None


def test_marker_is_replaced_atomically(mod, monkeypatch):
    cache = LCSCache(mod.kern)
    cache.write_marker(keys.GRIDDIM)
    calls = []
    real_replace = os.replace

    def observing_replace(src, dst, *args, **kwargs):
        with open(src, "rb") as f:
            staged = f.read()
        with open(dst, "rb") as f:
            before = f.read()
        calls.append((os.fspath(src), os.fspath(dst), staged, before))
        return real_replace(src, dst, *args, **kwargs)

    monkeypatch.setattr(os, "replace", observing_replace)
    assert cache.write_marker(keys.BLOCKDIM | keys.SHAREDMEM)
    monkeypatch.undo()

    assert len(calls) == 1
    src, dst, staged, before = calls[0]
    assert dst == cache.marker_path
    assert src != dst
    assert os.path.dirname(src) == os.path.dirname(dst)  # same file system
    # The new content was complete before it replaced the old one, and the
    # old one was intact until then.
    assert json.loads(staged)["fields"] == ["blockdim", "sharedmem"]
    assert json.loads(before)["fields"] == ["griddim"]
    assert not os.path.exists(src)
    assert leftover_temporaries(cache.cache_path) == []
    assert cache.read_marker() == keys.BLOCKDIM | keys.SHAREDMEM


def test_concurrent_writers_never_show_readers_a_partial_marker(mod):
    written = (keys.GRIDDIM, keys.BLOCKDIM, keys.SHAREDMEM, keys.GRIDDIM | keys.BLOCKDIM)
    LCSCache(mod.kern).write_marker(keys.BLOCKDIM)
    done = threading.Event()
    seen, failures = [], []

    def writer(mask):
        cache = LCSCache(mod.kern)  # one per writer, as in separate processes
        try:
            for _ in range(100):
                if not cache.write_marker(mask):
                    failures.append(mask)
        except BaseException as exc:  # pragma: no cover - reported below
            failures.append(exc)

    def reader():
        cache = LCSCache(mod.kern)
        while not done.is_set():
            seen.append(cache.read_marker())

    writers = [threading.Thread(target=writer, args=(m,)) for m in written]
    readers = [threading.Thread(target=reader) for _ in range(4)]
    for t in readers + writers:
        t.start()
    for t in writers:
        t.join()
    done.set()
    for t in readers:
        t.join()

    assert failures == []
    assert seen
    # ALL_FIELDS (what a partial or empty file reads as) was never written.
    assert set(seen) <= set(written)
    assert leftover_temporaries(LCSCache(mod.kern).cache_path) == []
    assert LCSCache(mod.kern).read_marker() in written


def _valid_marker_bytes():
    return json.dumps({"numba_cuda_lcs": __version__, "fields": ["blockdim"]}).encode()


@pytest.mark.parametrize(
    "content",
    [
        pytest.param(b"", id="empty-numba-cuda-marker"),
        pytest.param(_valid_marker_bytes()[:-5], id="truncated"),
        pytest.param(b"{", id="brace"),
        pytest.param(b"not json at all", id="text"),
        pytest.param(b"\xff\xfe\x00garbage", id="binary"),
        pytest.param(b"[1, 2]", id="json-list"),
        pytest.param(b'{"numba_cuda_lcs": "0.1.0"}', id="no-fields"),
        pytest.param(b'{"fields": []}', id="no-field-named"),
        pytest.param(b'{"fields": ["threads"]}', id="unknown-field"),
        pytest.param(b'{"fields": 7}', id="fields-not-names"),
    ],
)
def test_unparsable_marker_counts_as_all_fields(mod, content):
    cache = LCSCache(mod.kern)
    os.makedirs(cache.cache_path, exist_ok=True)
    with open(cache.marker_path, "wb") as f:
        f.write(content)
    assert cache.read_marker() == keys.ALL_FIELDS


def test_numba_cudas_own_marker_counts_as_all_fields(mod):
    stock = StockCUDACache(mod.kern)
    assert stock.mark_launch_config_sensitive()
    assert LCSCache(mod.kern).read_marker() == keys.ALL_FIELDS


def test_unreadable_marker_counts_as_all_fields(mod):
    cache = LCSCache(mod.kern)
    os.makedirs(cache.marker_path)  # a directory where the file should be
    assert cache.read_marker() == keys.ALL_FIELDS


def test_failed_marker_replace_leaves_no_temporary(mod):
    cache = LCSCache(mod.kern)
    os.makedirs(cache.marker_path)  # os.replace onto a directory fails
    assert cache.write_marker(keys.BLOCKDIM) is False
    assert leftover_temporaries(cache.cache_path) == []
    assert os.path.isdir(cache.marker_path)


def test_marker_write_fails_when_the_cache_directory_cannot_be_created(mod):
    cache = LCSCache(mod.kern)
    os.rmdir(cache.cache_path)
    with open(cache.cache_path, "w") as f:  # a file where the directory should be
        f.write("not a directory")
    assert cache.write_marker(keys.BLOCKDIM) is False


def test_marker_write_fails_when_the_directory_is_not_writable(mod, monkeypatch):
    cache = LCSCache(mod.kern)

    def refuse():
        raise PermissionError(errno.EACCES, "Permission denied", cache.cache_path)

    monkeypatch.setattr(cache._impl.locator, "ensure_cache_path", refuse)
    assert cache.write_marker(keys.BLOCKDIM) is False
    assert cache.read_marker() is None


def test_marker_write_fails_on_a_full_disk_and_cleans_up(mod, monkeypatch):
    cache = LCSCache(mod.kern)
    real_open = open

    class FullDisk:
        def __init__(self, path, mode):
            self._f = real_open(path, mode)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self._f.close()

        def write(self, data):
            self._f.write(data[:3])
            self._f.flush()
            raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(disk_cache, "open", FullDisk, raising=False)
    assert cache.write_marker(keys.BLOCKDIM) is False
    monkeypatch.undo()
    assert leftover_temporaries(cache.cache_path) == []
    assert not os.path.exists(cache.marker_path)


def test_marker_write_fails_in_a_read_only_directory(mod):
    cache = LCSCache(mod.kern)
    path = cache.cache_path
    mode = os.stat(path).st_mode
    os.chmod(path, stat.S_IRUSR | stat.S_IXUSR)  # 0o500
    try:
        probe = os.path.join(path, "probe")
        try:
            with open(probe, "w"):
                pass
        except OSError:
            pass
        else:
            os.unlink(probe)
            pytest.skip("chmod 0o500 does not stop this user writing (root)")
        assert cache.write_marker(keys.BLOCKDIM) is False
        assert cache.read_marker() is None
    finally:
        os.chmod(path, mode)


# --------------------------------------------------------------------------
# Damaged index and data files
# --------------------------------------------------------------------------


def _truncated_index(cache):
    cache.save_for(SIG, FakeKernel("b32", True), KEY32)
    with open(cache._cache_file._index_path, "rb") as f:
        whole = f.read()
    return whole[: len(whole) // 2]


@pytest.mark.parametrize("damage", ["empty", "garbage", "truncated"])
def test_unreadable_index_is_ignored_with_a_warning(mod, damage):
    cache = LCSCache(mod.kern)
    content = {
        "empty": b"",
        "garbage": b"garbage",
        "truncated": _truncated_index(cache) if damage == "truncated" else None,
    }[damage]
    os.makedirs(cache.cache_path, exist_ok=True)
    with open(cache._cache_file._index_path, "wb") as f:
        f.write(content)
    # numba-cuda itself raises here.
    with pytest.raises(Exception):  # noqa: B017  (whatever numba-cuda raises)
        cache.load_overload(SIG, StubTargetContext())
    with pytest.warns(RuntimeWarning, match="ignoring unreadable cache entry") as record:
        assert load(cache, KEY32) is None
    assert cache.cache_path in str(record[0].message)
    with pytest.warns(RuntimeWarning, match="ignoring unreadable cache entry"):
        assert load(cache, None) is None


def test_unreadable_data_file_is_ignored_with_a_warning(mod):
    cache = LCSCache(mod.kern)
    cache.save_for(SIG, FakeKernel("b32", True), KEY32)
    data = os.path.join(cache.cache_path, f"{cache._impl.filename_base}.1.nbc")
    with open(data, "r+b") as f:
        f.truncate(os.path.getsize(data) // 2)
    with pytest.warns(RuntimeWarning, match="ignoring unreadable cache entry"):
        assert load(cache, KEY32) is None


def test_save_rewrites_an_unreadable_index(mod):
    cache = LCSCache(mod.kern)
    content = _truncated_index(cache)
    with open(cache._cache_file._index_path, "wb") as f:
        f.write(content)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        cache.save_for(SIG, FakeKernel("b64", True), KEY64)
        # The index is readable again: loads find the new entry, silently.
        assert tag_of(load(LCSCache(mod.kern), KEY64)) == "b64"
        assert load(LCSCache(mod.kern), KEY32) is None


def test_save_checks_the_index_and_flushes_only_an_unreadable_one(mod, monkeypatch):
    cache = LCSCache(mod.kern)
    cache.save_for(SIG, FakeKernel("b32", True), KEY32)
    flushes = []
    real_flush = cache._cache_file.flush
    monkeypatch.setattr(cache._cache_file, "flush", lambda: (flushes.append(1), real_flush()))
    # A readable index is kept: both entries survive.
    cache.save_for(SIG, FakeKernel("b64", True), KEY64)
    assert flushes == []
    assert tag_of(load(cache, KEY32)) == "b32" and tag_of(load(cache, KEY64)) == "b64"
    # An unreadable one is started afresh, then the entry is saved.
    with open(cache._cache_file._index_path, "wb") as f:
        f.write(_truncated_index(cache))
    cache.save_for(SIG, FakeKernel("b96", True), KEY96)
    assert flushes == [1]
    assert tag_of(load(cache, KEY96)) == "b96"


def test_save_that_cannot_write_warns_and_does_not_raise(mod, monkeypatch):
    cache = LCSCache(mod.kern)

    def refuse():
        raise PermissionError(errno.EACCES, "Permission denied", cache.cache_path)

    monkeypatch.setattr(cache._impl.locator, "ensure_cache_path", refuse)
    with pytest.warns(RuntimeWarning, match="cannot write the disk cache") as record:
        cache.save_for(SIG, FakeKernel("b32", True), KEY32)
    assert cache.cache_path in str(record[0].message)
    assert cache.lcs_launch_key is None
    assert load(cache, KEY32) is None


def test_an_lcs_kernel_that_cannot_be_serialized_stays_in_memory(mod):
    """numba-cuda cannot serialize kernels with link files; an LC-S one keeps
    working in memory (one warning) and the function's other entries stay."""
    cache = LCSCache(mod.kern)
    cache.save_for(SIG, FakeKernel("b32", True), KEY32)
    with pytest.warns(RuntimeWarning, match="cannot be disk-cached"):
        cache.save_for(SIG, UnpicklableKernel("linked", True), KEY64)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # warned once per cache
        cache.save_for(SIG, UnpicklableKernel("linked", True), KEY96)
    assert tag_of(load(LCSCache(mod.kern), KEY32)) == "b32"
    assert load(LCSCache(mod.kern), KEY64) is None


def test_a_plain_kernel_that_cannot_be_serialized_fails_as_in_numba_cuda(mod):
    cache = LCSCache(mod.kern)
    with pytest.raises(RuntimeError, match="Cannot pickle CUDACodeLibrary"):
        cache.save_for(SIG, UnpicklableKernel("linked", False), None)


def test_interleaved_saves_by_two_processes_never_serve_another_configuration(mod):
    a, b = LCSCache(mod.kern), LCSCache(mod.kern)
    b_loaded, a_index_saved, b_data_saved = (threading.Event() for _ in range(3))

    def wrap(cache, name, before=None, after=None):
        real = getattr(cache._cache_file, name)

        def wrapper(*args):
            if before is not None:
                before.wait(2)  # a locking fix would never set it: go on
            result = real(*args)
            if after is not None:
                after()
            return result

        setattr(cache._cache_file, name, wrapper)

    # The interleaving: A reads the index, B reads it, A writes the index,
    # B writes the index, B writes its data, A writes its data.
    wrap(a, "_load_index", after=lambda: b_loaded.wait(2))
    wrap(b, "_load_index", after=b_loaded.set)
    wrap(a, "_save_index", after=a_index_saved.set)
    wrap(b, "_save_index", before=a_index_saved)
    wrap(b, "_save_data", after=b_data_saved.set)
    wrap(a, "_save_data", before=b_data_saved)

    thread = threading.Thread(target=b.save_for, args=(SIG, FakeKernel("b64", True), KEY64))
    thread.start()
    a.save_for(SIG, FakeKernel("b32", True), KEY32)
    thread.join(30)

    reader = LCSCache(mod.kern)
    for key, tag in ((KEY32, "b32"), (KEY64, "b64")):
        assert tag_of(load(reader, key)) in (None, tag)


# --------------------------------------------------------------------------
# The compile path: what is loaded, compiled, saved and marked
# --------------------------------------------------------------------------


class FakeBuild:
    """Stands in for ``_build_kernel``: a 'compilation' that marks *mask*."""

    def __init__(self, mask):
        self.mask = mask
        self.calls = []

    def __call__(self, dispatcher, argtypes, config):
        self.calls.append(config.blockdim if config is not None else None)
        tag = f"b{config.blockdim[0]}" if self.mask else "plain"
        kernel = FakeKernel(tag)
        lcs_compile._tag(kernel, self.mask, config)
        return kernel


def process_dispatcher(py_func):
    """The dispatcher another process would have for *py_func*: fresh memory,
    the same disk cache."""
    dispatcher = cuda.jit(cache=True)(py_func)
    dispatcher.targetctx = StubTargetContext()
    return dispatcher


def obtain(dispatcher, grid, block, root=None):
    root = dispatcher if root is None else root
    config = root[grid, block]
    return lcs_compile._obtain_kernel(dispatcher, root, SIG, SIG, config)


def hits_and_misses(dispatcher):
    return sum(dispatcher._cache_hits.values()), sum(dispatcher._cache_misses.values())


def test_cache_true_dispatchers_and_their_specializations_share_one_lcs_cache(mod):
    root = mod.cached_kernel
    assert type(root._cache) is LCSCache
    child = routing._new_child(root, records.Routing(), KEY64, root[1, 64])
    assert type(child._cache) is LCSCache
    assert child._cache.marker_path == root._cache.marker_path
    assert child._cache._cache_file._index_path == root._cache._cache_file._index_path
    assert root._launch_config_specializations[KEY64] is child


def test_lcs_compile_marks_the_function_and_keys_its_entry(mod, monkeypatch):
    build = FakeBuild(keys.BLOCKDIM)
    monkeypatch.setattr(lcs_compile, "_build_kernel", build)
    first = process_dispatcher(mod.kern)
    kernel = obtain(first, 1, 32)
    assert build.calls == [(32, 1, 1)]
    assert hits_and_misses(first) == (0, 1)
    assert kernel._lcs.key == KEY32
    cache = first._cache
    assert marker_json(cache) == {"numba_cuda_lcs": __version__, "fields": ["blockdim"]}
    assert lcs_extras(cache) == [("numba-cuda-lcs", __version__, KEY32)]
    assert leftover_temporaries(cache.cache_path) == []


def test_other_processes_load_their_configuration_and_compile_new_ones(mod, monkeypatch):
    build = FakeBuild(keys.BLOCKDIM)
    monkeypatch.setattr(lcs_compile, "_build_kernel", build)
    obtain(process_dispatcher(mod.kern), 1, 32)  # process A
    second = process_dispatcher(mod.kern)  # process B
    assert tag_of(obtain(second, 1, 64)) == "b64"
    assert build.calls == [(32, 1, 1), (64, 1, 1)]
    assert hits_and_misses(second) == (0, 1)

    build.calls.clear()
    third = process_dispatcher(mod.kern)  # process C
    loaded = obtain(third, 1, 32)
    assert build.calls == []
    assert hits_and_misses(third) == (1, 0)
    assert tag_of(loaded) == "b32"
    assert loaded.launch_config_sensitive
    assert (loaded._lcs.mask, loaded._lcs.key) == (keys.BLOCKDIM, KEY32)
    # A block-only kernel serves every grid size from the same entry...
    assert tag_of(obtain(process_dispatcher(mod.kern), 7, 32)) == "b32"
    # ...and a new block size compiles.
    assert tag_of(obtain(third, 1, 128)) == "b128"
    assert build.calls == [(128, 1, 1)]
    assert len(index_keys(third._cache)) == 3


def test_plain_kernels_use_numba_cudas_entry_and_write_no_marker(mod, monkeypatch):
    build = FakeBuild(0)
    monkeypatch.setattr(lcs_compile, "_build_kernel", build)
    first = process_dispatcher(mod.kern)
    obtain(first, 1, 32)
    assert hits_and_misses(first) == (0, 1)
    assert not os.path.exists(first._cache.marker_path)
    assert lcs_extras(first._cache) == [None]
    assert index_keys(first._cache) == [StockCUDACache(mod.kern)._index_key(SIG, StubCodegen())]

    second = process_dispatcher(mod.kern)
    assert tag_of(obtain(second, 4, 256)) == "plain"
    assert hits_and_misses(second) == (1, 0)
    assert build.calls == [(32, 1, 1)]


def test_lcs_entry_without_a_marker_is_recompiled_and_remarked(mod, monkeypatch):
    build = FakeBuild(keys.BLOCKDIM)
    monkeypatch.setattr(lcs_compile, "_build_kernel", build)
    first = process_dispatcher(mod.kern)
    obtain(first, 1, 32)
    os.unlink(first._cache.marker_path)
    # An unkeyed LC-S entry too, as a writer that did not key it would leave.
    first._cache.save_for(SIG, FakeKernel("unkeyed", True), None)

    second = process_dispatcher(mod.kern)
    kernel = obtain(second, 1, 32)
    assert build.calls == [(32, 1, 1), (32, 1, 1)]
    assert tag_of(kernel) == "b32" and kernel._lcs.key == KEY32
    assert hits_and_misses(second) == (0, 1)
    assert marker_json(second._cache)["fields"] == ["blockdim"]


def test_unparsable_marker_never_shares_entries_across_configurations(mod, monkeypatch):
    build = FakeBuild(keys.BLOCKDIM)
    monkeypatch.setattr(lcs_compile, "_build_kernel", build)
    first = process_dispatcher(mod.kern)
    obtain(first, 1, 32)
    with open(first._cache.marker_path, "wb") as f:
        f.write(b"{")
    second = process_dispatcher(mod.kern)
    obtain(second, 2, 32)  # keyed by every field now: another grid is a miss
    assert build.calls == [(32, 1, 1), (32, 1, 1)]
    assert tag_of(obtain(process_dispatcher(mod.kern), 2, 32)) == "b32"
    assert len(build.calls) == 2


def test_caching_enabled_before_install_is_upgraded(mod, monkeypatch):
    monkeypatch.setattr(lcs_compile, "_build_kernel", FakeBuild(keys.BLOCKDIM))
    dispatcher = process_dispatcher(mod.kern)
    dispatcher._cache = StockCUDACache(mod.kern)
    obtain(dispatcher, 1, 32)
    assert type(dispatcher._cache) is LCSCache
    assert LCSCache(mod.kern).read_marker() == keys.BLOCKDIM


def test_unwritable_marker_disables_the_disk_cache_once(mod, monkeypatch):
    build = FakeBuild(keys.BLOCKDIM)
    monkeypatch.setattr(lcs_compile, "_build_kernel", build)
    monkeypatch.setattr(LCSCache, "write_marker", lambda self, mask: False)
    root = process_dispatcher(mod.kern)
    cache = root._cache
    child = routing._new_child(root, records.Routing(), KEY64, root[1, 64])
    child.targetctx = StubTargetContext()

    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        kernel = obtain(root, 1, 32)
        obtain(child, 1, 64, root=root)
        obtain(root, 1, 96)
    ours = [w for w in record if "numba-cuda-lcs" in str(w.message)]
    assert len(ours) == 1
    assert issubclass(ours[0].category, RuntimeWarning)
    message = str(ours[0].message)
    assert repr(root.__name__) in message and repr(cache.cache_path) in message
    assert kernel._lcs.key == KEY32  # still compiled, in memory
    assert build.calls == [(32, 1, 1), (64, 1, 1), (96, 1, 1)]
    for dispatcher in (root, child):
        assert isinstance(dispatcher._cache, nb_caching.NullCache)
    assert not os.path.exists(cache._cache_file._index_path)


def test_disable_disk_cache_warns_naming_the_kernel_and_directory(mod):
    root = mod.cached_kernel
    cache = root._cache
    children = [
        routing._new_child(root, records.Routing(), key, root[1, key[1][0]])
        for key in (KEY64, KEY128)
    ]
    # A child being compiled before it is registered (lazy specialize()).
    pending = cuda.jit(cache=True)(root.py_func)
    with pytest.warns(RuntimeWarning) as record:
        lcs_compile._disable_disk_cache(pending, root, cache)
    assert len(record) == 1
    message = str(record[0].message)
    assert "'cached_kernel'" in message
    assert repr(cache.cache_path) in message
    assert "disk caching is disabled" in message
    for dispatcher in (root, *children, pending):
        assert isinstance(dispatcher._cache, nb_caching.NullCache)
        assert dispatcher.stats.cache_path is None
    # Specializations created afterwards do not cache either.
    later = routing._new_child(root, records.Routing(), KEY32, root[1, 32])
    assert isinstance(later._cache, nb_caching.NullCache)
