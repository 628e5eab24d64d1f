"""Training throughput of ganbench against a bare PyTorch loop, measured in the same run.

Usage::

    python benchmarks/train_overhead.py [--steps 1000] [--rounds 3] [--threads 1]

Two models, each against its own bare loop: DCGAN on digits (batch 64, the
non-saturating BCE losses) and WGAN-GP on digits (5 critic steps per
generator step, the Wasserstein losses plus the gradient penalty on random
interpolates, lambda 10, Adam 1e-4 betas (0, 0.9)). Both sides use the same
networks (built through the plugin registry, as ``ganbench run`` builds
them), the same weight initialisation, the same optimizers and losses, on
the same device and thread count. ``--models dcgan`` measures one.

* ganbench: the real :class:`~ganbench.train.loop.Trainer` with everything
  ``ganbench run`` does while training: trick chain, the batch stream,
  per-step loss logging, the progress bar (drawn to a null console),
  validation on the val split and a checkpoint at the interval of the
  default run (``ganbench run --plugin dcgan``: every 200 steps).
* bare: a textbook loop, ``D step, G step``, on a pre-shuffled tensor; no
  logging, no validation, no checkpoints.

Rounds alternate (ganbench, bare, ganbench, bare, ...) so slow drift in the
machine's load hits both sides alike; the median round of each side is
reported, and the headline ratio is the median of the per-round ratios.
The share of ganbench's time spent in validation and checkpoint writes is
reported separately, as is the ratio with that time left out (the per-step
overhead of the loop alone).

The last line per model is ``<model> ganbench/bare throughput ratio: R``;
the final one is DCGAN's. Target: R >= 0.95.
On a busy machine, ``--threads 1`` gives steadier numbers.
"""

from __future__ import annotations

import argparse
import io
import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from rich.console import Console

from ganbench.model import GANModel
from ganbench.progress import TrainingProgress
from ganbench.registry import load_registry
from ganbench.run.preparation import PreparedRun, prepare_run
from ganbench.run.request import RunRequest
from ganbench.run.runner import plan_training

SEED = 0


@dataclass
class Measurement:
    steps_per_s: float
    seconds: float
    overhead_s: float = 0.0  # validation + checkpoint writes (ganbench only)


def null_console() -> Console:
    """A console that draws the progress bar into a throw-away buffer."""
    return Console(file=io.StringIO(), force_terminal=True, width=120)


def run_ganbench(prep: PreparedRun, steps: int, workdir: Path) -> Measurement:
    """Train with the real Trainer, set up as ``ganbench run`` sets it up."""
    checkpoint_dir = Path(tempfile.mkdtemp(dir=workdir))
    title = f"{prep.model_spec.name} on digits"
    progress = TrainingProgress(steps, title, quiet=False, console=null_console())
    trainer = plan_training(prep, checkpoint_dir, progress, steps=steps).trainer
    overhead = [0.0]

    def timed(method):
        def wrapper(*args, **kwargs):
            start = time.perf_counter()
            try:
                return method(*args, **kwargs)
            finally:
                overhead[0] += time.perf_counter() - start

        return wrapper

    # _validate includes writing best.pt; _save writes last.pt.
    trainer._validate = timed(trainer._validate)  # type: ignore[method-assign]
    trainer._save = timed(trainer._save)  # type: ignore[method-assign]
    start = time.perf_counter()
    with progress:
        outcome = trainer.run()
    seconds = time.perf_counter() - start
    assert outcome.status == "completed" and outcome.steps_done == steps, outcome
    return Measurement(steps / seconds, seconds, overhead[0])


def _penalty(
    discriminator: torch.nn.Module, real: torch.Tensor, fake: torch.Tensor
) -> torch.Tensor:
    """WGAN-GP's penalty written out: (||grad D(x_hat)|| - 1)^2 on random interpolates."""
    eps = torch.rand(real.shape[0], 1, 1, 1, device=real.device)
    x_hat = (eps * real + (1 - eps) * fake).requires_grad_(True)
    (grad,) = torch.autograd.grad(discriminator(x_hat).sum(), x_hat, create_graph=True)
    return ((grad.flatten(1).norm(2, dim=1) - 1) ** 2).mean()


