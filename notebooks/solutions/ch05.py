"""Reference solutions for notebook 05 (layers)."""
import tinygan as tg
from tinygan import functional as F
from tinygan import nn, optim


def exercise_5_1() -> tuple[float, float, float, float]:
    x = tg.tensor([0.0, 10.0, 0.0, 3.0], requires_grad=True)
    y = F.sigmoid(x[:2]).sum() + F.tanh(x[2:]).sum()
    y.backward()
    return tuple(float(v) for v in x.grad.numpy())


def exercise_5_2() -> float:
    bn = nn.BatchNorm1d(1, eps=0.0)
    bn.running_mean.data[:] = 2.0
    bn.running_var.data[:] = 9.0
    bn.weight.data[:] = 2.0
    bn.bias.data[:] = 1.0
    bn.eval()
    return bn(tg.tensor([[5.0]])).item()          # 2 * (5 - 2) / 3 + 1


def exercise_5_3() -> float:
    drop = nn.Dropout(p=0.2, generator=tg.Generator(0))
    y = drop(tg.ones(1000)).numpy()
    return float(y[y > 0][0])                     # 1 / (1 - 0.2)


def exercise_5_4() -> tuple[float, float]:
    weight = lambda beta1, k: (1 - beta1) * beta1 ** k
    return weight(0.5, 5), weight(0.9, 5)


def count_dead_units(activation: nn.Module, steps: int = 300, lr: float = 0.2) -> int:
    gen = tg.Generator(0)
    hidden = nn.Linear(2, 64, generator=gen)
    net = nn.Sequential(hidden, activation, nn.Linear(64, 1, generator=gen))
    opt = optim.SGD(net.parameters(), lr=lr)
    for _ in range(steps):
        x = tg.randn(64, 2, generator=gen)
        target = x[:, 0:1] * x[:, 1:2]
        loss = ((net(x) - target) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    net.zero_grad()
    x = tg.randn(1000, 2, generator=gen)
    net(x).sum().backward()
    per_unit = abs(hidden.weight.grad.numpy()).sum(axis=1)
    return int((per_unit == 0).sum())


def exercise_5_5():
    return count_dead_units
