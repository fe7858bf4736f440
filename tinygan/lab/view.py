"""Drawing a ``Frame``: the layered view and the live plots, as a matplotlib Figure or PNG bytes.

Colours follow GAN Lab's: green is real, purple is generated. The background of the 2-D view
is D's verdict (green where D says "real", purple where it says "fake"); a critic (WGAN,
hinge, LSGAN) gives values, not probabilities, drawn on the same colours around 0.

Figures are made with ``matplotlib.figure.Figure`` and an Agg canvas, never pyplot, so the
lab can draw from its play thread while the notebook stays free.
"""
from __future__ import annotations

import io
from typing import Any, Mapping, Sequence

import numpy as np

from tinygan.lab.frames import Frame

REAL, FAKE, ARROW, WARP = "#1b7837", "#762a83", "#2d004b", "#555555"
THIRD = "#e08214"   # a third curve beside the real and the generated one
#: the layers of the view, in drawing order (each can be switched off)
LAYERS = ("heatmap", "real", "fake", "warp", "arrows")


def arrow_lengths(per_sample: np.ndarray, width: float) -> np.ndarray:
    """Display length of gradient arrows, on the same scale in every frame (so a vanishing
    gradient shows as vanishing arrows): L tanh(sqrt(|g| width)) with L = 10% of the window.
    The square root keeps a 100x weaker gradient visible (10x shorter); tanh caps the longest.
    |g| width is dimensionless: how much the loss would change across the window."""
    norm = np.linalg.norm(per_sample, axis=1)
    return 0.10 * width * np.tanh(np.sqrt(norm * width))


def draw_view(ax: Any, frame: Frame, layers: Sequence[str] = LAYERS) -> None:
    """The layered view of ``frame`` on ``ax`` (2-D: plane; 1-D: curves over x)."""
    if frame.data.dim == 1:
        _draw_view_1d(ax, frame, layers)
        return
    xmin, xmax, ymin, ymax = frame.extent
    if "heatmap" in layers and frame.heat is not None:
        if frame.probability:
            vmin, vmax = 0.0, 1.0
        else:
            vmax = float(np.quantile(np.abs(frame.heat), 0.98)) or 1.0
            vmin = -vmax
        ax.imshow(frame.heat, origin="lower", extent=frame.extent, cmap="PRGn", vmin=vmin,
                  vmax=vmax, alpha=0.75, interpolation="bilinear", aspect="auto")
    if "warp" in layers:
        for line in frame.warp:
            ax.plot(line[:, 0], line[:, 1], color=WARP, lw=0.5, alpha=0.45)
    if "real" in layers:
        ax.scatter(frame.real[:, 0], frame.real[:, 1], s=9, c=REAL, alpha=0.55, lw=0)
    if "fake" in layers:
        ax.scatter(frame.fake[:, 0], frame.fake[:, 1], s=6, c=FAKE, alpha=0.75, lw=0)
    if "arrows" in layers and frame.arrows is not None:
        # L_G is a mean over count / pack outputs of D: undo the 1/N to get each sample's push
        per_sample = frame.arrows * len(frame.arrows) / frame.pack
        lengths = arrow_lengths(per_sample, xmax - xmin)
        norms = np.linalg.norm(per_sample, axis=1, keepdims=True)
        direction = np.divide(per_sample, norms, out=np.zeros_like(per_sample),
                              where=norms > 0)
        uv = direction * lengths[:, None]
        ax.quiver(frame.arrows_at[:, 0], frame.arrows_at[:, 1], uv[:, 0], uv[:, 1],
                  angles="xy", scale_units="xy", scale=1, color=ARROW, width=0.004,
                  headwidth=4, headlength=4.5, headaxislength=4)
    ax.set_xlim(xmin, xmax)
    ax.set_ylim(ymin, ymax)
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(_title(frame), fontsize=10)


def _title(frame: Frame) -> str:
    m = frame.metrics
    text = f"step {frame.step} · {frame.loss_name} loss"
    if "modes" in m:
        kind = "modes" if frame.data.name in ("ring", "grid", "pair") else "landmarks"
        text += f" · {m['modes']}/{m['num_modes']} {kind}, {100 * m['high_quality']:.0f}% within 3 std"
    if "jsd" in m:
        text += f" · JSD {m['jsd']:.3f}"
    if "max_gap" in m:
        text += f" · max|D-D*| {m['max_gap']:.2f}"
    return text


