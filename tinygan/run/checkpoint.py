"""Checkpoints: a whole training run in one .npz file, readable without pickle.

What is saved: G's and D's state_dicts (and the EMA of G's, when the run keeps one),
both optimizers' states, the random generator's
state, the position in the data, the step, the run's config and its history. A .npz is a
zip of plain arrays; nested dicts are flattened to keys such as ``G/net.0.weight`` or
``opt_d/state/3/exp_avg``, and the small non-array facts (step, config, hyper-parameters,
the generator's state) travel as JSON text stored in a uint8 array under ``__meta__``.

Why no pickle: unpickling runs arbitrary code, so a checkpoint from the internet could do
anything. ``np.load(..., allow_pickle=False)`` refuses object arrays. Why write through
``tinygan.run.atomic.atomic_write`` (a temporary file, fsync, rename): a crash or a full disk
mid-write leaves the old checkpoint intact rather than half a new one.

Why every value must be finite: a checkpoint is the run's last good state. Saving refuses
NaN or infinite values (a diverged run keeps its previous checkpoint), and loading refuses
them too (a file altered or written by something else), naming the array.
"""
from __future__ import annotations

import json
import os
import zipfile
from typing import Any, Mapping

import numpy as np

from tinygan.devices import backend
from tinygan.run.atomic import atomic_write

FORMAT = "tinygan-checkpoint"
VERSION = 1
META_KEY = "__meta__"


class CheckpointError(ValueError):
    """A checkpoint cannot be used; the message names the file and the problem."""


class NonFiniteError(CheckpointError):
    """A checkpoint (to save or loaded) holds NaN or infinite values; ``name`` is the array."""

    def __init__(self, message: str, name: str) -> None:
        super().__init__(message)
        self.name = name


def first_non_finite(arrays: Mapping[str, np.ndarray]) -> tuple[str, str] | None:
    """(name, description) of the first float array holding NaN or Inf, or None."""
    for name, array in arrays.items():
        if array.dtype.kind == "f" and not np.all(np.isfinite(array)):
            bad = array[~np.isfinite(array)]
            kinds = sorted({"nan" if np.isnan(v) else ("inf" if v > 0 else "-inf")
                            for v in bad.ravel()[:1000]})
            return name, f"{bad.size} of {array.size} values are {'/'.join(kinds)}"
    return None


# ---- flattening nested dicts ----------------------------------------------------------
def _flatten(prefix: str, tree: Mapping[str, Any], arrays: dict[str, np.ndarray],
             meta: dict[str, Any]) -> None:
    """Arrays go to ``arrays`` under 'prefix/key/...'; everything else goes to ``meta``."""
    for key, value in tree.items():
        name = f"{prefix}/{key}"
        if isinstance(value, Mapping):
            _flatten(name, value, arrays, meta)
        elif hasattr(value, "shape") and hasattr(value, "dtype"):
            array = backend.to_numpy(value)
            if array.dtype == object:
                raise CheckpointError(f"cannot save {name}: object arrays need pickle")
            arrays[name] = array
        else:
            meta[name] = value


def _unflatten(prefix: str, arrays: Mapping[str, np.ndarray],
               meta: Mapping[str, Any]) -> dict[str, Any]:
    """Inverse of _flatten for one prefix: {'a': {'b': value}} from 'prefix/a/b'."""
    tree: dict[str, Any] = {}
    start = prefix + "/"
    for source in (arrays, meta):
        for name, value in source.items():
            if not name.startswith(start):
                continue
            node = tree
            *parents, leaf = name[len(start):].split("/")
            for part in parents:
                node = node.setdefault(part, {})
            node[leaf] = value
    return tree


def _optimizer_state(opt: Any) -> dict[str, Any]:
    state = opt.state_dict()
    return {"state": {str(i): s for i, s in state["state"].items()},
            "param_groups": state["param_groups"]}


