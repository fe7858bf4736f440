"""The film of a training run: the lab's view at log-spaced steps, as a GIF and an HTML page.

Log-spaced, because a GAN changes most at the start: of the 40 frames of a 20,000-step run,
the first ten show steps 0 to 9, half of them fall in the first 160 steps (under 1% of the
run), and only the last three in its second half.

    film = attach_film(trainer, "runs/ring")   # frame of the current step, then at each scheduled one
    trainer.train(20000)
    film.save()                                # runs/ring/film.gif and runs/ring/film.html

The HTML page works offline: every frame is a base64 PNG inside the page, the slider and the
play button are a few lines of plain JavaScript, nothing is fetched. For MNIST a frame is the
grid of 64 digits G draws from the same fixed noise all run long.
"""
from __future__ import annotations

import base64
import html
import io
import json
import math
import os
import string
from typing import Any, Sequence

import numpy as np

from tinygan.run.atomic import atomic_write

from tinygan.devices import backend
from tinygan.lab import view
from tinygan.lab.frames import capture, input_for
from tinygan.nn.utils.eval_mode import eval_mode
from tinygan.engine.tensor import no_grad

FRAMES = 40              # frames in a run's film
FILM_NOISE_SEED = 2 ** 31 - 2   # the film's fixed noise and real points (training never sees them)


def log_spaced_steps(start: int, end: int, count: int = FRAMES) -> list[int]:
    """``count`` distinct steps from ``start`` to ``end`` (both included), spaced evenly in
    log(1 + step): dense early, sparse late; every step of the range when it has fewer than
    ``count``. Rounding the early points alone would repeat steps (0.3 and 0.6 both round to
    1) and lose frames, so each step is at least one after the one before, and at least one
    before the one after."""
    if end < start or count < (1 if start == end else 2):
        raise ValueError(f"log_spaced_steps: need start <= end and count >= 2 (both ends), "
                         f"got {start}, {end}, {count}")
    if end - start + 1 <= count:
        return list(range(start, end + 1))
    points = np.round(np.expm1(np.linspace(math.log1p(start), math.log1p(end), count)))
    steps = [int(p) for p in points]
    steps[0], steps[-1] = start, end
    for i in range(1, count):                   # push up the ones that rounded onto the last
        steps[i] = max(steps[i], steps[i - 1] + 1)
    for i in range(count - 2, -1, -1):          # and keep them under the end
        steps[i] = min(steps[i], steps[i + 1] - 1)
    return steps


def _atomic_write(path: str, payload: bytes) -> None:
    """The run folder's atomic write (temporary file, fsync, rename): a crash or a full
    disk leaves the previous file whole."""
    with atomic_write(path) as f:
        f.write(payload)


class Film:
    """Frames (step, PNG bytes) in step order, and the two ways to keep them."""

    def __init__(self, title: str, caption: str = "") -> None:
        self.title, self.caption = title, caption
        self.frames: list[tuple[int, bytes]] = []

    def add(self, step: int, png: bytes) -> None:
        if self.frames and step <= self.frames[-1][0]:
            raise ValueError(f"Film.add: frames go forward in steps; got step {step} after "
                             f"{self.frames[-1][0]}")
        self.frames.append((int(step), png))

    @property
    def steps(self) -> list[int]:
        return [step for step, _ in self.frames]

    def gif_bytes(self, frame_ms: int = 180, hold_ms: int = 2500) -> bytes:
        """An animated GIF (Pillow, which comes with matplotlib) that loops, holding the
        last frame for ``hold_ms``."""
        from PIL import Image
        if not self.frames:
            raise ValueError("Film: no frames to save")
        # each frame gets its own 256-colour palette (a GIF allows one per frame): one palette
        # for all would lose the early frames' colours, which the last frame no longer has
        frames = [Image.open(io.BytesIO(png)).convert("RGB").quantize(
            colors=256, method=Image.Quantize.MEDIANCUT) for _, png in self.frames]
        buffer = io.BytesIO()
        frames[0].save(buffer, format="GIF", save_all=True, append_images=frames[1:], loop=0,
                       duration=[frame_ms] * (len(frames) - 1) + [hold_ms], optimize=False,
                       disposal=1)
        return buffer.getvalue()

    def html_text(self) -> str:
        """A self-contained page: the frames, a step slider, play/pause, and arrow keys."""
        if not self.frames:
            raise ValueError("Film: no frames to save")
        frames = [{"step": step, "src": "data:image/png;base64," +
                   base64.b64encode(png).decode("ascii")} for step, png in self.frames]
        return _PAGE.substitute(title=html.escape(self.title), caption=html.escape(self.caption),
                                last=len(frames) - 1, frames=json.dumps(frames))

    def save(self, folder: str, stem: str = "film") -> dict[str, str]:
        """Write FOLDER/STEM.gif and FOLDER/STEM.html; returns {"film_gif": ..., "film_html": ...}."""
        os.makedirs(folder, exist_ok=True)
        paths = {"film_gif": os.path.join(folder, f"{stem}.gif"),
                 "film_html": os.path.join(folder, f"{stem}.html")}
        _atomic_write(paths["film_gif"], self.gif_bytes())
        _atomic_write(paths["film_html"], self.html_text().encode("utf-8"))
        return paths