def _draw_view_1d(ax: Any, frame: Frame, layers: Sequence[str]) -> None:
    c = frame.curves
    xmin, xmax = frame.extent[:2]
    if c is not None:
        if "real" in layers:
            ax.fill_between(c["xs"], c["p_data"], color=REAL, alpha=0.35, lw=0,
                            label="p_data")
        if "fake" in layers:
            ax.fill_between(c["xs"], c["p_g"], color=FAKE, alpha=0.35, lw=0, label="p_g")
        top = max(1.0, 1.1 * float(max(c["p_data"].max(), c["p_g"][np.isfinite(c["p_g"])].max())))
        ax.set_ylim(-0.12 * top, top)
        ax.set_ylabel("density", fontsize=8)
        ax.tick_params(labelsize=7)
        right = ax.twinx()
        if "heatmap" in layers:
            right.plot(c["xs"], c["d"], color="black", lw=1.6,
                       label="D(x)" if frame.probability else "critic D(x)")
            if "d_star" in c:
                right.plot(c["xs"], c["d_star"], color="#e08214", lw=1.4, ls="--",
                           label="D*(x)")
        if frame.probability:
            right.set_ylim(-0.12, 1.05)
            right.set_ylabel("D(x), D*(x)", fontsize=8)
        right.tick_params(labelsize=7)
        handles = ax.get_legend_handles_labels()[0] + right.get_legend_handles_labels()[0]
        if handles:
            ax.legend(handles=handles, loc="upper left", fontsize=8, frameon=False)
        if "arrows" in layers and frame.arrows is not None:
            per_sample = frame.arrows[:, 0] * len(frame.arrows) / frame.pack
            lengths = arrow_lengths(per_sample[:, None], xmax - xmin) * np.sign(per_sample)
            y = np.full_like(lengths, -0.06 * top)
            ax.quiver(frame.arrows_at[:, 0], y, lengths, np.zeros_like(lengths),
                      angles="xy", scale_units="xy", scale=1, color=ARROW, width=0.004,
                      headwidth=4, headlength=4.5, headaxislength=4)
    ax.set_xlim(xmin, xmax)
    ax.set_title(_title(frame), fontsize=10)


def draw_plots(axes: Sequence[Any], history: Mapping[str, Sequence[float]],
               metrics: Mapping[str, Sequence[float]], one_d: bool, probability: bool,
               last_step: int | None = None) -> None:
    """The live plots on 4 axes: losses (and a gradient penalty's term, once there is one);
    mean D(x), D(G(z)); gradient norms; coverage (2-D)
    or max |D - D*| and JSD (1-D). ``history`` holds equal-length lists with a "step" list
    (one entry per recorded step); ``metrics`` likewise, one entry per drawn frame.
    ``last_step`` fixes the step axis (a film's curves then grow across its frames)."""
    steps = np.asarray(history.get("step", []))
    penalised = np.nan_to_num(np.asarray(history.get("penalty", []), dtype=float)).any()
    series = [(("d_loss", "D loss", REAL), ("g_loss", "G loss", FAKE))
              + ((("penalty", "penalty (in D loss)", THIRD),) if penalised else ()),
              (("d_real", "D(x)" if probability else "critic(x)", REAL),
               ("d_fake", "D(G(z))" if probability else "critic(G(z))", FAKE)),
              (("grad_norm_d", "|grad D|", REAL), ("grad_norm_g", "|grad G|", FAKE))]
    # at most ~500 points a curve: a 20,000-step history drawn point by point costs more
    # than the whole view, and the smoothed curve has nothing finer to show
    stride = max(1, len(steps) // 500)
    for ax, pair in zip(axes, series):
        for key, label, colour in pair:
            values = np.asarray(history.get(key, []), dtype=float)
            if len(values) and len(values) == len(steps):
                window = max(25, 2 * stride)
                ax.plot(steps[::-1][::stride][::-1], _smooth(values, window)[::-1][::stride][::-1],
                        color=colour, lw=1, label=label)
    norms = np.concatenate([np.asarray(history.get(k, []), dtype=float)
                            for k in ("grad_norm_d", "grad_norm_g")])
    norms = norms[np.isfinite(norms)]
    if len(norms) and norms.min() > 0:
        from matplotlib.ticker import LogLocator, NullFormatter
        axes[2].set_yscale("log")
        axes[2].yaxis.set_major_locator(LogLocator(base=10, numticks=4))
        axes[2].yaxis.set_minor_formatter(NullFormatter())   # no crowded 2x10^0 labels
    ax = axes[3]
    msteps = np.asarray(metrics.get("step", []))
    if one_d:
        for key, label, colour in (("max_gap", "max|D-D*|", THIRD), ("jsd", "JSD", FAKE)):
            values = metrics.get(key, [])
            if len(values) == len(msteps) and len(values):
                ax.plot(msteps, values, color=colour, lw=1.2, marker=".", ms=3, label=label)
        ax.set_ylim(bottom=0)
    else:
        values = metrics.get("modes", [])
        if len(values) == len(msteps) and len(values):
            ax.plot(msteps, values, color=FAKE, lw=1.2, marker=".", ms=3, label="covered")
            ax.axhline(metrics.get("num_modes", [0])[-1], color=REAL, lw=0.8, ls=":")
            ax.set_ylim(0, 1.08 * metrics.get("num_modes", [1])[-1])
    for ax in axes:
        if ax.get_legend_handles_labels()[0]:
            ax.legend(loc="upper right" if ax is not axes[3] or one_d else "lower right",
                      fontsize=7, frameon=False)
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.25)
    axes[-1].set_xlabel("step", fontsize=8)
    if last_step:   # a film: the step axis is fixed, and logarithmic past step 10 like the
        # film's frames, so the early steps (where most happens) are not squeezed to a line
        axes[-1].set_xscale("symlog", linthresh=10, linscale=0.4)
        axes[-1].set_xlim(0, last_step)
    if not len(steps):
        axes[0].text(0.5, 0.5, "no steps yet", transform=axes[0].transAxes, ha="center",
                     va="center", fontsize=9, color="#666666")


