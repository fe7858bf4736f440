"""Reference solutions for notebook 10 (DCGAN)."""


def exercise_10_1() -> tuple[int, int]:
    conv = (28 + 2 * 1 - 4) // 2 + 1                 # floor((H + 2p - k) / s) + 1 = 14
    transposed = (7 - 1) * 2 - 2 * 1 + 4             # (H - 1) s - 2p + k = 14
    return conv, transposed


def exercise_10_2() -> tuple[int, int]:
    conv_weights = 128 * 64 * 4 * 4                  # one 4x4 kernel per (out, in) pair
    dense_weights = (64 * 14 * 14) * (128 * 7 * 7)   # every input to every output
    return conv_weights, dense_weights
