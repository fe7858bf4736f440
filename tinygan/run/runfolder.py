"""A run folder that nothing can corrupt: what ``tinygan train --out DIR`` writes, and how.

    DIR/checkpoint.npz   everything needed to resume; the run's authority
    DIR/metrics.json     config, evaluations, loss history, final metrics (strict JSON)
    DIR/*.png            samples.png, curves.png, and scatter.png or figure1.png
    DIR/tinygan.lock     only while a ``train`` is writing: its pid and host

Four rules keep the folder whole whatever happens (Ctrl-C, kill -9, a full disk, a second
``train`` started by mistake):

1. Only a new folder, an empty one or a tinygan run folder is written to; a folder holding
   anything else is refused before a byte is written, so no file of the user's is replaced.
2. One writer at a time: ``train`` holds an exclusive lock on ``tinygan.lock`` (``flock``)
   for as long as it runs; a second ``train`` is refused, naming the first one's pid and
   host. The operating system releases the lock when its holder dies, however it dies, so
   a lock file left by a killed run is recognised as stale and taken over.
3. Every file is written atomically (``tinygan.run.atomic``): a temporary file, fsync, rename.
   A killed writer leaves at most a ``.tmp-*`` file, which the next writer removes.
4. metrics.json is rewritten after every checkpoint, with the checkpoint's step, so the two
   agree: both are written in full before either is renamed into place, and the
   checkpoint is the authority (it holds the history and the evaluations too), so a
   resumed run rebuilds metrics.json from it if a kill fell between the two renames.
"""
from __future__ import annotations

import errno
import json
import math
import os
import socket
import stat
import time
from contextlib import contextmanager
from typing import Any, Iterator

import numpy as np

from tinygan.run.atomic import PreparedWrite, remove_stale_temporaries
from tinygan.run.untrusted import read_json

CHECKPOINT = "checkpoint.npz"
METRICS = "metrics.json"
LOCK = "tinygan.lock"
REPORT_FORMAT = "tinygan-run"   # metrics.json's "format": how a run folder is recognised
MAX_CURVE_POINTS = 2000         # keep metrics.json small: at most this many points a curve
MAX_REPORT_BYTES = 64 * 2 ** 20  # a metrics.json larger than this is not one tinygan wrote

# what a checkpoint's config must hold for `tinygan train --resume` and `tinygan sample`
RUN_CONFIG_KEYS = ("data", "loss", "model", "seed", "steps", "batch_size", "z_dim", "noise",
                   "optimizer", "lr_g", "lr_d", "betas", "d_steps")


class RunFolderError(Exception):
    """A run folder that cannot be used as asked; the message is one line naming it."""