def _smooth(values: np.ndarray, window: int = 25) -> np.ndarray:
    """A trailing mean over the last ``window`` records, so step-to-step noise does not hide
    the trend; NaN entries (a network not yet stepped) are left out of the mean."""
    finite = np.isfinite(values)
    c = np.cumsum(np.insert(np.where(finite, values, 0.0), 0, 0.0))
    k = np.cumsum(np.insert(finite.astype(float), 0, 0.0))
    lo = np.maximum(np.arange(1, len(values) + 1) - window, 0)
    hi = np.arange(1, len(values) + 1)
    counts = k[hi] - k[lo]
    return np.divide(c[hi] - c[lo], counts, out=np.full(len(values), np.nan),
                     where=counts > 0)


def figure(frame: Frame, history: Mapping[str, Sequence[float]] | None = None,
           metrics: Mapping[str, Sequence[float]] | None = None,
           layers: Sequence[str] = LAYERS, width: float = 8.6, dpi: int = 80,
           last_step: int | None = None) -> Any:
    """A Figure with the view on the left and, given a history, the live plots on the right."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    height = width * (0.6 if history is not None else 1.0)
    fig = Figure(figsize=(width, height), dpi=dpi)
    FigureCanvasAgg(fig)
    if history is None:
        draw_view(fig.add_subplot(1, 1, 1), frame, layers)
        fig.tight_layout()
        return fig
    one_d = frame.data.dim == 1   # room for the 1-D view's two y axes
    grid = fig.add_gridspec(4, 2, width_ratios=(1.65, 1), hspace=0.35,
                            wspace=0.3 if one_d else 0.12, left=0.07 if one_d else 0.03,
                            right=0.98, top=0.94, bottom=0.07)
    draw_view(fig.add_subplot(grid[:, 0]), frame, layers)
    axes = [fig.add_subplot(grid[i, 1]) for i in range(4)]
    for ax in axes[:-1]:
        ax.sharex(axes[-1])
        ax.tick_params(labelbottom=False)
    draw_plots(axes, history, metrics or {}, frame.data.dim == 1, frame.probability, last_step)
    return fig


def png_bytes(fig: Any, palette: bool = False) -> bytes:
    """The figure as PNG bytes; with ``palette``, reduced to 256 colours (a third the size,
    for films that hold dozens of frames)."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=fig.dpi)
    if not palette:
        return buffer.getvalue()
    from PIL import Image
    image = Image.open(io.BytesIO(buffer.getvalue())).convert("RGB")
    out = io.BytesIO()
    image.quantize(colors=256, method=Image.Quantize.MEDIANCUT).save(out, format="PNG")
    return out.getvalue()
