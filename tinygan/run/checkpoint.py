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

import copy
import json
import math
import os
import struct
import zipfile
from typing import Any, Mapping

import numpy as np

from tinygan.devices import backend
from tinygan.run.atomic import atomic_write
from tinygan.run.untrusted import (check_budget, check_zip_member, open_regular,
                                   parse_json)

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
    """(name, description) of the first float or complex array holding NaN or Inf (in
    either part of a complex number), or None."""
    for name, array in arrays.items():
        if array.dtype.kind in "fc" and not np.all(np.isfinite(array)):
            bad = array[~np.isfinite(array)]
            kinds = sorted({_describe(v) for v in bad.ravel()[:1000]})
            return name, f"{bad.size} of {array.size} values are {'/'.join(kinds)}"
    return None


def _describe(value: Any) -> str:
    """"nan", "inf" or "-inf" for a non-finite real or complex number."""
    if np.isnan(value):
        return "nan"
    part = value.real if np.isinf(value.real) else value.imag
    return "inf" if part > 0 else "-inf"


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
                if not isinstance(node, dict):   # a file may name "a" and "a/b" both
                    raise CheckpointError(f"{name}: {part} is both a value and a folder")
            if leaf in node:
                raise CheckpointError(f"{name}: appears twice (as an array and a value)")
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


# ---- loading: a file from a stranger, checked before anything is allocated or built ----
MAX_HEADER_BYTES = 64 * 2 ** 20   # the JSON header; tinygan's are a few kilobytes
MAX_NPY_HEADER = 10000            # NumPy's own limit on a .npy member's header
NUMBER_KINDS = "biufc"            # bool, signed/unsigned int, float, complex: nothing else


def _read_npy(member: Any, present: int, name: str) -> np.ndarray:
    """One .npz member (a .npy stream of ``present`` bytes): its header parsed and checked
    (a plain number dtype, a shape whose bytes are exactly the bytes present, within the
    memory budget) BEFORE the array is allocated; then read into that one buffer."""
    try:
        version = np.lib.format.read_magic(member)
        if version not in ((1, 0), (2, 0)):
            raise ValueError(f".npy format version {version} (tinygan writes 1.0)")
        read_header = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                       else np.lib.format.read_array_header_2_0)
        shape, fortran, dtype = read_header(member, max_header_size=MAX_NPY_HEADER)
    except Exception as err:   # NumPy parses the header text: any failure means invalid
        raise CheckpointError(f"{name}: not a valid .npy header "
                              f"({str(err).splitlines()[0] if str(err) else err!r})") from None
    if dtype.hasobject:
        raise CheckpointError(f"{name}: holds pickled Python objects (object arrays); "
                              f"refusing to load them, as that could run code")
    if dtype.kind not in NUMBER_KINDS or dtype.fields is not None or dtype.subdtype:
        raise CheckpointError(f"{name}: dtype {dtype.str} is not a plain number type")
    if not all(isinstance(d, int) and d >= 0 for d in shape):
        raise CheckpointError(f"{name}: shape {shape} is not a list of sizes >= 0")
    nbytes = math.prod(shape) * dtype.itemsize
    header = member.tell()
    if header + nbytes != present:
        raise CheckpointError(f"{name}: its header declares {dtype.name} {shape} "
                              f"({nbytes:,} bytes) but the member holds {present - header:,}")
    check_budget(nbytes, name, CheckpointError)
    buffer = bytearray(nbytes)
    if member.readinto(buffer) != nbytes:
        raise CheckpointError(f"{name}: truncated")
    array = np.frombuffer(buffer, dtype=dtype).reshape(shape, order="F" if fortran else "C")
    return array.astype(dtype.newbyteorder("="), copy=False)