# ---- metrics.json ----------------------------------------------------------------------
def strict_json(value: Any) -> Any:
    """``value`` with NumPy scalars and arrays as Python values and every non-finite float as
    a string ("nan", "inf", "-inf"): JSON has no NaN or Infinity, and a strict parser
    (JavaScript's, jq) refuses Python's ``Infinity``. ``float("inf")`` reads them back."""
    if isinstance(value, dict):
        return {str(k): strict_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [strict_json(v) for v in value]
    if isinstance(value, np.ndarray):
        return strict_json(value.tolist())
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
    return value


def prepare_report(path: str, report: dict[str, Any]) -> PreparedWrite:
    """metrics.json as strict JSON, written to a temporary file; ``.commit()`` puts it in
    place."""
    text = json.dumps(strict_json(report), indent=1, allow_nan=False)
    prepared = PreparedWrite(path, "w")
    with prepared as f:
        f.write(text + "\n")
    return prepared


def write_report(path: str, report: dict[str, Any]) -> None:
    """metrics.json, atomically, as strict JSON."""
    prepare_report(path, report).commit()


def is_report(value: Any) -> bool:
    """Whether a parsed metrics.json is tinygan's (this format, or the one before it)."""
    if not isinstance(value, dict):
        return False
    if value.get("format") == REPORT_FORMAT:
        return True
    return {"config", "history", "step"} <= value.keys()   # written before "format" existed


def read_report(path: str) -> dict[str, Any]:
    """A run's metrics.json, checked; RunFolderError naming the file otherwise. It must be
    a regular file (not a link to /dev/zero, not a FIFO) of at most ``MAX_REPORT_BYTES``,
    nested at most ``MAX_JSON_DEPTH`` levels (tinygan.run.untrusted)."""
    report = read_json(path, limit=MAX_REPORT_BYTES, error=RunFolderError)
    if not is_report(report):
        got = ("an object without it" if isinstance(report, dict)
               else f"a JSON {type(report).__name__}")
        raise RunFolderError(f"{path}: not a tinygan metrics.json (expected an object with "
                             f"\"format\": \"{REPORT_FORMAT}\", got {got})")
    return report


def build_report(trainer: Any, status: str, checkpoint_step: int | None,
                 **extra: Any) -> dict[str, Any]:
    """What metrics.json holds; ``step`` is that of the checkpoint beside it (None: none)."""
    n = len(trainer.history["d_loss"])
    stride = max(1, math.ceil(n / MAX_CURVE_POINTS))
    return {"format": REPORT_FORMAT, "status": status, "step": checkpoint_step,
            "config": trainer.config, "evaluations": trainer.evaluations, **extra,
            "history_stride": stride,
            "history": {k: v[::stride] for k, v in trainer.history.items()}}


# ---- the checkpoint's config -----------------------------------------------------------
def run_config(checkpoint: str) -> tuple[dict[str, Any], int]:
    """(config, step) of a checkpoint written by ``tinygan train``; refuses, in one line, a
    missing, corrupt or non-finite file and one saved without a run config."""
    from tinygan.run.checkpoint import read_checkpoint
    arrays, header = read_checkpoint(checkpoint)
    config = header.get("config")
    missing = [k for k in RUN_CONFIG_KEYS if not isinstance(config, dict) or k not in config]
    if missing:
        shown = ", ".join(missing[:4]) + (", ..." if len(missing) > 4 else "")
        raise RunFolderError(f"checkpoint {checkpoint}: holds no `tinygan train` run config "
                             f"(missing {shown}); it was saved without config=, so load it in "
                             f"Python with tinygan.run.checkpoint.load_checkpoint(path, G=..., D=...)")
    check_config_types(checkpoint, config)
    check_config_against_weights(checkpoint, config, arrays)
    check_config_builds(checkpoint, config)
    return config, int(header["step"])


def check_config_builds(checkpoint: str, config: dict[str, Any]) -> None:
    """The config's model options have the kinds of the recipe's own (a list of sizes where
    the recipe has one, a count >= 1 where it has a count, a name where it has a name), and
    the models it describes build. Run after ``check_config_against_weights``, so the models
    are no larger than the file's own weights; whatever else the combination of settings
    gets wrong becomes one line naming the config rather than a traceback."""
    from tinygan.gan.models import build_models
    from tinygan.gan.recipe import Recipe, make_recipe
    where = f"checkpoint {checkpoint}: config"
    try:
        defaults = make_recipe(config["data"], config["loss"], config["model"]).model_options
    except (ValueError, TypeError, KeyError) as err:
        raise RunFolderError(f"{where}: {err}") from None
    for key, value in config.get("model_options", {}).items():
        default = defaults.get(key)
        if key not in defaults:
            raise RunFolderError(f"{where} model_options.{key} is not an option of the "
                                 f"{config['data']} {config['model']} recipe "
                                 f"({', '.join(defaults) or 'it has none'})")
        sizes = isinstance(default, tuple) and all(_is_int(v) for v in default)
        if sizes and not (isinstance(value, list) and all(_is_int(v) and v >= 1
                                                          for v in value)):
            raise RunFolderError(f"{where} model_options.{key} must be a list of sizes >= 1, "
                                 f"got {_shown(value)}")
        if _is_int(default) and not (_is_int(value) and value >= 1):
            raise RunFolderError(f"{where} model_options.{key} must be a whole number >= 1, "
                                 f"got {_shown(value)}")
        if isinstance(default, str) and not isinstance(value, str):
            raise RunFolderError(f"{where} model_options.{key} must be a name, got "
                                 f"{_shown(value)}")
    try:
        recipe = Recipe.from_dict(config).to_dict()
        options = {k: tuple(v) if isinstance(v, list) else v
                   for k, v in recipe["model_options"].items()}
        build_models(recipe["model"], recipe["data"], recipe["z_dim"], 0, None, **options)
    except (TypeError, ValueError, KeyError, ZeroDivisionError, AttributeError, IndexError,
            OverflowError) as err:
        reason = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise RunFolderError(f"{where} does not describe models tinygan can build "
                             f"({reason})") from None


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_number(v: Any) -> bool:
    return (_is_int(v) or isinstance(v, float)) and not isinstance(v, bool) and math.isfinite(v)


# a Recipe field's annotation -> (what its value must be, in words; the test)
_FIELD_TYPES: dict[str, tuple[str, Any]] = {
    "str": ("a string", lambda v: isinstance(v, str)),
    "int": ("a whole number", _is_int),
    "float": ("a finite number", _is_number),
    "bool": ("true or false", lambda v: isinstance(v, bool)),
    "tuple[float, float]": ("a list of two finite numbers",
                            lambda v: isinstance(v, list) and len(v) == 2
                            and all(_is_number(x) for x in v)),
    "dict[str, Any]": ("an object", lambda v: isinstance(v, dict)),
}
# fields that count things: they must be at least 1 (the seed: at least 0)
_AT_LEAST = {"steps": 1, "batch_size": 1, "z_dim": 1, "d_steps": 1, "seed": 0}


def check_config_types(checkpoint: str, config: dict[str, Any]) -> None:
    """Each setting of a checkpoint's run config has its Recipe field's JSON type (a file
    may say ``"lr_g": "fast"`` or ``"seed": [1]``): one line naming the field otherwise,
    before any of it is used."""
    import dataclasses
    from tinygan.gan.recipe import Recipe
    for f in dataclasses.fields(Recipe):
        if f.name not in config:
            continue
        value, annotation = config[f.name], str(f.type)
        optional = annotation.endswith(" | None")
        described, test = _FIELD_TYPES.get(annotation.removesuffix(" | None"),
                                           ("a JSON value", lambda v: True))
        if (value is None and optional) or test(value):
            if _is_int(value) and not _AT_LEAST.get(f.name, -2 ** 63) <= value < 2 ** 63:
                raise RunFolderError(f"checkpoint {checkpoint}: config {f.name} is {value}, "
                                     f"outside [{_AT_LEAST.get(f.name, -2 ** 63)}, 2^63)")
            continue
        raise RunFolderError(f"checkpoint {checkpoint}: config {f.name} must be {described}"
                             f"{' or null' if optional else ''}, got {_shown(value)}")
    from tinygan.data.registry import DATASETS
    from tinygan.gan.losses import LOSSES
    from tinygan.gan.models import MODELS
    for field, known in (("data", DATASETS), ("loss", LOSSES), ("model", MODELS)):
        if config[field] not in known:
            raise RunFolderError(f"checkpoint {checkpoint}: config {field} {config[field]!r} "
                                 f"is not one tinygan knows ({', '.join(known)})")
    for key, value in config.get("model_options", {}).items():
        flat = value if isinstance(value, list) else [value]
        if not all(isinstance(v, (str, bool)) or _is_number(v) for v in flat):
            raise RunFolderError(f"checkpoint {checkpoint}: config model_options.{key} must "
                                 f"be a number, a string or a list of them, got "
                                 f"{_shown(value)}")


def _shown(value: Any) -> str:
    text = json.dumps(value)
    return f"{type(value).__name__} {text[:40]}{'...' if len(text) > 40 else ''}"


def check_config_against_weights(checkpoint: str, config: dict[str, Any],
                                 arrays: dict[str, np.ndarray]) -> None:
    """A config's layer sizes must be sizes of the file's own weights, checked BEFORE a
    model is built from it: a config asking for 50,000 x 50,000 hidden layers over small
    weights would otherwise allocate gigabytes only to be refused by the shape check.
    Every whole number among ``z_dim`` and ``model_options`` must be at most the largest
    dimension of G's and D's weights, and two neighbours in a list of sizes (a layer's
    input and output) at most as many weights as the file holds."""
    shapes = [a.shape for k, a in arrays.items() if k.startswith(("G/", "D/", "G_ema/"))]
    largest = max((d for shape in shapes for d in shape), default=0)
    total = sum(int(np.prod(shape)) for shape in shapes)
    sizes = [("z_dim", [config["z_dim"]])] + [
        (f"model_options.{k}", v if isinstance(v, list) else [v])
        for k, v in config.get("model_options", {}).items()]
    for name, values in sizes:
        ints = [v for v in values if _is_int(v)]
        for v in ints:
            if v > largest:
                raise RunFolderError(f"checkpoint {checkpoint}: config {name} asks for a size "
                                     f"of {v}, but no weight in the file has a dimension that "
                                     f"large (largest {largest}): the config does not match "
                                     f"the weights; refusing to build the model")
        for a, b in zip(ints, ints[1:]):
            if a * b > total:
                raise RunFolderError(f"checkpoint {checkpoint}: config {name} asks for layers "
                                     f"of {a} x {b} weights, more than the {total} the file "
                                     f"holds: the config does not match the weights")


# ---- one writer at a time --------------------------------------------------------------
def _pid_running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True     # it exists, it is only someone else's
    return True


class RunLock:
    """An exclusive lock on ``folder/tinygan.lock`` holding the writer's pid, host and start.

    POSIX ``flock`` does the excluding: the kernel drops it when the holder exits or is
    killed, so a lock file whose lock is free is stale by definition. Without ``fcntl``
    (Windows) the file itself is the lock (created with O_EXCL), and a file naming a pid that
    no longer runs on this host is stale.
    """

    def __init__(self, folder: str) -> None:
        self.path = os.path.join(folder, LOCK)
        self.fd: int | None = None

    def _holder(self, text: str) -> str:
        try:
            info = json.loads(text)
            return (f"pid {info['pid']} on host {info['host']}, started "
                    f"{info.get('started', '?')}")
        except (ValueError, KeyError, TypeError):
            return "an unknown writer"

    def _busy(self, holder: str) -> RunFolderError:
        folder = os.path.dirname(self.path)
        return RunFolderError(f"{folder} is in use by another tinygan train ({holder}): wait "
                              f"for it to finish or choose another --out (a run folder has "
                              f"one writer at a time)")

    def _own_record(self) -> bytes:
        return json.dumps({"pid": os.getpid(), "host": socket.gethostname(),
                           "started": time.strftime("%Y-%m-%d %H:%M:%S")}).encode()

    def acquire(self) -> str | None:
        """Take the lock or raise RunFolderError; returns a note when a stale lock is taken
        over. An unwritable folder fails here, before any training."""
        try:
            import fcntl
        except ImportError:
            return self._acquire_exclusive_create()
        while True:
            fd = self._open()
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                text = os.pread(fd, 4096, 0).decode("utf-8", "replace")
                os.close(fd)
                raise self._busy(self._holder(text)) from None
            try:   # the previous holder may have deleted the file between our open and flock
                same = os.stat(self.path).st_ino == os.fstat(fd).st_ino
            except FileNotFoundError:
                same = False
            if not same:
                os.close(fd)
                continue
            previous = os.pread(fd, 4096, 0).decode("utf-8", "replace")
            os.ftruncate(fd, 0)
            os.pwrite(fd, self._own_record(), 0)
            self.fd = fd
            return (f"took over the stale lock of {self._holder(previous)}, which no longer "
                    f"runs" if previous.strip() else None)

    def _open(self) -> int:
        """The lock file, opened (created if missing) only if it is a regular file: through a
        symbolic link, truncating it and writing a pid would destroy the link's target,
        wherever it is, and a link to a missing path would create a file outside the folder
        (O_NOFOLLOW refuses both); O_NONBLOCK keeps a FIFO from hanging the open."""
        flags = (os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0)
                 | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
        try:
            fd = os.open(self.path, flags, 0o666)
        except OSError as err:
            if err.errno == errno.ELOOP or os.path.islink(self.path):
                raise RunFolderError(f"{self.path}: is a symbolic link, not a lock file; "
                                     f"refusing to write through it (remove the link)"
                                     ) from None
            raise RunFolderError(f"cannot write to {os.path.dirname(self.path)}: "
                                 f"{err.strerror or err}") from None
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            os.close(fd)
            raise RunFolderError(f"{self.path}: is not a regular file, so not a lock file; "
                                 f"refusing to use it (remove it)")
        return fd

    def _acquire_exclusive_create(self) -> str | None:
        note = None
        for _ in range(2):
            try:
                fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o666)
            except FileExistsError:
                with open(self.path, encoding="utf-8", errors="replace") as f:
                    text = f.read()
                try:
                    info = json.loads(text)
                    stale = info["host"] == socket.gethostname() and not _pid_running(
                        int(info["pid"]))
                except (ValueError, KeyError, TypeError):
                    stale = False
                if not stale:
                    raise self._busy(self._holder(text)) from None
                os.remove(self.path)
                note = f"removed the stale lock of {self._holder(text)}, which no longer runs"
                continue
            os.write(fd, self._own_record())
            self.fd = fd
            return note
        raise self._busy("a writer that keeps re-creating the lock")

    def release(self) -> None:
        if self.fd is None:
            return
        try:
            os.remove(self.path)   # delete while still holding it, then let go
        except OSError:
            pass
        os.close(self.fd)
        self.fd = None


