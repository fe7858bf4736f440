"""How many threads the CPU's BLAS library (OpenBLAS, MKL) may use for one matrix product.

The toy networks multiply matrices of a few hundred numbers: splitting such a product over
threads costs more than it saves, and on a busy machine spinning BLAS threads slow a ring
step down badly (measured in benchmarks/RESULTS_mlp.md). MNIST's larger products gain from
the threads, so the command line limits them for the toy datasets only.
"""
from __future__ import annotations


def limit_blas_threads(threads: int = 1) -> None:
    """Ask the BLAS library to use ``threads`` threads, if threadpoolctl is installed
    (an optional package: without it BLAS keeps its default, one thread per core)."""
    try:
        from threadpoolctl import threadpool_limits   # optional: imported only when asked
    except ImportError:
        return
    threadpool_limits(threads)