# ---- saving ---------------------------------------------------------------------------
def save_checkpoint(path: str, *, G: Any, D: Any, opt_g: Any = None, opt_d: Any = None,
                    generator: Any = None, step: int = 0, config: Mapping[str, Any] | None = None,
                    data_state: Mapping[str, Any] | None = None,
                    history: Mapping[str, list] | None = None,
                    evaluations: list[dict[str, Any]] | None = None,
                    G_ema: Any = None) -> None:
    """Write the run to ``path`` (.npz) atomically: temp file in the same folder, then rename.

    Raises ``NonFiniteError`` (writing nothing) when any array holds NaN or Inf.
    ``evaluations``: JSON-ready records made during training, kept for a resumed run;
    ``G_ema``: the moving average of G's weights, when the run keeps one."""
    arrays: dict[str, np.ndarray] = {}
    meta: dict[str, Any] = {}
    _flatten("G", G.state_dict(), arrays, meta)
    _flatten("D", D.state_dict(), arrays, meta)
    if G_ema is not None:
        _flatten("G_ema", G_ema.state_dict(), arrays, meta)
    for name, opt in (("opt_g", opt_g), ("opt_d", opt_d)):
        if opt is not None:
            _flatten(name, _optimizer_state(opt), arrays, meta)
    _flatten("data", dict(data_state or {}), arrays, meta)
    for key, values in (history or {}).items():
        arrays[f"history/{key}"] = np.asarray(values, dtype=np.float64)
    header = {
        "format": FORMAT, "version": VERSION, "step": int(step),
        "config": dict(config or {}),
        "generator_state": generator.get_state() if generator is not None else None,
        "architecture": {k: list(v.shape) for k, v in arrays.items()
                         if k.startswith(("G/", "D/", "G_ema/"))},
        "values": meta,   # non-array leaves of the nested dicts (hyper-parameters, steps)
        "evaluations": list(evaluations or []),
    }
    bad = first_non_finite(arrays)
    if bad is not None:
        raise NonFiniteError(f"refusing to write checkpoint {path}: {bad[0]} is not finite "
                             f"({bad[1]})", bad[0])
    arrays[META_KEY] = np.frombuffer(json.dumps(header).encode("utf-8"), dtype=np.uint8)
    with atomic_write(path) as f:
        np.savez(f, **arrays)


