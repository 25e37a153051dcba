# Sourced by the GPU scripts (gpu-lanes.sh, gpu-cluster.sh): unpacks what was
# carried into /tmp/lcs-site (numba-cuda-mlir and numpy<2.5 from .mlir/, see
# ../shared/gpu-mlir-carry.sh; wheels from .whl/), puts it on PYTHONPATH, and
# makes the carried numpy the environment's own too: a child process whose
# working directory is site-packages (our subprocess tests run there) puts
# that directory before PYTHONPATH and would import the machine's numpy 2.5,
# which numba-cuda 0.30 cannot use.  Needs $PY; appends to $SUMMARY if set.
LCS_SITE=/tmp/lcs-site
mkdir -p "$LCS_SITE"
if compgen -G ".mlir/*.tar.xz" > /dev/null; then
  for f in .mlir/*.tar.xz; do tar -xJf "$f" -C "$LCS_SITE"; done
fi
if compgen -G ".whl/*.whl" > /dev/null; then
  $PY -m pip install -q --no-index --no-deps --target "$LCS_SITE" .whl/*.whl
fi
export PYTHONPATH=$LCS_SITE${PYTHONPATH:+:$PYTHONPATH}
_site=$($PY -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
if compgen -G "$LCS_SITE/numpy-*.dist-info" > /dev/null && [ -w "$_site" ]; then
  rm -rf "$_site"/numpy "$_site"/numpy-*.dist-info "$_site"/numpy.libs
  cp -a "$LCS_SITE"/numpy "$LCS_SITE"/numpy-*.dist-info "$_site"/
  [ -d "$LCS_SITE"/numpy.libs ] && cp -a "$LCS_SITE"/numpy.libs "$_site"/
  echo "numpy in $_site: $(cd /tmp && $PY -c 'import numpy; print(numpy.__version__)')" \
    | tee -a "${SUMMARY:-/dev/null}"
fi
