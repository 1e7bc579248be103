"""physapp.surrogates.adam.Adam takes the steps torch.optim.Adam takes (it exists to spare a fresh
process the import of torch._dynamo that torch.optim's first optimizer costs)."""

import torch

from physapp.surrogates.adam import Adam


def _rosenbrock(p):
    return (1.0 - p[0]) ** 2 + 100.0 * (p[1] - p[0] ** 2) ** 2 + (p[2:] ** 2).sum()


def test_steps_equal_torch_adam_including_a_changed_learning_rate():
    start = torch.tensor([-1.2, 1.0, 0.5, -0.3], dtype=torch.float64)
    ours, ref = start.clone().requires_grad_(True), start.clone().requires_grad_(True)
    a, b = Adam([ours], lr=0.05), torch.optim.Adam([ref], lr=0.05)
    for it in range(300):
        if it == 150:  # a schedule changes the rate between steps
            a.param_groups[0]["lr"] = b.param_groups[0]["lr"] = 0.01
        for opt, p in ((a, ours), (b, ref)):
            opt.zero_grad()
            _rosenbrock(p).backward()
            opt.step()
    assert torch.allclose(ours, ref, rtol=1e-12, atol=1e-14)
    # and it descends: the Rosenbrock value falls from 24.5 to 2.8 in these 300 steps
    assert float(_rosenbrock(ours.detach())) < 0.2 * float(_rosenbrock(start))


def test_a_parameter_without_gradient_is_left_alone():
    used = torch.ones(3, requires_grad=True)
    unused = torch.full((2,), 7.0, requires_grad=True)
    opt = Adam([used, unused], lr=0.1)
    (used ** 2).sum().backward()
    opt.step()
    assert torch.equal(unused.detach(), torch.full((2,), 7.0))
    # the first Adam step moves each coordinate by the learning rate, against its gradient
    assert torch.allclose(used.detach(), torch.full((3,), 0.9), atol=1e-6)