# ---- the folder ------------------------------------------------------------------------
#: the longest name a run folder's file has, with its temporary prefix (".tmp-" + name +
#: "-" + 8 random characters): the folder's path must leave room for it
LONGEST_INSIDE = len(".tmp-checkpoint.npz-") + 8


def check_path_length(path: str) -> None:
    """Refuse, before creating anything, a folder path the system cannot hold: a name
    longer than NAME_MAX, or a path that leaves no room under PATH_MAX for its files."""
    full = os.path.abspath(path)
    try:
        name_max = os.pathconf(os.path.dirname(full) or "/", "PC_NAME_MAX")
    except (OSError, ValueError, AttributeError):
        name_max = 255
    try:
        path_max = os.pathconf("/", "PC_PATH_MAX")
    except (OSError, ValueError, AttributeError):
        path_max = 4096
    for part in full.split(os.sep):
        if len(os.fsencode(part)) > name_max:
            raise RunFolderError(f"--out {path}: the folder name {part[:40]!r}... is "
                                 f"{len(os.fsencode(part))} bytes, longer than the system's "
                                 f"limit of {name_max}")
    if len(os.fsencode(full)) + 1 + LONGEST_INSIDE >= path_max:
        raise RunFolderError(f"--out {path}: the path is {len(os.fsencode(full))} bytes; with "
                             f"its files' names it passes the system's limit of {path_max} "
                             f"(PATH_MAX): choose a shorter one")


