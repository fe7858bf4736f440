"""nn.utils.eval_mode: modules in eval mode for a block, each back in its own mode after."""
import pytest

from tinygan import nn
from tinygan.nn.utils import eval_mode


def test_each_module_goes_back_to_its_own_mode_even_when_the_block_raises():
    training, evaluating = nn.Dropout(0.5), nn.BatchNorm1d(3)
    evaluating.eval()
    with eval_mode(training, evaluating):
        assert not training.training and not evaluating.training
    assert training.training and not evaluating.training
    with pytest.raises(RuntimeError, match="inside"):
        with eval_mode(training):
            raise RuntimeError("inside")
    assert training.training


def test_sampling_from_the_trainer_leaves_g_in_training_mode():
    from tinygan.gan.build import build_trainer, make_config
    trainer = build_trainer(make_config("ring", "ns", "mlp", 0, steps=2, batch_size=8))
    trainer.G.train()
    assert trainer.sample(4).shape == (4, 2)
    assert trainer.G.training