def read_npz(path: str, what: str = "checkpoint") -> dict[str, np.ndarray]:
    """Every array of the .npz at ``path``, each member checked before it is read (the
    reader for any .npz tinygan did not necessarily write; ``what`` names it in messages)."""
    with open_regular(path, follow_symlinks=False, error=CheckpointError,
                      what=f"{what} ") as f:
        magic = f.read(4)
        if magic[:1] == b"\x80":
            raise CheckpointError(f"{what} {path}: is a Python pickle, not a .npz; "
                                  f"refusing to unpickle it, as that could run code")
        if magic != b"PK\x03\x04":   # every .npz is a zip archive
            raise CheckpointError(f"{what} {path}: the file is truncated or not a .npz "
                                  f"(it does not start like a zip archive)")
        f.seek(0)
        size = os.fstat(f.fileno()).st_size
        arrays: dict[str, np.ndarray] = {}
        total = 0
        try:
            with zipfile.ZipFile(f) as archive:
                for info in archive.infolist():
                    key, name = info.filename[:-4], f"{what} {path}: {info.filename}"
                    if not info.filename.endswith(".npy") or key in arrays:
                        raise CheckpointError(f"{name}: " + (
                            "appears twice in the archive" if key in arrays else
                            "is not a .npy array (a .npz holds only those)"))
                    check_zip_member(info, size, name, CheckpointError)
                    total += info.file_size
                    check_budget(total, name, CheckpointError)
                    with archive.open(info) as member:   # inflates at most file_size bytes
                        arrays[key] = _read_npy(member, info.file_size, name)
        except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError,
                NotImplementedError, ValueError, struct.error) as err:
            if isinstance(err, CheckpointError):
                raise
            raise CheckpointError(f"{what} {path}: the file is truncated or not a .npz "
                                  f"({type(err).__name__}: {err})") from None
    return arrays


def _expect(path: str, ok: bool, field: str, wanted: str, value: Any) -> None:
    if not ok:
        text = json.dumps(value)[:40]
        raise CheckpointError(f"checkpoint {path}: its header's {field} must be {wanted}, got "
                              f"{type(value).__name__} {text}")


def _check_header(path: str, header: Any) -> dict[str, Any]:
    """The JSON header's fields have the types tinygan wrote (a file may say anything)."""
    _expect(path, isinstance(header, dict), "top level", "an object", header)
    if header.get("format") != FORMAT or header.get("version") != VERSION:
        raise CheckpointError(f"checkpoint {path}: format {header.get('format')!r} version "
                              f"{header.get('version')!r}, expected {FORMAT!r} {VERSION}")
    step = header.get("step")
    _expect(path, isinstance(step, int) and not isinstance(step, bool) and 0 <= step < 2 ** 63,
            "step", "a whole number >= 0", step)
    for field in ("config", "values", "architecture"):
        _expect(path, isinstance(header.get(field, {}), dict), field, "an object",
                header.get(field))
    evaluations = header.get("evaluations") or []
    _expect(path, isinstance(evaluations, list) and all(isinstance(e, dict)
                                                        for e in evaluations),
            "evaluations", "a list of objects", header.get("evaluations"))
    state = header.get("generator_state")
    _expect(path, state is None or isinstance(state, dict), "generator_state",
            "an object or null", state)
    return header


def read_checkpoint(path: str) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """All arrays and the JSON header of a checkpoint, checked; no model needed. The file
    must be a regular file (not a link, a FIFO or a device); every member's declared size is
    checked against the bytes present and the memory budget before it is read."""
    arrays = read_npz(path)
    if META_KEY not in arrays:
        raise CheckpointError(f"checkpoint {path}: not a tinygan checkpoint (no {META_KEY})")
    meta = arrays.pop(META_KEY)
    if meta.dtype != np.uint8 or meta.ndim != 1 or meta.size > MAX_HEADER_BYTES:
        raise CheckpointError(f"checkpoint {path}: its metadata is corrupt ({META_KEY} is "
                              f"{meta.dtype} {meta.shape}, not JSON text bytes)")
    header = _check_header(path, parse_json(meta.tobytes(), f"checkpoint {path}: its "
                                            f"metadata", CheckpointError))
    bad = first_non_finite(arrays)
    if bad is not None:
        raise NonFiniteError(f"checkpoint {path}: {bad[0]} is not finite ({bad[1]}); a "
                             f"checkpoint must hold finite values, refusing to use it", bad[0])
    return arrays, header


def _check_architecture(path: str, who: str, module: Any, saved: Mapping[str, Any]) -> None:
    own = {k: tuple(v.shape) for k, v in module.state_dict().items()}
    for k, v in saved.items():
        if not isinstance(v, np.ndarray):
            raise CheckpointError(f"checkpoint {path}: {who} '{k}' is a "
                                  f"{type(v).__name__}, not an array")
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


