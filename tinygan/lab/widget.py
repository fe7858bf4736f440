"""``GANLab``: the lab as ipywidgets in JupyterLab (or a static picture without ipywidgets).

    from tinygan.lab import GANLab
    lab = GANLab("ring")      # shows itself as the last expression of a cell
    lab                        # press Play and watch the ring's modes being found

Buttons: Play/Pause, one D step, one G step, one full step, Reset. Settings: data, loss,
optimiser, the two learning rates, D steps per G step, pack size, instance noise, seed, the
stabilisers (spectral norm in D, a gradient penalty R1/R2/GP and its weight), and how many
steps to train between redraws. Toggles switch each layer of the view. The penalty changes
the running game like the loss; spectral norm changes D's layers, so like the pack size it
starts a new run from the seed.

Play runs in a background thread so the notebook stays free: it trains ``steps per redraw``
full steps, draws one frame (a PNG in an ``ipywidgets.Image``), and repeats. A lock keeps
the buttons and the thread from training at the same time. Everything the buttons do goes
through ``LabSession`` (tinygan/lab/session.py), which knows nothing of widgets.
"""
from __future__ import annotations

import base64

import threading
import time
from typing import Any

from tinygan.data.toy import TOY_DATA, ToyData
from tinygan.gan.losses import LOSSES
from tinygan.gan.penalties import PENALTIES
from tinygan.lab import view
from tinygan.lab.film import Film
from tinygan.lab.session import LIVE_SETTINGS, OPTIMIZERS, LabSession, LabSettings

NO_PENALTY = "none"   # the penalty dropdown's entry for penalty=None
INSTALL_HINT = ("The interactive lab needs ipywidgets: pip install ipywidgets "
                "(or pip install 'tinygan[notebooks]'), then restart the kernel. "
                "Meanwhile, here is the lab's view as a still picture.")


def widgets_available() -> bool:
    try:
        import ipywidgets  # noqa: F401
    except ImportError:
        return False
    return True


