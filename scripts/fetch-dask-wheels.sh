#!/usr/bin/env bash
# Downloads, into .whl/ of the project checkout (git-ignored), the wheels the
# offline GPU machine needs for dask.distributed (examples/dask_cluster_cache.py
# and its test in tests/cluster/test_cluster_gpu.py) beyond what it has
# (cloudpickle, toolz, fsspec, msgpack, psutil, pyyaml, jinja2, click,
# sortedcontainers, packaging, urllib3): 7 wheels, about 3 MB.
# Python 3.12, x86_64.  Install there with:
#   python3 -m pip install -q --no-index --no-deps --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site
set -eu
top=$(git rev-parse --show-toplevel)
cd "$top"
excl="$(git rev-parse --git-common-dir)/info/exclude"
mkdir -p "$(dirname "$excl")"
grep -qxF '/.whl/' "$excl" 2>/dev/null || echo '/.whl/' >> "$excl"
mkdir -p .whl
python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 \
  --implementation cp --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 \
  -d .whl "dask==2026.8.0" "distributed==2026.8.0" "tornado==6.6.1" "tblib==3.2.2" \
  "zict==3.0.0" "partd==1.4.2" "locket==1.0.0"
ls -la .whl