def _check_optimizer(path: str, name: str, opt: Any, tree: Mapping[str, Any]
                     ) -> dict[int, dict[str, Any]]:
    """The optimizer state of the file, checked against ``opt`` before anything is loaded:
    parameter indices in range, each state array of its parameter's shape, and each group's
    settings of the same kinds as the optimizer's own (a number stays a number)."""
    raw_state = tree.get("state", {})
    if not isinstance(raw_state, Mapping) or not all(k.isdigit() for k in raw_state):
        raise CheckpointError(f"checkpoint {path}: its {name} state is not indexed by "
                              f"parameter numbers")
    state = {int(i): dict(s) if isinstance(s, Mapping) else s for i, s in raw_state.items()}
    params = [p for group in opt.param_groups for p in group["params"]]
    for i, entry in state.items():   # each state array must have its parameter's shape
        if not 0 <= i < len(params):
            raise CheckpointError(f"checkpoint {path}: its {name} state names parameter {i}, "
                                  f"but this optimizer has {len(params)} parameters")
        if not isinstance(entry, dict):
            raise CheckpointError(f"checkpoint {path}: its {name} state of parameter {i} is "
                                  f"a {type(entry).__name__}, not a set of named values")
        for key, value in entry.items():
            shape = getattr(value, "shape", ())
            if shape != () and tuple(shape) != tuple(params[i].shape):
                raise CheckpointError(f"checkpoint {path}: its {name} state '{key}' of "
                                      f"parameter {i} has shape {tuple(shape)}, but the "
                                      f"parameter has shape {tuple(params[i].shape)}")
            if hasattr(value, "dtype") and value.dtype != params[i].dtype:
                raise CheckpointError(f"checkpoint {path}: its {name} state '{key}' of "
                                      f"parameter {i} is {value.dtype}, but the parameter is "
                                      f"{params[i].dtype}")
            if not hasattr(value, "dtype") and not (   # a count of steps taken
                    isinstance(value, int) and not isinstance(value, bool)
                    and 1 <= value < 2 ** 53):
                raise CheckpointError(f"checkpoint {path}: its {name} state '{key}' of "
                                      f"parameter {i} is {json.dumps(value)[:40]}, not an "
                                      f"array or a whole number of steps >= 1")
    groups = tree.get("param_groups")
    if not isinstance(groups, list) or len(groups) != len(opt.param_groups):
        raise CheckpointError(f"checkpoint {path}: its {name} param_groups do not fit this "
                              f"optimizer ({len(opt.param_groups)} groups)")
    for theirs, ours in zip(groups, opt.param_groups):
        if not isinstance(theirs, dict):
            raise CheckpointError(f"checkpoint {path}: its {name} param_groups hold a "
                                  f"{type(theirs).__name__}, not an object")
        for key, value in ours.items():
            if key != "params" and key in theirs and not _same_kind(value, theirs[key]):
                raise CheckpointError(f"checkpoint {path}: its {name} setting '{key}' is "
                                      f"{json.dumps(theirs[key])[:40]}, not a value like "
                                      f"{value!r}")
        _check_settings(path, name, opt, theirs)
    return state


def _check_settings(path: str, name: str, opt: Any, group: dict[str, Any]) -> None:
    """A group's settings pass the optimizer's own constructor checks (Adam's betas in
    [0, 1), a learning rate >= 0, ...): a probe optimizer is made with them."""
    import inspect
    accepted = inspect.signature(type(opt).__init__).parameters
    settings = {k: tuple(v) if isinstance(v, list) else v for k, v in group.items()
                if k in accepted and k not in ("self", "params")}
    from tinygan.engine.tensor import Parameter
    try:
        type(opt)([Parameter(np.zeros(1, np.float32))], **settings)
    except (ValueError, TypeError) as err:
        reason = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise CheckpointError(f"checkpoint {path}: its {name} settings are not ones this "
                              f"optimizer accepts ({reason})") from None


def _is_number(value: Any) -> bool:
    return (isinstance(value, (int, float)) and not isinstance(value, bool)
            and math.isfinite(value))


def _same_kind(ours: Any, theirs: Any) -> bool:
    """Whether a saved optimizer setting can stand where ``ours`` stands (JSON has lists
    for tuples, and numbers of either kind)."""
    if isinstance(ours, bool) or ours is None:
        return type(theirs) is type(ours) or (ours is None and _is_number(theirs))
    if isinstance(ours, (int, float)):
        return _is_number(theirs)
    if isinstance(ours, (tuple, list)):
        return isinstance(theirs, (tuple, list)) and len(theirs) == len(ours) and all(
            _same_kind(a, b) for a, b in zip(ours, theirs))
    return type(theirs) is type(ours)


def _restore_optimizer(path: str, name: str, opt: Any, tree: Mapping[str, Any],
                       state: dict[int, dict[str, Any]]) -> None:
    try:
        opt.load_state_dict({"state": state, "param_groups": tree["param_groups"]})
    except (KeyError, ValueError, IndexError, TypeError) as err:
        raise CheckpointError(f"checkpoint {path}: its {name} state does not fit this "
                              f"optimizer ({err})") from None


