"""The ``tinygan`` command line (tinygan/run/cli.py)."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from tinygan.run.cli import main


def run(argv, capsys):
    code = main(argv)
    out = capsys.readouterr()
    return code, out.out, out.err


def test_train_writes_checkpoint_metrics_and_pictures(tmp_path, capsys):
    out = tmp_path / "ring"
    code, stdout, _ = run(["train", "--steps", "20", "--batch-size", "32", "--out", str(out),
                           "--quiet"], capsys)
    assert code == 0
    for name in ("checkpoint.npz", "metrics.json", "samples.png", "curves.png", "scatter.png"):
        assert (out / name).is_file(), name
    report = json.loads((out / "metrics.json").read_text())
    assert report["step"] == 20 and report["config"]["data"] == "ring"
    assert len(report["history"]["d_loss"]) == 20 and "modes_captured" in report["final"]
    assert "pictures:" in stdout and str(out / "samples.png") in stdout
    # two pictures, two views: the samples' density and the samples over the mode centres
    assert (out / "samples.png").read_bytes() != (out / "scatter.png").read_bytes()


def test_an_interrupted_run_resumes_bit_for_bit(tmp_path, capsys, monkeypatch):
    from tinygan.gan.trainer import GANTrainer
    straight, resumed = tmp_path / "straight", tmp_path / "resumed"
    common = ["--data", "grid", "--steps", "24", "--batch-size", "16", "--ckpt-every", "5",
              "--quiet"]
    assert main(["train", "--out", str(straight)] + common) == 0
    original = GANTrainer.train_step

    def interrupted_at_step_12(self):   # as if Ctrl-C arrived during step 13
        if self.step == 12:
            raise KeyboardInterrupt
        return original(self)

    monkeypatch.setattr(GANTrainer, "train_step", interrupted_at_step_12)
    assert main(["train", "--out", str(resumed)] + common) == 130
    monkeypatch.undo()
    assert np.load(resumed / "checkpoint.npz")["history/d_loss"].shape == (10,)  # last save
    assert main(["train", "--out", str(resumed), "--resume", "--quiet"]) == 0
    capsys.readouterr()
    a, b = np.load(straight / "checkpoint.npz"), np.load(resumed / "checkpoint.npz")
    weights = [k for k in a.files if k.startswith(("G/", "D/", "opt_"))]
    assert len(weights) > 10
    for k in weights:
        np.testing.assert_array_equal(a[k], b[k])
    report = json.loads((resumed / "metrics.json").read_text())
    assert report["step"] == 24 and len(report["history"]["d_loss"]) == 24
    assert main(["train", "--out", str(resumed), "--resume", "--steps", "30", "--quiet",
                 "--no-film"]) == 0
    assert json.loads((resumed / "metrics.json").read_text())["step"] == 30   # extended


def test_train_then_resume_on_each_backend(tmp_path, capsys, monkeypatch, each_backend):
    """``train --steps 20 --ckpt-every 10``, stopped during step 15 and continued with
    ``--resume``, ends in the same checkpoint as a straight run, on the CPU and on "cuda"
    (the stand-in in CI, CuPy on a GPU): the generator's saved state holds every device
    stream, so resuming is exact on either device."""
    from tinygan.gan.trainer import GANTrainer
    straight, resumed = tmp_path / "straight", tmp_path / "resumed"
    common = ["--data", "ring", "--steps", "20", "--batch-size", "16", "--ckpt-every", "10",
              "--quiet", "--no-film"]   # (the film across a resume: the test above)
    assert main(["train", "--out", str(straight)] + common) == 0
    original = GANTrainer.train_step

    def stopped_at_step_14(self):
        if self.step == 14:
            raise KeyboardInterrupt
        return original(self)

    monkeypatch.setattr(GANTrainer, "train_step", stopped_at_step_14)
    assert main(["train", "--out", str(resumed)] + common) == 130
    monkeypatch.undo()
    assert json.loads(np.load(resumed / "checkpoint.npz")["__meta__"].tobytes())["step"] == 10
    assert main(["train", "--out", str(resumed), "--resume", "--quiet", "--no-film"]) == 0
    capsys.readouterr()
    a, b = np.load(straight / "checkpoint.npz"), np.load(resumed / "checkpoint.npz")
    assert sorted(a.files) == sorted(b.files) and len(a.files) > 10
    for k in a.files:
        if k != "__meta__":
            np.testing.assert_array_equal(a[k], b[k], err_msg=k)
    header = json.loads(a["__meta__"].tobytes())
    assert header["step"] == 20
    streams = header["generator_state"]["streams"]
    assert set(streams) == {"cpu"} if each_backend == "numpy" else "cuda" in streams


def test_sample_writes_npy_in_data_coordinates_and_png(tmp_path, capsys):
    run_dir = tmp_path / "g"
    assert main(["train", "--data", "gauss1d", "--steps", "10", "--out", str(run_dir),
                 "--quiet", "--no-film"]) == 0
    assert (run_dir / "figure1.png").is_file()
    npy, png = tmp_path / "s.npy", tmp_path / "s.png"
    assert main(["sample", "--run", str(run_dir), "--n", "50", "--seed", "3", "--out",
                 str(npy)]) == 0
    assert main(["sample", "--run", str(run_dir), "--n", "50", "--out", str(png)]) == 0
    x = np.load(npy, allow_pickle=False)
    assert x.shape == (50, 1) and x.dtype == np.float32 and png.is_file()
    assert main(["sample", "--run", str(run_dir), "--n", "50", "--seed", "3", "--out",
                 str(tmp_path / "t.npy")]) == 0
    np.testing.assert_array_equal(x, np.load(tmp_path / "t.npy"))   # same seed, same samples
    capsys.readouterr()


@pytest.mark.parametrize("argv, expected", [
    (["train", "--data", "moons"], "invalid choice: 'moons' (choose from 'gauss1d', 'ring'"),
    (["train", "--loss", "gan"], "invalid choice: 'gan' (choose from 'minimax', 'ns'"),
    (["train", "--model", "resnet"], "invalid choice: 'resnet' (choose from 'mlp'"),
])
def test_unknown_names_list_the_valid_ones_in_one_line(argv, expected, capsys):
    with pytest.raises(SystemExit) as info:
        main(argv)
    err = capsys.readouterr().err
    assert info.value.code == 2 and expected in err and err.count("\n") == 1


def test_errors_are_one_line_not_a_traceback(tmp_path, capsys):
    code, _, err = run(["sample", "--run", str(tmp_path / "missing"), "--n", "5", "--out",
                        str(tmp_path / "x.npy")], capsys)
    assert code == 1 and err.startswith("tinygan: error: checkpoint") and err.count("\n") == 1
    code, _, err = run(["train", "--resume", "--out", str(tmp_path / "none")], capsys)
    assert code == 1 and "no checkpoint at" in err and err.count("\n") == 1
    run_dir = tmp_path / "r"
    assert main(["train", "--steps", "2", "--batch-size", "8", "--out", str(run_dir),
                 "--quiet"]) == 0
    capsys.readouterr()
    code, _, err = run(["train", "--steps", "2", "--out", str(run_dir)], capsys)
    assert code == 1 and "pass --resume" in err and err.count("\n") == 1
    code, _, err = run(["train", "--resume", "--out", str(run_dir), "--data", "grid"], capsys)
    assert code == 1 and "--data grid differs from the run's ring" in err
    code, _, err = run(["sample", "--run", str(run_dir), "--n", "5", "--out", "x.txt"], capsys)
    assert code == 1 and ".npy or .png" in err
    (run_dir / "checkpoint.npz").write_bytes(b"PK\x03\x04garbage")
    code, _, err = run(["sample", "--run", str(run_dir), "--n", "5", "--out",
                        str(tmp_path / "y.npy")], capsys)
    assert code == 1 and "truncated" in err and err.count("\n") == 1


def test_python_dash_m_tinygan_is_the_same_command(tmp_path):
    env = dict(os.environ, PYTHONPATH=os.getcwd())
    proc = subprocess.run([sys.executable, "-m", "tinygan", "train", "--loss", "nope"],
                          capture_output=True, text=True, env=env, cwd=tmp_path)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert proc.stderr.count("\n") == 1 and "choose from" in proc.stderr


def test_batch_size_must_fit_the_packed_discriminator(tmp_path, capsys):
    code, _, err = run(["train", "--batch-size", "30", "--out", str(tmp_path / "p")], capsys)
    assert code == 1 and "--batch-size 30 must be a multiple of 4" in err


def test_pictures_are_written_and_bad_shapes_are_named(tmp_path):
    from tinygan import viz
    from tinygan.data.toy import ring_modes
    rng = np.random.default_rng(0)
    viz.sample_grid(rng.uniform(-1, 1, (10, 1, 28, 28)), str(tmp_path / "grid.png"), nrow=5)
    viz.training_curves({"d_loss": [1.0, 0.9], "g_loss": [0.7, 0.8], "d_real": [0.6, 0.5],
                         "d_fake": [0.4, 0.5]}, str(tmp_path / "curves.png"))
    xs = np.linspace(2, 6, 50)
    viz.figure1_1d(xs, np.exp(-xs), np.exp(-xs), np.full(50, 0.5), np.full(50, 0.5),
                   str(tmp_path / "fig1.png"), step=3)
    viz.scatter_2d(rng.normal(size=(100, 2)), ring_modes(), str(tmp_path / "scatter.png"))
    viz.histogram_1d(rng.normal(size=100), str(tmp_path / "hist.png"), mu=0.0, sigma=1.0)
    for name in ("grid", "curves", "fig1", "scatter", "hist"):
        assert (tmp_path / f"{name}.png").stat().st_size > 1000
    with pytest.raises(ValueError, match=r"expects one channel \(N, 1, H, W\), got \(2, 3, 4, 4\)"):
        viz.sample_grid(np.zeros((2, 3, 4, 4)))
    with pytest.raises(ValueError, match=r"points of shape \(N, 2\), got \(5, 3\)"):
        viz.scatter_2d(np.zeros((5, 3)))


def test_recipe_instance_noise_reaches_zero_at_its_fraction_of_the_run():
    from tinygan.gan.build import build_trainer, make_config
    config = make_config("ring", "ns", "mlp", seed=0, steps=100)
    assert build_trainer(config).instance_noise_steps is None         # the ring has none
    config.update(instance_noise=0.4, instance_noise_until=0.5)
    trainer = build_trainer(config)
    assert (trainer.instance_noise, trainer.instance_noise_steps) == (0.4, 50)
    del config["instance_noise_until"]                                  # absent: the whole run
    assert build_trainer(config).instance_noise_steps == 100
    pacgan = make_config("grid", "ns", "pacgan", seed=0)                # PacGAN's own settings
    assert build_trainer(pacgan).instance_noise == 0.0


# ---- the command line is where runs are started, not where they are built -----------------
def _imports_of(source):
    """Every module a Python source imports (``import a.b`` and ``from a.b import c`` give
    a.b; ``from a import b`` gives a and a.b, since b may be a module)."""
    import ast
    names = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def test_notebooks_chapter_figures_and_benchmarks_do_not_import_the_command_line():
    """They build runs with tinygan.gan.build and score them with tinygan.gan.evaluate;
    tinygan/run/cli.py only reads arguments and calls those (issue 28)."""
    from pathlib import Path
    root = Path(__file__).resolve().parents[1]
    cli_modules = {"tinygan.run.cli", "tinygan.cli"}
    assert _imports_of("from tinygan.run import cli\nimport os") >= {"tinygan.run.cli"}
    assert _imports_of("from tinygan.run.cli import main") >= {"tinygan.run.cli"}
    sources = [*root.glob("notebooks/src/*.py"), *root.glob("notebooks/solutions/*.py"),
               *root.glob("chapters/figures/*.py"), *root.glob("benchmarks/*.py")]
    assert len(sources) > 20
    offenders = [str(p.relative_to(root)) for p in sources
                 if _imports_of(p.read_text(encoding="utf-8")) & cli_modules]
    assert offenders == [], f"import tinygan.gan.build / tinygan.gan.evaluate instead: {offenders}"