class RunFilm:
    """Records a trainer's film: call it after every step (``trainer.add_callback(1, film)``);
    it draws a frame when the step is one of ``schedule``. ``save()`` writes the files."""

    def __init__(self, trainer: Any, folder: str, schedule: Sequence[int], width: float = 8.6,
                 dpi: int = 80) -> None:
        from tinygan.data.toy import TOY_DATA
        import tinygan
        self.trainer, self.folder = trainer, folder
        self.schedule, self.last_step = set(schedule), max(schedule)
        self.width, self.dpi = width, dpi
        name = trainer.config.get("data", "")
        self.data = TOY_DATA.get(name)
        gen = tinygan.Generator(FILM_NOISE_SEED)
        if self.data is not None:
            self.z = _noise(trainer, 512, gen)
            self.real = np.asarray(backend.to_numpy(self.data.sample(512, gen)))
            caption = ("Green: real samples; purple: generated ones, from the same noise in every "
                       "frame; background: D's verdict (green = real, purple = fake); arrows: "
                       "-dL_G/dx, where G's loss pushes each sample; grey lines: a grid of noise "
                       "as G maps it.") if self.data.dim == 2 else (
                       "Green: the data's density; purple: G's (a KDE of its samples); black: "
                       "D(x); dashed orange: the optimal D*; arrows: -dL_G/dx at G's samples.")
        else:
            self.z = _noise(trainer, 64, gen)
            caption = "64 digits drawn from the same 64 noise vectors at every frame."
        self.film = Film(f"tinygan: {name} with the {trainer.config.get('loss', '')} loss",
                         caption)
        self.metrics: dict[str, list[float]] = {"step": []}

    def __call__(self, trainer: Any) -> None:
        if trainer.step in self.schedule and (not self.film.frames
                                              or trainer.step > self.film.frames[-1][0]):
            self.capture()

    def capture(self) -> None:
        """Draw the current step into the film."""
        t = self.trainer
        if self.data is None:
            self.film.add(t.step, _digit_grid_png(t, self.z, self.dpi))
            return
        frame = capture(t.G, t.D, t.loss, self.data, self.z, self.real, t.step)
        self.metrics["step"].append(t.step)
        for key, value in frame.metrics.items():
            self.metrics.setdefault(key, []).append(float(value))
        n = len(t.history["d_loss"])
        history = {"step": list(range(1, n + 1)), **t.history}
        fig = view.figure(frame, history, self.metrics, width=self.width, dpi=self.dpi,
                          last_step=self.last_step)
        self.film.add(t.step, view.png_bytes(fig, palette=True))

    def save(self) -> dict[str, str]:
        """Write film.gif and film.html into the run folder (capturing the last step first)."""
        if not self.film.frames or self.film.frames[-1][0] < self.trainer.step:
            self.capture()
        return self.film.save(self.folder)


def _noise(trainer: Any, n: int, gen: Any) -> np.ndarray:
    from tinygan.data.toy import sample_noise
    return np.asarray(backend.to_numpy(sample_noise(n, trainer.z_dim, gen, trainer.noise)))


