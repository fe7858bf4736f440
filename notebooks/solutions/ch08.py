"""Reference solutions for notebook 08 (other losses)."""
import tinygan as tg
from tinygan import nn
from tinygan.gan.losses import get_loss, gradient_penalty


def exercise_8_1() -> float:
    g = tg.Generator(0)
    critic = nn.Linear(2, 1)
    critic.weight.data[:] = tg.tensor([[1.0, 1.0]])   # grad_x f = w everywhere, ||w|| = sqrt 2
    real, fake = tg.randn(16, 2, generator=g), tg.randn(16, 2, generator=g)
    return gradient_penalty(critic, real, fake, g).item()


def exercise_8_2() -> float:
    a, b, p_g = 0.0, 1.0, 1.0
    p_data = 3 * p_g
    return (b * p_data + a * p_g) / (p_data + p_g)


def exercise_8_3() -> tuple[float, str]:
    hinge = get_loss("hinge")
    real, fake = tg.tensor([[2.5]], requires_grad=True), tg.tensor([[-0.4]], requires_grad=True)
    loss = hinge.d_loss(real, fake)               # relu(1 - 2.5) + relu(1 - 0.4) = 0 + 0.6
    loss.backward()
    who = "real" if real.grad.item() != 0 else "fake"   # the real one is beyond the margin
    return loss.item(), who