def run_bare_wgan_gp(
    model: GANModel, train_x: torch.Tensor, batch_size: int, steps: int, device: torch.device
) -> Measurement:
    """WGAN-GP's Algorithm 1 in a plain loop: 5 critic steps with the penalty, then G."""
    torch.manual_seed(SEED)
    model.init_weights()
    model.train()
    generator, critic = model.generator, model.discriminator
    opt_g = torch.optim.Adam(generator.parameters(), lr=1e-4, betas=(0.0, 0.9))
    opt_d = torch.optim.Adam(critic.parameters(), lr=1e-4, betas=(0.0, 0.9))
    per_epoch = len(train_x) // batch_size
    start = time.perf_counter()
    perm, offset = torch.randperm(len(train_x), device=device), 0
    for _ in range(steps):
        for _ in range(5):
            if offset == per_epoch:
                perm, offset = torch.randperm(len(train_x), device=device), 0
            real = train_x[perm[offset * batch_size : (offset + 1) * batch_size]]
            offset += 1
            with torch.no_grad():
                fake = generator(torch.randn(batch_size, model.latent_dim, device=device))
            loss_d = critic(fake).mean() - critic(real).mean() + 10.0 * _penalty(critic, real, fake)
            opt_d.zero_grad(set_to_none=True)
            loss_d.backward()
            opt_d.step()
        loss_g = -critic(generator(torch.randn(batch_size, model.latent_dim, device=device))).mean()
        opt_g.zero_grad(set_to_none=True)
        loss_g.backward()
        opt_g.step()
    seconds = time.perf_counter() - start
    return Measurement(steps / seconds, seconds)


def run_bare(
    model: GANModel, train_x: torch.Tensor, batch_size: int, steps: int, device: torch.device
) -> Measurement:
    """DCGAN's networks, optimizers and losses in a plain loop."""
    torch.manual_seed(SEED)
    model.init_weights()
    model.train()
    generator, discriminator = model.generator, model.discriminator
    betas = (0.5, 0.999)
    opt_g = torch.optim.Adam(generator.parameters(), lr=2e-4, betas=betas)
    opt_d = torch.optim.Adam(discriminator.parameters(), lr=2e-4, betas=betas)
    latent_dim = model.latent_dim
    per_epoch = len(train_x) // batch_size
    start = time.perf_counter()
    perm = torch.randperm(len(train_x), device=device)
    for step in range(steps):
        offset = step % per_epoch
        if offset == 0 and step > 0:
            perm = torch.randperm(len(train_x), device=device)
        real = train_x[perm[offset * batch_size : (offset + 1) * batch_size]]

        z = torch.randn(batch_size, latent_dim, device=device)
        with torch.no_grad():
            fake = generator(z)
        real_logits = discriminator(real)
        fake_logits = discriminator(fake)
        loss_d = F.binary_cross_entropy_with_logits(
            real_logits, torch.ones_like(real_logits)
        ) + F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits))
        opt_d.zero_grad(set_to_none=True)
        loss_d.backward()
        opt_d.step()

        z = torch.randn(batch_size, latent_dim, device=device)
        logits = discriminator(generator(z))
        loss_g = F.binary_cross_entropy_with_logits(logits, torch.ones_like(logits))
        opt_g.zero_grad(set_to_none=True)
        loss_g.backward()
        opt_g.step()
    seconds = time.perf_counter() - start
    return Measurement(steps / seconds, seconds)


#: Each measured model and its bare loop.
BARE_LOOPS = {"dcgan": run_bare, "wgan-gp": run_bare_wgan_gp}


