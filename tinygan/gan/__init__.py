"""GANs: losses (tinygan.gan.losses), models (tinygan.gan.models) and the trainer."""
from tinygan.gan import losses, models
from tinygan.gan.losses import LOSSES, get_loss
from tinygan.gan.models import MODELS, MLPDiscriminator, MLPGenerator, build_models
from tinygan.gan.trainer import GANTrainer, TrainingDiverged

__all__ = ["losses", "models", "LOSSES", "get_loss", "MODELS", "build_models", "MLPGenerator",
           "MLPDiscriminator", "GANTrainer", "TrainingDiverged"]