def _digit_grid_png(trainer: Any, z: np.ndarray, dpi: int) -> bytes:
    """An 8 x 8 grid of G's images for the fixed noise z, titled with the step."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    with eval_mode(trainer.G), no_grad():   # the noise onto G's device, the images back
        images = trainer.G(input_for(trainer.G, z)).numpy()
    images = images.reshape(len(z), *images.shape[-2:])
    rows = int(math.ceil(len(images) / 8))
    h, w = images.shape[1:]
    mosaic = np.ones((rows * (h + 2), 8 * (w + 2)))
    for i, image in enumerate(images):
        r, c = divmod(i, 8)
        mosaic[r * (h + 2) + 1:r * (h + 2) + 1 + h, c * (w + 2) + 1:c * (w + 2) + 1 + w] = \
            (image + 1) / 2
    fig = Figure(figsize=(4.2, 4.5), dpi=dpi)
    FigureCanvasAgg(fig)
    ax = fig.add_axes((0.02, 0.02, 0.96, 0.88))
    ax.imshow(np.clip(mosaic, 0, 1), cmap="gray", vmin=0, vmax=1, interpolation="nearest")
    ax.axis("off")
    fig.suptitle(f"step {trainer.step}", fontsize=11)
    return view.png_bytes(fig, palette=True)


def attach_film(trainer: Any, folder: str, end: int | None = None,
                count: int = FRAMES) -> RunFilm:
    """Film ``trainer`` from its current step to ``end`` (default: its config's "steps") at
    ``count`` log-spaced steps; draws the current step now. Call ``.save()`` when done."""
    end = int(trainer.config.get("steps", trainer.step) if end is None else end)
    film = RunFilm(trainer, folder, log_spaced_steps(trainer.step, max(end, trainer.step),
                                                     count))
    film.capture()
    trainer.add_callback(1, film)
    return film


_PAGE = string.Template("""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>$title</title>
<link rel="icon" href="data:,">
<style>
  body { font-family: system-ui, sans-serif; margin: 1.5em auto; max-width: 760px;
         color: #222; padding: 0 1em; }
  h1 { font-size: 1.2em; margin-bottom: 0.3em; }
  #frame { width: 100%; border: 1px solid #ddd; display: block; }
  .controls { display: flex; align-items: center; gap: 0.8em; margin: 0.6em 0; }
  #slider { flex: 1; }
  #step { font-variant-numeric: tabular-nums; min-width: 8em; text-align: right; }
  button { font-size: 1em; padding: 0.2em 0.8em; }
  p.caption { font-size: 0.9em; color: #444; }
</style>
</head>
<body>
<h1>$title</h1>
<img id="frame" alt="training frame">
<div class="controls">
  <button id="play" type="button">Play</button>
  <input id="slider" type="range" min="0" max="$last" value="0" step="1"
         aria-label="training step">
  <span id="step"></span>
</div>
<p class="caption">$caption Drag the slider or use the arrow keys; frames are log-spaced in
steps, so the early changes show.</p>
<script>
"use strict";
const frames = $frames;
const img = document.getElementById("frame");
const slider = document.getElementById("slider");
const label = document.getElementById("step");
const play = document.getElementById("play");
let timer = null;
function show(i) {
  i = Math.max(0, Math.min(frames.length - 1, i));
  slider.value = String(i);
  img.src = frames[i].src;
  img.dataset.index = String(i);
  label.textContent = "step " + frames[i].step + " (" + (i + 1) + "/" + frames.length + ")";
}
function stop() { clearInterval(timer); timer = null; play.textContent = "Play"; }
slider.addEventListener("input", () => { stop(); show(Number(slider.value)); });
play.addEventListener("click", () => {
  if (timer !== null) { stop(); return; }
  if (Number(slider.value) >= frames.length - 1) show(0);
  play.textContent = "Pause";
  timer = setInterval(() => {
    const next = Number(slider.value) + 1;
    show(next);
    if (next >= frames.length - 1) stop();   // rest on the last frame
  }, 200);
});
document.addEventListener("keydown", (e) => {
  if (e.target === slider) return;   // the slider moves itself and fires "input"
  if (e.key === "ArrowRight") { stop(); show(Number(slider.value) + 1); }
  if (e.key === "ArrowLeft") { stop(); show(Number(slider.value) - 1); }
});
show(0);
</script>
</body>
</html>
""")
