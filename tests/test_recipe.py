"""The typed Recipe (tinygan/gan/recipe.py) and the stabiliser flags of ``tinygan train``:
recorded in metrics.json and the checkpoint, checked by --resume, resumed bit for bit."""
import dataclasses
import json

import numpy as np
import pytest

from tinygan.gan.build import build_trainer, make_config
from tinygan.run.cli import build_parser, main
from tinygan.gan import penalties
from tinygan.gan.recipe import Recipe, check_resume, flag_fields, make_recipe, off_values

STABILISERS = ["--penalty", "r1", "--penalty-weight", "5", "--spectral-norm", "--ema", "0.99",
               "--lr-g", "0.002", "--lr-d", "0.003", "--d-steps", "2"]


def test_round_trip_and_records_older_than_a_field():
    recipe = make_recipe("grid", "wgan-gp", seed=3, ema=0.999)
    assert Recipe.from_dict(json.loads(json.dumps(recipe.to_dict()))) == recipe
    old = recipe.to_dict()
    for name in ("penalty", "penalty_weight", "spectral_norm", "ema"):
        old.pop(name)                      # a run recorded before the stabilisers existed
    back = Recipe.from_dict(old)
    assert back.penalty is None and back.spectral_norm is False and back.ema is None
    with pytest.raises(ValueError, match="unknown settings"):
        Recipe.from_dict({**recipe.to_dict(), "colour": "red"})


def test_layers_of_settings_dataset_loss_model_flags():
    ring = make_recipe("ring")
    assert (ring.lr_g, ring.batch_size, ring.model_options["pack"]) == (1e-3, 256, 4)
    wgan = make_recipe("ring", "wgan")
    assert (wgan.optimizer, wgan.lr_d, wgan.d_steps) == ("rmsprop", 5e-5, 5)
    assert make_recipe("ring", "wgan", d_steps=2, lr_d=None).d_steps == 2   # None: not given
    assert make_recipe("grid", model="pacgan").instance_noise == 0.0
    assert make_config("ring", "ns", "mlp", 0) == ring.to_dict()


@pytest.mark.parametrize("bad, message", [
    (dict(penalty="r3"), "unknown penalty 'r3'"), (dict(ema=1.0), "--ema must be in"),
    (dict(penalty_weight=-1.0), "--penalty-weight must be >= 0"),
    (dict(d_steps=0), "--d-steps >= 1"), (dict(batch_size=30), "multiple of 4")])
def test_bad_settings_are_refused(bad, message):
    with pytest.raises(ValueError, match=message):
        make_recipe("ring", **bad)


def test_every_flagged_field_is_a_flag_and_off_values_are_defaults():
    text = build_parser()._subparsers._group_actions[0].choices["train"].format_help()
    for f in flag_fields():
        assert "--" + f.name.replace("_", "-") in text
    assert off_values()["spectral_norm"] is False and off_values()["ema"] is None
    assert all(off_values()[k] == f.default for f in dataclasses.fields(Recipe)
               for k in [f.name] if k in off_values())


def test_build_trainer_applies_the_stabilisers():
    config = make_config("ring", "ns", "mlp", 0, steps=10, penalty="r2", penalty_weight=3.0,
                         spectral_norm=True, ema=0.9)
    trainer = build_trainer(config)
    names = [n for n, _ in trainer.D.named_parameters()]
    assert names and all(not n.endswith(".weight") for n in names)
    assert sum(n.endswith("weight_orig") for n in names) == 4        # 3 hidden + output
    assert isinstance(trainer.penalty, penalties.R2Penalty) and trainer.penalty.weight == 3.0
    assert trainer.ema is not None and trainer.ema.decay == 0.9
    plain = build_trainer(make_config("ring", "ns", "mlp", 0, steps=10))
    assert plain.penalty is None and plain.ema is None


def test_check_resume_names_the_flag():
    saved = make_recipe("ring", ema=0.99).to_dict()
    check_resume(saved, {"ema": 0.99, "seed": None})
    with pytest.raises(ValueError, match="--spectral-norm True differs from the run's False"):
        check_resume(saved, {"spectral_norm": True})


def test_flags_are_recorded_and_resume_bit_for_bit(tmp_path, capsys, monkeypatch):
    from tinygan.gan.trainer import GANTrainer
    straight, resumed = tmp_path / "straight", tmp_path / "resumed"
    common = ["--steps", "12", "--batch-size", "16", "--ckpt-every", "4", "--quiet", "--no-film"]
    assert main(["train", "--out", str(straight)] + common + STABILISERS) == 0
    report = json.loads((straight / "metrics.json").read_text())
    config = report["config"]
    assert (config["penalty"], config["penalty_weight"], config["spectral_norm"], config["ema"],
            config["lr_g"], config["lr_d"], config["d_steps"]) == ("r1", 5.0, True, 0.99, 0.002,
                                                                    0.003, 2)
    assert max(report["history"]["penalty"]) > 0
    original = GANTrainer.train_step

    def interrupted_at_step_6(self):
        if self.step == 6:
            raise KeyboardInterrupt
        return original(self)

    monkeypatch.setattr(GANTrainer, "train_step", interrupted_at_step_6)
    assert main(["train", "--out", str(resumed)] + common + STABILISERS) == 130
    monkeypatch.undo()
    code = main(["train", "--out", str(resumed), "--resume", "--ema", "0.5", "--quiet",
                 "--no-film"])
    assert code == 1 and "--ema 0.5 differs from the run's 0.99" in capsys.readouterr().err
    assert main(["train", "--out", str(resumed), "--resume", "--spectral-norm", "--quiet",
                 "--no-film"]) == 0
    a, b = np.load(straight / "checkpoint.npz"), np.load(resumed / "checkpoint.npz")
    keys = [k for k in a.files if k.startswith(("G/", "D/", "G_ema/", "opt_"))]
    assert any(k.startswith("G_ema/") for k in keys) and any("weight_u" in k for k in keys)
    for k in keys:
        np.testing.assert_array_equal(a[k], b[k], err_msg=k)
    # sampling a run with an EMA draws from the average
    assert main(["sample", "--run", str(resumed), "--n", "5", "--out",
                 str(tmp_path / "s.npy")]) == 0


def test_penalty_weight_alone_is_refused(tmp_path, capsys):
    code = main(["train", "--penalty-weight", "3", "--out", str(tmp_path / "x"), "--quiet"])
    err = capsys.readouterr().err
    assert code == 1 and "--penalty-weight needs --penalty" in err and err.count("\n") == 1


def test_the_grid_recipe_carries_r1_and_a_wgan_critic_keeps_its_own_constraint():
    grid = make_recipe("grid")
    assert (grid.penalty, grid.penalty_weight) == ("r1", 1.0)
    assert make_recipe("grid", "wgan-gp").penalty is None      # its gradient penalty only
    assert make_recipe("grid", "wgan").penalty is None         # weight clipping only
    assert make_recipe("grid", model="pacgan").penalty is None  # PacGAN's own settings
    assert make_recipe("mnist").ema == 0.999 and make_recipe("mnist", model="dcgan").ema is None


def test_penalty_weight_is_accepted_where_the_recipe_has_a_penalty(tmp_path, capsys):
    code = main(["train", "--data", "grid", "--penalty-weight", "3", "--steps", "2",
                 "--out", str(tmp_path / "g"), "--quiet", "--no-film"])
    assert code == 0, capsys.readouterr().err
    saved = json.loads((tmp_path / "g" / "metrics.json").read_text())["config"]
    assert (saved["penalty"], saved["penalty_weight"]) == ("r1", 3.0)
