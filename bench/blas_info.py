"""How fast this Python process's BLAS runs a float32 matrix product (for the PyTorch and numpy references).

Debian's python3-torch and python3-numpy call `libblas.so.3`, which the alternatives system points at the reference
BLAS (libblas3: plain loops, about 4-5 GFLOP/s for a 512^3 sgemm on one core of the 2-core machine) unless OpenBLAS is
installed (`apt-get install libopenblas0-pthread`: 123-171 GFLOP/s on a quiet machine, 19-26 with both cores busy). A
comparison against the reference BLAS measures nothing useful, so the benchmarks time one product and print it; the
threshold that warns is SLOW_BLAS_GFLOPS in src/cli/commands/bench-train.ts. Which library got loaded is not enough to
tell: with OpenBLAS's LAPACK and the reference BLAS both installed, both are mapped.
"""
import time


def sgemm_gflops(torch):
    """GFLOP/s of a 512^3 float32 matrix product on one thread (the median of 5), restoring the thread count."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        g = torch.Generator().manual_seed(0)
        a = torch.rand(512, 512, generator=g)
        b = torch.rand(512, 512, generator=g)
        a @ b
        times = []
        for _ in range(5):
            t0 = time.perf_counter()
            a @ b
            times.append(time.perf_counter() - t0)
        times.sort()
        return 2 * 512**3 / times[2] / 1e9
    finally:
        torch.set_num_threads(threads)