def _missing_folders(path: str) -> list[str]:
    """The folders ``os.makedirs(path)`` would create, outermost first."""
    missing, here = [], os.path.abspath(path)
    while not os.path.lexists(here):
        missing.append(here)
        parent = os.path.dirname(here)
        if parent == here:
            break
        here = parent
    return missing[::-1]


def _remove_empty(folders: list[str]) -> None:
    """Remove the folders this run created (innermost first) while they are still empty."""
    for folder in reversed(folders):
        try:
            os.rmdir(folder)
        except OSError:
            return


class RunFolder:
    """The run folder ``path``: ``check()`` it, then write inside ``with folder.writing():``."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.checkpoint = os.path.join(path, CHECKPOINT)
        self.metrics = os.path.join(path, METRICS)

    def file(self, name: str) -> str:
        return os.path.join(self.path, name)

    def check(self) -> str:
        """"new", "empty" or "run"; RunFolderError for a file or a folder of other things."""
        if not os.path.exists(self.path):
            return "new"
        if not os.path.isdir(self.path):
            raise RunFolderError(f"--out {self.path} is a file, not a folder")
        names = sorted(n for n in os.listdir(self.path)
                       if n != LOCK and not n.startswith(".tmp-"))
        if not names:
            return "empty"
        if CHECKPOINT in names:
            return "run"
        reason = "no checkpoint.npz or tinygan metrics.json"
        if METRICS in names:
            try:
                read_report(self.metrics)
                return "run"
            except RunFolderError as err:
                reason = f"no checkpoint.npz, and {err}"
        shown = ", ".join(names[:3]) + (", ..." if len(names) > 3 else "")
        raise RunFolderError(f"--out {self.path} is not a tinygan run folder: it holds "
                             f"{len(names)} other file(s) ({shown}) and {reason}; choose a "
                             f"new or empty folder, so that nothing in it is overwritten")

    @contextmanager
    def writing(self) -> Iterator[list[str]]:
        """Create the folder if needed, hold its lock, remove stale temporaries; yields notes
        to print. On the way out the lock is released, and a folder this call created is
        removed again if nothing was written into it (an interrupted start-up)."""
        check_path_length(self.path)
        created = _missing_folders(self.path)   # deepest last: removed again on the way out
        try:
            os.makedirs(self.path, exist_ok=True)
        except OSError as err:
            _remove_empty(created)
            raise RunFolderError(f"cannot create --out {self.path}: {err.strerror or err}"
                                 ) from None
        lock = RunLock(self.path)
        try:
            notes = [lock.acquire()]
            removed = remove_stale_temporaries(self.path)
            if removed:
                notes.append(f"removed {len(removed)} temporary file(s) a killed run left in "
                             f"{self.path} ({', '.join(removed[:3])})")
            yield [n for n in notes if n]
        finally:
            lock.release()
            _remove_empty(created)

    def save(self, trainer: Any) -> None:
        """The checkpoint and metrics.json of the same step. Both are fully written before
        either is renamed into place, so a full disk changes neither; only a kill in the
        microseconds between the two renames leaves metrics.json one checkpoint behind (and
        ``train --resume`` rewrites it from the checkpoint)."""
        report = prepare_report(self.metrics, build_report(trainer, "training", trainer.step))
        try:
            trainer.save(self.checkpoint)
        except BaseException:
            report.discard()
            raise
        report.commit()

    def write_progress(self, trainer: Any, **extra: Any) -> None:
        write_report(self.metrics, build_report(trainer, "training", trainer.step, **extra))

    def report_step(self) -> int | None:
        """The step metrics.json claims, or None when it is missing or unreadable."""
        try:
            step = read_report(self.metrics).get("step")
        except RunFolderError:
            return None
        return step if isinstance(step, int) else None

    def legacy_evaluations(self, up_to_step: int) -> list[dict[str, Any]]:
        """Evaluations of a run checkpointed before checkpoints held them (metrics.json's)."""
        try:
            evaluations = read_report(self.metrics).get("evaluations")
        except RunFolderError:
            return []
        if not isinstance(evaluations, list):
            return []
        return [e for e in evaluations if isinstance(e, dict)
                and isinstance(e.get("step"), int) and e["step"] <= up_to_step]
