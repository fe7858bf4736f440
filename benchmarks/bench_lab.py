"""How responsive the lab is, and what the film costs a run (results: RESULTS_lab.md).

    python benchmarks/bench_lab.py                 # about a minute
    python benchmarks/bench_lab.py --seconds 30 --film-steps 1000

1. The lab on the ring with the default model (``tinygan train``'s ring recipe: 3 x 128
   G and D, D judging packs of 4, batch 256): what Play does, beat after beat (``GANLab
   .play_once``: ``steps_per_redraw`` full training steps, then one redraw of the view and
   the live plots into a PNG), for ``--seconds``. Target (issue 19): at least 10 training
   steps and one redraw per second on 2 CPU cores.
2. The film: the default ring run with the film attached, for ``--film-steps`` steps, timing
   separately the training steps, each film frame (capture + drawing) and the saving; then
   what 40 frames add to the default 20,000-step run at the measured step time.

One BLAS thread, as ``tinygan train`` uses for toy data.
"""
from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def bench_lab(seconds: float, steps_per_redraw: int) -> dict:
    from tinygan.lab.widget import GANLab, widgets_available
    lab = GANLab("ring", steps_per_redraw=steps_per_redraw)
    lab.play_once()                                   # warm up
    beats, updates0, redraw_times = 0, lab.session.updates, []
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        lab.play_once()                               # exactly what Play does, beat by beat
        beats += 1
        redraw_times.append(lab.rates["redraw_s"])
    wall = time.perf_counter() - start
    steps = lab.session.updates - updates0
    train_s = wall - sum(redraw_times)
    return {"widgets": widgets_available(), "wall_s": wall, "beats": beats,
            "steps_per_s": steps / wall, "redraws_per_s": beats / wall,
            "step_ms": 1000 * train_s / max(1, steps),
            "redraw_ms": 1000 * statistics.median(redraw_times)}


def bench_film(steps: int) -> dict:
    from tinygan.devices.threads import limit_blas_threads
    from tinygan.gan.build import build_trainer, make_config
    from tinygan.lab import film as film_module
    limit_blas_threads(1)
    trainer = build_trainer(make_config("ring", "ns", "mlp", 0))
    folder = tempfile.mkdtemp(prefix="tinygan-film-")
    film = film_module.attach_film(trainer, folder, end=steps)
    frame_times = []
    original = film.capture

    def timed_capture() -> None:
        t = time.perf_counter()
        original()
        frame_times.append(time.perf_counter() - t)

    film.capture = timed_capture
    start = time.perf_counter()
    trainer.train(steps, progress=False)
    train_total = time.perf_counter() - start
    t = time.perf_counter()
    paths = film.save()
    save_s = time.perf_counter() - t
    frames_s = sum(frame_times)
    step_ms = 1000 * (train_total - frames_s) / steps
    default_steps, frames = 20000, len(film.film.frames)
    per_frame = frames_s / max(1, len(frame_times))
    film_default_s = film_module.FRAMES * per_frame + save_s
    train_default_s = default_steps * step_ms / 1000
    return {"steps": steps, "frames": frames, "step_ms": step_ms, "frame_ms": 1000 * per_frame,
            "save_s": save_s, "gif_kb": os.path.getsize(paths["film_gif"]) / 1024,
            "html_kb": os.path.getsize(paths["film_html"]) / 1024,
            "default_train_s": train_default_s, "default_film_s": film_default_s,
            "default_overhead_pct": 100 * film_default_s / train_default_s}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--steps-per-redraw", type=int, default=20)
    parser.add_argument("--film-steps", type=int, default=600)
    args = parser.parse_args()
    from tinygan.devices.threads import limit_blas_threads
    limit_blas_threads(1)
    print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs, load average "
          f"{os.getloadavg()[0]:.1f}, Python {platform.python_version()}")
    lab = bench_lab(args.seconds, args.steps_per_redraw)
    print(f"lab (ring, default model, {args.steps_per_redraw} steps per redraw, widgets "
          f"{'on' if lab['widgets'] else 'off'}): {lab['steps_per_s']:.1f} training steps/s and "
          f"{lab['redraws_per_s']:.2f} redraws/s over {lab['wall_s']:.0f} s "
          f"(median {lab['step_ms']:.1f} ms a step, {lab['redraw_ms']:.0f} ms a redraw); "
          f"target >= 10 steps/s and >= 1 redraw/s: "
          f"{'met' if lab['steps_per_s'] >= 10 and lab['redraws_per_s'] >= 1 else 'NOT met'}")
    film = bench_film(args.film_steps)
    print(f"film ({film['steps']} steps of the ring recipe, {film['frames']} frames): "
          f"{film['step_ms']:.1f} ms a training step, {film['frame_ms']:.0f} ms a film frame, "
          f"{film['save_s']:.1f} s to save (GIF {film['gif_kb']:.0f} kB, HTML "
          f"{film['html_kb']:.0f} kB)")
    print(f"default run (20000 steps, 40 frames) at these rates: training "
          f"{film['default_train_s']:.0f} s, film {film['default_film_s']:.1f} s "
          f"(+{film['default_overhead_pct']:.1f}%)")


if __name__ == "__main__":
    main()
