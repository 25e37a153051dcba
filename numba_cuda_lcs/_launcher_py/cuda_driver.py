"""The CUDA driver calls of the pure-Python twin (twin of
``_launcher_c/cuda_driver.h/.c``): through ``cuda.bindings.driver``,
imported on first use, so importing the twin needs no driver."""


class LaunchError(RuntimeError):
    """The driver refused a launch (as the C module's ``LaunchError``)."""


def load():
    """``cuda.bindings.driver`` (imported on first use)."""
    from cuda.bindings import driver

    return driver


def current_context():
    """The calling thread's current CUDA context handle as an int (0: none)."""
    driver = load()
    err, ctx = driver.cuCtxGetCurrent()
    if int(err) != 0:
        raise LaunchError(f"cuCtxGetCurrent failed: {err}")
    return int(ctx)


def pointer_context(ptr):
    """The context device pointer *ptr* was allocated in, as an int;
    LaunchError when the driver does not know the pointer."""
    driver = load()
    attribute = driver.CUpointer_attribute.CU_POINTER_ATTRIBUTE_CONTEXT
    err, ctx = driver.cuPointerGetAttribute(attribute, ptr)
    if int(err) != 0:
        raise LaunchError(f"cuPointerGetAttribute failed: {err}")
    return int(ctx)


def stream_synchronize(handle):
    """cuStreamSynchronize; LaunchError when the driver refuses."""
    driver = load()
    (err,) = driver.cuStreamSynchronize(driver.CUstream(handle))
    if int(err) != 0:
        name = getattr(err, "name", str(err))
        raise LaunchError(f"cuStreamSynchronize failed: {name} ({int(err)})")


def launch(function, grid, block, sharedmem, cooperative, stream_handle, params):
    """cuLaunchKernel / cuLaunchCooperativeKernel with the kernelParams
    array at address *params*; LaunchError when the driver refuses."""
    driver = load()
    dims = grid + block + (sharedmem, driver.CUstream(stream_handle))
    func = driver.CUfunction(function)
    if cooperative:
        (err,) = driver.cuLaunchCooperativeKernel(func, *dims, params)
    else:
        (err,) = driver.cuLaunchKernel(func, *dims, params, 0)
    if int(err) != 0:
        name = getattr(err, "name", str(err))
        api = "cuLaunchCooperativeKernel" if cooperative else "cuLaunchKernel"
        raise LaunchError(f"{api} failed: {name} ({int(err)})")