def measure(model_name: str, steps: int, rounds: int) -> float:
    """Alternate ganbench and bare rounds for ``model_name``; print and return the ratio."""
    registry = load_registry()
    # No --steps in the request: the default budget sets the checkpoint interval.
    request = RunRequest(model=model_name, dataset="digits", seed=SEED, device="cpu")
    prep = prepare_run(request, registry)
    assert prep.batch_size == 64
    # The bare loop gets its own copy of the same architecture, from the same plugin.
    bare_model = (
        registry.model(model_name).build(prep.dataset.info, dict(prep.model_params))
        if prep.model_params
        else registry.model(model_name).build(prep.dataset.info)
    )
    bare_model = bare_model.to(prep.device)
    bare = BARE_LOOPS[model_name]
    train_x = prep.dataset.splits["train"].x.to(prep.device)
    print(
        f"{model_name} on digits: batch {prep.batch_size}, {steps} steps x {rounds} rounds "
        f"per side, {len(train_x)} training images, device {prep.device.type}, "
        f"{torch.get_num_threads()} thread(s); ganbench validates and checkpoints every "
        f"{prep.checkpoint_every} steps, as the default run does"
    )
    with tempfile.TemporaryDirectory(prefix="ganbench-overhead-") as tmp:
        workdir = Path(tmp)
        # Warm-up: first-call allocations, lazy imports, the evaluator's first pass.
        run_ganbench(prep, 20, workdir)
        bare(bare_model, train_x, prep.batch_size, 20, prep.device)
        ganbench_runs: list[Measurement] = []
        bare_runs: list[Measurement] = []
        for i in range(rounds):
            ganbench_runs.append(run_ganbench(prep, steps, workdir))
            bare_runs.append(bare(bare_model, train_x, prep.batch_size, steps, prep.device))
            print(
                f"  round {i + 1}: ganbench {ganbench_runs[-1].steps_per_s:6.1f} steps/s "
                f"(validation+checkpoints {ganbench_runs[-1].overhead_s:.2f} s of "
                f"{ganbench_runs[-1].seconds:.2f} s), bare {bare_runs[-1].steps_per_s:6.1f} steps/s"
            )
    g_median = statistics.median(m.steps_per_s for m in ganbench_runs)
    b_median = statistics.median(m.steps_per_s for m in bare_runs)
    # Rounds are pairs measured back to back: their ratios cancel slow drift
    # in the machine's load better than a ratio of medians.
    ratio = statistics.median(
        g.steps_per_s / b.steps_per_s for g, b in zip(ganbench_runs, bare_runs, strict=True)
    )
    loop_ratio = statistics.median(
        (steps / (g.seconds - g.overhead_s)) / b.steps_per_s
        for g, b in zip(ganbench_runs, bare_runs, strict=True)
    )
    share = statistics.median(m.overhead_s / m.seconds for m in ganbench_runs)
    checkpoints = steps // prep.checkpoint_every
    per_checkpoint = statistics.median(m.overhead_s for m in ganbench_runs) / max(1, checkpoints)
    print(f"  ganbench: {g_median:.1f} steps/s, bare: {b_median:.1f} steps/s (medians)")
    print(
        f"  validation + checkpoint writes: {share:.1%} of ganbench's time "
        f"({per_checkpoint * 1000:.0f} ms per checkpoint, {checkpoints} per measurement)"
    )
    print(f"  ratio without validation + checkpoints (the loop's own overhead): {loop_ratio:.2f}")
    print(f"{model_name} ganbench/bare throughput ratio: {ratio:.2f}")
    return ratio


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=1000, help="training steps per measurement")
    parser.add_argument("--rounds", type=int, default=3, help="measurements per side")
    parser.add_argument(
        "--threads",
        type=int,
        default=None,
        help="torch intra-op threads for both sides (default: torch's default)",
    )
    parser.add_argument(
        "--models", default="wgan-gp,dcgan", help="comma list of: " + ", ".join(BARE_LOOPS)
    )
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    for name in args.models.split(","):
        measure(name.strip(), args.steps, args.rounds)


if __name__ == "__main__":
    main()
