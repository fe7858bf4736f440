"""What both training-step benchmarks share: threads, device choice, timing, the machine.

Kept apart from the benchmarks themselves so each of them reads as the step it measures.
"""
from __future__ import annotations

import cProfile
import os
import platform
import pstats
import subprocess
import time
from typing import Any, Callable

import numpy as np

import tinygan as tg
from tinygan import backend


def set_threads(threads: int, torch: Any) -> None:
    """The same number of threads for NumPy's BLAS (through threadpoolctl) and PyTorch."""
    try:
        from threadpoolctl import threadpool_limits
        threadpool_limits(threads)
    except ImportError:  # NumPy's BLAS keeps its default (the number of cores)
        print("note: threadpoolctl is not installed; NumPy's BLAS uses its default threads")
    if torch is not None:
        torch.set_num_threads(threads)


def select_backend(name: str, torch: Any) -> tuple[str, Callable[[], None], Any]:
    """(device, sync, torch) for ``--backend numpy|cupy``.

    On CuPy the GPU runs asynchronously, so ``sync`` waits for both frameworks' queued work:
    a timing taken without it measures only how fast kernels are *launched*. ``torch`` comes
    back as None when PyTorch has no CUDA to compare against.
    """
    if name != "cupy":
        return "cpu", (lambda: None), torch
    try:
        cp = backend.require_cupy()
    except backend.BackendError as err:
        raise SystemExit(f"--backend cupy: {err}") from None
    tg.use("cupy")
    if torch is not None and not torch.cuda.is_available():
        print("PyTorch has no CUDA here: timing tinygan on CuPy alone", flush=True)
        torch = None

    def sync() -> None:
        cp.cuda.Device().synchronize()
        if torch is not None:
            torch.cuda.synchronize()

    return "cuda", sync, torch


def timed_block(step: Callable[[], Any], steps: int, sync: Callable[[], None]) -> float:
    """Seconds per step over ``steps`` consecutive calls, device work included."""
    sync()
    start = time.perf_counter()
    for _ in range(steps):
        step()
    sync()
    return (time.perf_counter() - start) / steps


def machine_description(torch: Any) -> dict[str, str]:
    """CPU model, cores, and the versions that decide the speed (BLAS above all)."""
    try:
        model = next(line.split(":", 1)[1].strip() for line in
                     subprocess.run(["lscpu"], capture_output=True, text=True).stdout.splitlines()
                     if line.startswith("Model name"))
    except Exception:
        model = platform.processor() or "unknown"
    blas = "unknown"
    try:
        blas_info = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
        blas = f"{blas_info.get('name')} {blas_info.get('version')}"
    except Exception:
        pass
    return {"cpu": model, "cores": str(os.cpu_count()), "python": platform.python_version(),
            "numpy": np.__version__, "blas": blas, "blas_kernel": blas_kernel(),
            "torch": torch.__version__ if torch is not None else "not installed"}


def blas_kernel() -> str:
    """Which OpenBLAS kernel NumPy runs (threadpoolctl's "architecture"), and whether
    OPENBLAS_CORETYPE forced it: some machines set it for old OpenBLAS builds, and a forced
    older kernel (Haswell on an AVX-512 processor) slows NumPy's products."""
    forced = os.environ.get("OPENBLAS_CORETYPE")
    try:
        from threadpoolctl import threadpool_info
        kernels = sorted({str(i.get("architecture")) for i in threadpool_info()
                          if i.get("internal_api") == "openblas"})
    except ImportError:
        kernels = ["unknown (no threadpoolctl)"]
    return (", ".join(kernels) or "no OpenBLAS") + (f" (OPENBLAS_CORETYPE={forced})" if forced
                                                    else " (OPENBLAS_CORETYPE not set)")


def profile(step: Callable[[], Any], steps: int, top: int = 25,
            timer: Callable[[], float] | None = None) -> None:
    """cProfile over ``steps`` calls, sorted by time spent inside each function (wall time,
    or CPU time with ``timer=time.process_time``, which other jobs on the machine distort less)."""
    profiler = cProfile.Profile(timer) if timer else cProfile.Profile()
    profiler.enable()
    for _ in range(steps):
        step()
    profiler.disable()
    pstats.Stats(profiler).sort_stats("tottime").print_stats(top)