def _check_generator(path: str, generator: Any, state: Any) -> None:
    """Restore ``state`` into a copy first: a malformed one is refused, naming the field,
    before the real generator (or anything else) is touched."""
    if state is None:
        raise CheckpointError(f"checkpoint {path}: holds no random generator state")
    try:
        copy.deepcopy(generator).set_state(state)
    except (KeyError, TypeError, ValueError, AttributeError, IndexError,
            OverflowError) as err:
        raise CheckpointError(f"checkpoint {path}: its generator_state is not a random "
                              f"generator's state ({type(err).__name__}: {err})") from None


def load_checkpoint(path: str, *, G: Any, D: Any, opt_g: Any = None, opt_d: Any = None,
                    generator: Any = None, G_ema: Any = None) -> dict[str, Any]:
    """Load a checkpoint into the given objects (each one optional except G and D;
    ``G_ema``: the averaged generator, for runs that keep one).

    Returns {"step", "config", "data_state", "history", "evaluations"}. Raises
    CheckpointError for a missing, truncated, pickled, foreign-format, non-finite or
    other-architecture file. Everything is checked before anything is loaded, so a refused
    file leaves the given objects as they were.
    """
    arrays, header = read_checkpoint(path)
    values = header.get("values", {})
    try:
        for prefix in ("G", "D", "G_ema", "opt_g", "opt_d", "data"):
            _unflatten(prefix, arrays, values)
    except CheckpointError as err:
        raise CheckpointError(f"checkpoint {path}: {err}") from None
    states = {"G": (G, _unflatten("G", arrays, values)), "D": (D, _unflatten("D", arrays, values))}
    if G_ema is not None:
        states["G_ema"] = (G_ema, _unflatten("G_ema", arrays, values))
        if not states["G_ema"][1]:
            raise CheckpointError(f"checkpoint {path}: holds no EMA of G (the run was trained "
                                  f"without one)")
    for who, (module, saved) in states.items():
        _check_architecture(path, who, module, saved)
    optimizers = {}
    for name, opt in (("opt_g", opt_g), ("opt_d", opt_d)):
        if opt is not None:
            tree = _unflatten(name, arrays, values)
            if not tree:
                raise CheckpointError(f"checkpoint {path}: holds no {name} state")
            optimizers[name] = (opt, tree, _check_optimizer(path, name, opt, tree))
    if generator is not None:
        _check_generator(path, generator, header.get("generator_state"))
    data_state = _unflatten("data", arrays, values)
    _check_data_state(path, data_state)
    history = {k[len("history/"):]: v for k, v in arrays.items() if k.startswith("history/")}
    for key, curve in history.items():
        if curve.ndim != 1 or curve.dtype.kind not in "biuf":
            raise CheckpointError(f"checkpoint {path}: history/{key} is {curve.dtype} "
                                  f"{curve.shape}, not a list of real numbers")
    for module, saved in states.values():
        module.load_state_dict(saved)
    for name, (opt, tree, state) in optimizers.items():
        _restore_optimizer(path, name, opt, tree, state)
    if generator is not None:
        generator.set_state(header["generator_state"])
    return {"step": int(header["step"]), "config": header.get("config", {}),
            "data_state": data_state, "history": {k: v.tolist() for k, v in history.items()},
            "evaluations": list(header.get("evaluations") or [])}


def _check_data_state(path: str, tree: Mapping[str, Any]) -> None:
    """The position in the data (tinygan.data.batching's EpochSampler): an order that is a
    permutation of the examples, and a position and an epoch that are counts."""
    order = tree.get("order")
    if order is not None and not (
            isinstance(order, np.ndarray) and order.ndim == 1 and order.dtype.kind in "iu"
            and np.array_equal(np.sort(order), np.arange(order.size))):
        raise CheckpointError(f"checkpoint {path}: data/order is not a permutation of the "
                              f"examples")
    for key in ("position", "epoch"):
        value = tree.get(key, 0)
        if not (isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2 ** 63):
            raise CheckpointError(f"checkpoint {path}: data/{key} must be a whole number >= 0, "
                                  f"got a {type(value).__name__}")
    if order is not None and order.size and tree.get("position", 0) > order.size:
        raise CheckpointError(f"checkpoint {path}: data/position {tree['position']} is past "
                              f"the {order.size} examples")
    if not isinstance(tree.get("has_order", False), bool):
        raise CheckpointError(f"checkpoint {path}: data/has_order must be true or false")
