"""Conv2d and ConvTranspose2d, forward + backward, tinygan against PyTorch, layer by layer.

For each shape in the table (the DCGAN's layers, 3x3 stride-1 convolutions at 16x16 and
32x32 with 64 and 128 channels, 4x4 stride-2 convolutions at 32x32 and 64x64), one timed
call is: forward, then backward with respect to the input and the weight (the bias too).
Blocks alternate (tinygan, PyTorch, NumPy's sgemm on the same products) after a warm-up, so
a noisy neighbour slows all three about equally; the ratio is the median per-pair ratio.

"sgemm" is NumPy's own matrix product on exactly the three products a convolution layer's
step performs (forward, input gradient, weight gradient: each O x (C kh kw) x (Ho Wo N)),
timed in the same run: the limit a NumPy engine can reach. Both frameworks' shares of it
are reported.

    python benchmarks/bench_conv_layers.py                 # the whole table, 2 threads
    python benchmarks/bench_conv_layers.py --threads 1 --quick
"""
from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import tinygan as tg  # noqa: E402
from harness import machine_description, set_threads, timed_block  # noqa: E402
from tinygan import nn  # noqa: E402

# name: (transposed?, N, C_in, C_out, H, W, kernel, stride, padding)
SHAPES = {
    "DCGAN D conv1 1->64, 4x4 s2, 28x28": (False, 64, 1, 64, 28, 28, 4, 2, 1),
    "DCGAN D conv2 64->128, 4x4 s2, 14x14": (False, 64, 64, 128, 14, 14, 4, 2, 1),
    "DCGAN G deconv 128->64, 4x4 s2, 7x7": (True, 64, 128, 64, 7, 7, 4, 2, 1),
    "DCGAN G deconv 64->1, 4x4 s2, 14x14": (True, 64, 64, 1, 14, 14, 4, 2, 1),
    "3x3 s1 p1, 64->64, 16x16": (False, 64, 64, 64, 16, 16, 3, 1, 1),
    "3x3 s1 p1, 128->128, 16x16": (False, 64, 128, 128, 16, 16, 3, 1, 1),
    "3x3 s1 p1, 64->64, 32x32": (False, 64, 64, 64, 32, 32, 3, 1, 1),
    "3x3 s1 p1, 128->128, 32x32": (False, 64, 128, 128, 32, 32, 3, 1, 1),
    "4x4 s2 p1 conv, 64->128, 32x32": (False, 64, 64, 128, 32, 32, 4, 2, 1),
    "4x4 s2 p1 conv, 64->128, 64x64": (False, 64, 64, 128, 64, 64, 4, 2, 1),
    "4x4 s2 p1 deconv, 128->64, 32x32": (True, 64, 128, 64, 32, 32, 4, 2, 1),
    "4x4 s2 p1 deconv, 128->64, 64x64": (True, 64, 128, 64, 64, 64, 4, 2, 1),
}


def layers(spec, torch):
    transposed, n, c_in, c_out, h, w, k, s, p = spec
    ours = (nn.ConvTranspose2d if transposed else nn.Conv2d)(c_in, c_out, k, s, p)
    theirs = (torch.nn.ConvTranspose2d if transposed else torch.nn.Conv2d)(c_in, c_out, k, s, p)
    theirs.load_state_dict({k_: torch.from_numpy(v.copy()) for k_, v in ours.state_dict().items()})
    x = np.random.default_rng(0).normal(size=(n, c_in, h, w)).astype(np.float32)
    return ours, theirs, x


def step_ours(layer, x):
    xt = tg.Tensor(x, requires_grad=True)
    layer.zero_grad()
    layer(xt).sum().backward()


def step_theirs(layer, x, torch):
    xt = torch.from_numpy(x).requires_grad_(True)
    layer.zero_grad()
    layer(xt).sum().backward()


def products(spec):
    """The three products of one layer step, as (M, K, N) for an (M, K) @ (K, N)."""
    transposed, n, c_in, c_out, h, w, k, s, p = spec
    if transposed:      # its forward is conv2d's input gradient, with roles swapped
        ho, wo = h, w
        o, c = c_in, c_out          # the conv2d it is the adjoint of: c_out -> c_in
    else:
        ho, wo = (h + 2 * p - k) // s + 1, (w + 2 * p - k) // s + 1
        o, c = c_out, c_in
    m, kk, nn_ = o, c * k * k, ho * wo * n
    return [(m, kk, nn_), (kk, m, nn_), (m, nn_, kk)]


def sgemm_step(mats):
    for a, b in mats:
        a @ b


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--pairs", type=int, default=5)
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--quick", action="store_true", help="2 pairs of 2 steps")
    ap.add_argument("--only", nargs="*", default=None, help="substrings of shape names")
    args = ap.parse_args()
    if args.quick:
        args.pairs, args.steps = 2, 2
    import torch
    set_threads(args.threads, torch)
    info = machine_description(torch)
    print("machine:", ", ".join(f"{k} {v}" for k, v in info.items()),
          f"({args.threads} threads for both)", flush=True)
    print("\n| layer | tinygan ms | PyTorch ms | tinygan / PyTorch | tinygan % of sgemm "
          "| PyTorch % of sgemm |\n|---|---:|---:|---:|---:|---:|")
    rng = np.random.default_rng(1)
    for name, spec in SHAPES.items():
        if args.only and not any(o in name for o in args.only):
            continue
        ours, theirs, x = layers(spec, torch)
        mats = [(rng.normal(size=(m, k)).astype(np.float32),
                 rng.normal(size=(k, n)).astype(np.float32)) for m, k, n in products(spec)]
        for _ in range(2):                                   # warm-up
            step_ours(ours, x), step_theirs(theirs, x, torch), sgemm_step(mats)
        t_ours, t_theirs, t_gemm, ratios = [], [], [], []
        for _ in range(args.pairs):
            a = timed_block(lambda: step_ours(ours, x), args.steps, lambda: None)
            b = timed_block(lambda: step_theirs(theirs, x, torch), args.steps, lambda: None)
            g = timed_block(lambda: sgemm_step(mats), args.steps, lambda: None)
            t_ours.append(a), t_theirs.append(b), t_gemm.append(g), ratios.append(a / b)
        a, b, g = (statistics.median(t) for t in (t_ours, t_theirs, t_gemm))
        print(f"| {name} | {a * 1e3:.1f} | {b * 1e3:.1f} | {statistics.median(ratios):.2f} "
              f"({min(ratios):.2f}-{max(ratios):.2f}) | {g / a:.0%} | {g / b:.0%} |",
              flush=True)


if __name__ == "__main__":
    main()