# ---- loading --------------------------------------------------------------------------
def read_checkpoint(path: str) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """All arrays and the JSON header of a checkpoint, checked; no model needed."""
    if not os.path.exists(path):
        raise CheckpointError(f"checkpoint {path}: no such file")
    with open(path, "rb") as f:
        magic = f.read(4)
    if magic[:1] == b"\x80":
        raise CheckpointError(f"checkpoint {path}: is a Python pickle, not a .npz; refusing to "
                              f"unpickle it, as that could run code")
    if magic != b"PK\x03\x04":   # every .npz is a zip archive
        raise CheckpointError(f"checkpoint {path}: the file is truncated or not a .npz "
                              f"(it does not start like a zip archive)")
    try:
        with np.load(path, allow_pickle=False) as npz:
            arrays = {name: npz[name] for name in npz.files}
    except ValueError as err:
        if "pickle" in str(err):
            raise CheckpointError(f"checkpoint {path}: holds pickled Python objects (object "
                                  f"arrays); refusing to load them, as that could run code"
                                  ) from None
        raise CheckpointError(f"checkpoint {path}: unreadable ({err})") from None
    except (zipfile.BadZipFile, EOFError, OSError) as err:
        raise CheckpointError(f"checkpoint {path}: the file is truncated or not a .npz "
                              f"({type(err).__name__}: {err})") from None
    if META_KEY not in arrays:
        raise CheckpointError(f"checkpoint {path}: not a tinygan checkpoint (no {META_KEY})")
    try:
        header = json.loads(arrays.pop(META_KEY).tobytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise CheckpointError(f"checkpoint {path}: its metadata is corrupt ({err})") from None
    if header.get("format") != FORMAT or header.get("version") != VERSION:
        raise CheckpointError(f"checkpoint {path}: format {header.get('format')!r} version "
                              f"{header.get('version')!r}, expected {FORMAT!r} {VERSION}")
    bad = first_non_finite(arrays)
    if bad is not None:
        raise NonFiniteError(f"checkpoint {path}: {bad[0]} is not finite ({bad[1]}); a "
                             f"checkpoint must hold finite values, refusing to use it", bad[0])
    return arrays, header


def _check_architecture(path: str, who: str, module: Any, saved: Mapping[str, Any]) -> None:
    own = {k: tuple(v.shape) for k, v in module.state_dict().items()}
    theirs = {k: tuple(v.shape) for k, v in saved.items()}
    if own.keys() != theirs.keys():
        missing = sorted(set(own) - set(theirs))[:3]
        extra = sorted(set(theirs) - set(own))[:3]
        raise CheckpointError(f"checkpoint {path}: was saved from another architecture: {who} "
                              f"lacks {missing} / has unexpected {extra}")
    for k, shape in own.items():
        if theirs[k] != shape:
            raise CheckpointError(f"checkpoint {path}: was saved from another architecture: "
                                  f"{who} '{k}' has shape {theirs[k]} in the file but {shape} "
                                  f"in the model")


def _restore_optimizer(path: str, name: str, opt: Any, tree: Mapping[str, Any]) -> None:
    state = {int(i): dict(s) for i, s in tree.get("state", {}).items()}
    params = [p for group in opt.param_groups for p in group["params"]]
    for i, entry in state.items():   # each state array must have its parameter's shape
        if not 0 <= i < len(params):
            raise CheckpointError(f"checkpoint {path}: its {name} state names parameter {i}, "
                                  f"but this optimizer has {len(params)} parameters")
        for key, value in entry.items():
            shape = getattr(value, "shape", ())
            if shape != () and tuple(shape) != tuple(params[i].shape):
                raise CheckpointError(f"checkpoint {path}: its {name} state '{key}' of "
                                      f"parameter {i} has shape {tuple(shape)}, but the "
                                      f"parameter has shape {tuple(params[i].shape)}")
    try:
        opt.load_state_dict({"state": state, "param_groups": tree["param_groups"]})
    except (KeyError, ValueError, IndexError) as err:
        raise CheckpointError(f"checkpoint {path}: its {name} state does not fit this "
                              f"optimizer ({err})") from None


def load_checkpoint(path: str, *, G: Any, D: Any, opt_g: Any = None, opt_d: Any = None,
                    generator: Any = None, G_ema: Any = None) -> dict[str, Any]:
    """Load a checkpoint into the given objects (each one optional except G and D;
    ``G_ema``: the averaged generator, for runs that keep one).

    Returns {"step", "config", "data_state", "history", "evaluations"}. Raises
    CheckpointError for a missing, truncated, pickled, foreign-format, non-finite or
    other-architecture file.
    """
    arrays, header = read_checkpoint(path)
    values = header.get("values", {})
    g_state = _unflatten("G", arrays, values)
    d_state = _unflatten("D", arrays, values)
    _check_architecture(path, "G", G, g_state)
    _check_architecture(path, "D", D, d_state)
    G.load_state_dict(g_state)
    D.load_state_dict(d_state)
    if G_ema is not None:
        ema_state = _unflatten("G_ema", arrays, values)
        if not ema_state:
            raise CheckpointError(f"checkpoint {path}: holds no EMA of G (the run was trained "
                                  f"without one)")
        _check_architecture(path, "G_ema", G_ema, ema_state)
        G_ema.load_state_dict(ema_state)
    for name, opt in (("opt_g", opt_g), ("opt_d", opt_d)):
        if opt is not None:
            tree = _unflatten(name, arrays, values)
            if not tree:
                raise CheckpointError(f"checkpoint {path}: holds no {name} state")
            _restore_optimizer(path, name, opt, tree)
    if generator is not None:
        if header.get("generator_state") is None:
            raise CheckpointError(f"checkpoint {path}: holds no random generator state")
        generator.set_state(header["generator_state"])
    history = {k[len("history/"):]: v.tolist() for k, v in arrays.items()
               if k.startswith("history/")}
    return {"step": int(header["step"]), "config": header.get("config", {}),
            "data_state": _unflatten("data", arrays, values), "history": history,
            "evaluations": list(header.get("evaluations") or [])}