class GANLab:
    """The lab on a ``LabSession``; ``GANLab(data, **settings)`` takes ``LabSettings``'s
    fields (``data`` a name from ``TOY_DATA`` or a ``ToyData``, e.g. ``points_dataset``)."""

    BEAT_TRAIN_S = 0.5   # most time a beat of Play trains before it redraws

    def __init__(self, data: str | ToyData = "ring", steps_per_redraw: int = 20,
                 **settings: Any) -> None:
        self.session = LabSession(LabSettings(data=data, **settings))
        self.steps_per_redraw = steps_per_redraw
        self.layers = list(view.LAYERS)
        self.lock = threading.RLock()
        self._thread: threading.Thread | None = None
        self._playing = threading.Event()
        self.rates = {"steps_per_s": 0.0, "redraws_per_s": 0.0, "redraw_s": 0.0}
        self.film = Film("tinygan lab", "Frames of the lab's view, recorded while it ran.")
        self._next_film_step = 0
        self._syncing = False
        self.widget = self._build_widgets() if widgets_available() else None
        self.redraw()

    # ---- the widgets -------------------------------------------------------------------
    def _build_widgets(self) -> Any:
        import ipywidgets as w
        s = self.session.settings
        names = list(TOY_DATA) + ([s.data.name] if isinstance(s.data, ToyData) else [])
        self._custom_data = s.data if isinstance(s.data, ToyData) else None
        row = w.Layout(width="auto")
        self.buttons = {
            "play": w.ToggleButton(False, description="Play", icon="play",
                                   tooltip="train and redraw until pressed again"),
            "d_step": w.Button(description="D step", tooltip="one discriminator step"),
            "g_step": w.Button(description="G step", tooltip="one generator step"),
            "step": w.Button(description="Full step", tooltip="k D steps, then one G step"),
            "reset": w.Button(description="Reset", icon="undo",
                              tooltip="back to step 0 of this seed"),
        }
        style = {"description_width": "initial"}
        self.controls = {
            "data": w.Dropdown(options=names, value=_name_of(s.data), description="data",
                               style=style, layout=row),
            "loss": w.Dropdown(options=list(LOSSES), value=s.loss, description="loss",
                               style=style, layout=row),
            "optimizer": w.Dropdown(options=list(OPTIMIZERS), value=s.optimizer,
                                    description="optimiser", style=style, layout=row),
            "lr_g": w.FloatLogSlider(s.lr_g, min=-5, max=-1, step=0.25, description="lr G",
                                     readout_format=".1e", style=style),
            "lr_d": w.FloatLogSlider(s.lr_d, min=-5, max=-1, step=0.25, description="lr D",
                                     readout_format=".1e", style=style),
            "d_steps": w.IntSlider(s.d_steps, min=1, max=10, description="D steps per G step",
                                   style=style),
            "pack": w.Dropdown(options=[1, 2, 4, 8], value=s.pack, description="pack",
                               style=style, layout=row),
            "instance_noise": w.FloatSlider(s.instance_noise, min=0.0, max=1.0, step=0.05,
                                            description="instance noise", style=style),
            "seed": w.BoundedIntText(s.seed, min=0, max=2 ** 31 - 1, description="seed",
                                     style=style, layout=w.Layout(width="9em")),
            "spectral_norm": w.Checkbox(s.spectral_norm, description="spectral norm in D",
                                        indent=False, layout=w.Layout(width="auto",
                                                                      margin="2px 2em 2px 0")),
            "penalty": w.Dropdown(options=[NO_PENALTY] + list(PENALTIES),
                                  value=_control_value("penalty", s.penalty),
                                  description="penalty on D", style=style, layout=row,
                                  tooltip="r1: real data, r2: fakes, gp: interpolates"),
            "penalty_weight": w.FloatText(s.penalty_weight, step=0.5,
                                          description="weight (γ, λ)", style=style,
                                          layout=w.Layout(width="14em")),
        }
        self.speed = w.IntSlider(self.steps_per_redraw, min=1, max=200,
                                 description="steps per redraw", style=style)
        self.toggles = {name: w.ToggleButton(True, description=name, layout=row)
                        for name in view.LAYERS}
        self.image = w.Image(format="png", layout=w.Layout(max_width="860px"))
        self.status = w.HTML()
        self.buttons["play"].observe(self._on_play, names="value")
        self.buttons["d_step"].on_click(lambda _: self._press(self.session.step_d))
        self.buttons["g_step"].on_click(lambda _: self._press(self.session.step_g))
        self.buttons["step"].on_click(lambda _: self._press(self.session.step))
        self.buttons["reset"].on_click(lambda _: self._press(self.reset))
        for name, control in self.controls.items():
            control.observe(lambda change, name=name: self._on_setting(name, change["new"]),
                            names="value")
        self.speed.observe(lambda c: setattr(self, "steps_per_redraw", c["new"]), names="value")
        for name, toggle in self.toggles.items():
            toggle.observe(lambda change, name=name: self._on_layer(name, change["new"]),
                           names="value")
        c = self.controls
        return w.VBox([
            w.HBox(list(self.buttons.values()) + [self.speed]),
            w.HBox([c["data"], c["loss"], c["optimizer"], c["pack"], c["seed"]]),
            w.HBox([c["lr_g"], c["lr_d"]]),
            w.HBox([c["d_steps"], c["instance_noise"]]),
            w.HBox([c["spectral_norm"], c["penalty"], c["penalty_weight"]]),
            w.HBox([w.Label("layers:")] + list(self.toggles.values())),
            self.image, self.status])

    # ---- what the controls do ----------------------------------------------------------
    def _press(self, action: Any) -> None:
        with self.lock:
            self._guarded(action)
        self.redraw()

    def _guarded(self, action: Any) -> bool:
        try:
            action()
            return True
        except Exception as err:   # a diverged run or a bad setting: say so, keep the lab
            self._message = f"<b>stopped:</b> {type(err).__name__}: {err}"
            if self.widget is not None:
                self.buttons["play"].value = False
            return False

    def reset(self) -> None:
        """Back to step 0 of this seed (a fresh film too)."""
        with self.lock:
            self.session.reset()
            self.film = Film("tinygan lab", self.film.caption)
            self._next_film_step = 0

    def _on_setting(self, name: str, value: Any) -> None:
        if self._syncing:
            return
        if name == "data" and self._custom_data is not None and value == self._custom_data.name:
            value = self._custom_data
        if name == "penalty" and value == NO_PENALTY:
            value = None
        with self.lock:
            rebuilt = name not in LIVE_SETTINGS
            if self._guarded(lambda: self.session.set(**{name: value})) and rebuilt:
                self.film = Film("tinygan lab", self.film.caption)
                self._next_film_step = 0
            self._sync_controls()
        self.redraw()

    def _sync_controls(self) -> None:
        """Show the session's settings (a refused value, or a new recipe's defaults)."""
        self._syncing = True
        try:
            for key, control in self.controls.items():
                control.value = _control_value(key, getattr(self.session.settings, key))
        finally:
            self._syncing = False

    def _on_layer(self, name: str, on: bool) -> None:
        self.layers = [n for n in view.LAYERS if (n == name and on) or
                       (n != name and n in self.layers)]
        self.redraw()

    def _on_play(self, change: dict) -> None:
        if change["new"]:
            self.buttons["play"].description, self.buttons["play"].icon = "Pause", "pause"
            self._playing.set()
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._play_loop, daemon=True)
                self._thread.start()
        else:
            self.buttons["play"].description, self.buttons["play"].icon = "Play", "play"
            self._playing.clear()

    def _play_loop(self) -> None:
        while self._playing.is_set():
            self.play_once()

    def play_once(self) -> None:
        """What one beat of Play does: ``steps_per_redraw`` full steps (fewer if they take
        longer than ``BEAT_TRAIN_S``, so a slow machine still redraws every second), then one
        redraw. The rates shown are over the whole beat, drawing included."""
        start = time.perf_counter()
        done = 0
        with self.lock:
            def train() -> None:
                nonlocal done
                done = self.session.train_for(self.steps_per_redraw, self.BEAT_TRAIN_S)[0]
            self._guarded(train)
        self.redraw()
        beat = max(time.perf_counter() - start, 1e-9)
        self.rates["steps_per_s"], self.rates["redraws_per_s"] = done / beat, 1 / beat

    # ---- drawing -----------------------------------------------------------------------
    def redraw(self) -> bytes:
        """Draw the current view with the live plots; returns the PNG (shown in the widget)."""
        start = time.perf_counter()
        with self.lock:
            s = self.session
            frame = s.frame()
            fig = view.figure(frame, s.history, s.metrics, self.layers)
            png = view.png_bytes(fig)
            if s.updates >= self._next_film_step:   # keep log-spaced frames for save_film
                if not self.film.frames or s.updates > self.film.frames[-1][0]:
                    full = png if self.layers == list(view.LAYERS) else view.png_bytes(
                        view.figure(frame, s.history, s.metrics))
                    self.film.add(s.updates, full)
                self._next_film_step = max(s.updates + 1, int(s.updates * 1.25))
        self.rates["redraw_s"] = time.perf_counter() - start
        if self.widget is not None:
            self.image.value = png
            message = getattr(self, "_message", "")
            self._message = ""
            self.status.value = (
                f"{s.updates} updates · playing: {self.rates['steps_per_s']:.0f} steps/s, "
                f"{self.rates['redraws_per_s']:.1f} redraws/s · <span style='color:"
                f"{view.REAL}'>real</span>, <span style='color:{view.FAKE}'>generated</span>"
                f", background D(x), arrows -dL_G/dx" + (f"<br>{message}" if message else ""))
        return png

    def save_film(self, folder: str, stem: str = "lab_film") -> dict[str, str]:
        """The frames kept so far (log-spaced in updates) as FOLDER/STEM.gif and .html."""
        with self.lock:
            if not self.film.frames or self.film.frames[-1][0] < self.session.updates:
                self.film.add(self.session.updates, view.png_bytes(view.figure(
                    self.session.frame(), self.session.history, self.session.metrics)))
            return self.film.save(folder, stem)

    def stop(self) -> None:
        """Stop playing and wait for the play thread to finish its beat."""
        self._playing.clear()
        if self.widget is not None:
            self.buttons["play"].value = False
        if self._thread is not None:
            self._thread.join()

    def _ipython_display_(self) -> None:
        from IPython.display import HTML, Image, display
        if self.widget is not None:
            # the widget, and beside it in the same output a still picture of the lab: a
            # page where no kernel runs (the course site, GitHub) shows the picture, Jupyter
            # the live widget
            bundle = dict(self.widget._repr_mimebundle_() or {})
            bundle["image/png"] = base64.b64encode(self.redraw()).decode("ascii")
            display(bundle, raw=True)
        else:
            display(HTML(f"<p><b>{INSTALL_HINT}</b></p>"))
            display(Image(data=self.redraw(), format="png"))


def _name_of(data: str | ToyData) -> str:
    return data.name if isinstance(data, ToyData) else data


def _control_value(key: str, value: Any) -> Any:
    """A setting as its control shows it: data by name, no penalty as "none"."""
    if key == "penalty" and value is None:
        return NO_PENALTY
    return _name_of(value) if key == "data" else value
