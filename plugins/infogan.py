"""InfoGAN: Chen, Duan, Houthooft, Schulman, Sutskever and Abbeel 2016, "InfoGAN:
Interpretable Representation Learning by Information Maximizing Generative
Adversarial Networks" (NeurIPS).

The generator's input is split into incompressible noise and latent codes c,
and the GAN objective is regularised by a variational lower bound L_I(G, Q)
on the mutual information I(c; G(z, c)) (sections 4-5, equations 3-6): an
auxiliary distribution Q(c | x) shares all of D's layers but the last and
adds one head for the code posterior (section 6). As in the paper's MNIST
experiment (section 7.2) and the authors' code (openai/InfoGAN,
``launchers/run_mnist_exp.py``), the defaults are

* z: 62 noise dimensions, one 10-way categorical code c1 ~ Cat(K=10, p=0.1)
  (one-hot) and two continuous codes c2, c3 ~ U(-1, 1): 74 inputs in all, in
  the order noise | c1 | c2, c3 of the authors' ``latent_spec``
  (:class:`InfoGANPrior`, which training and evaluation both draw from);
* Q: a softmax over c1 and a factored Gaussian with *fixed* unit standard
  deviation for c2, c3 (the authors' ``Uniform(1, fix_std=True)``), so that
  -log Q(c | x) is the cross-entropy of c1 plus 0.5 x the squared error of
  c2, c3, up to constants;
* lambda (``info_weight``) = 1 for both kinds of code (section 6 and the
  authors' ``info_reg_coeff=1.0`` for MNIST).

The networks are those of Appendix C.1, Table 1 (MNIST), sized from the
dataset's image size S (S / 4 = 7 for 28 px MNIST, 2 for the 8 x 8 digits):

* D / Q body: 4x4 conv 64 stride 2 + lReLU; 4x4 conv 128 stride 2 + BN +
  lReLU; FC 1024 + BN + lReLU. D head: FC -> 1 logit. Q head: FC 128 + BN +
  lReLU + FC -> K categorical logits and the continuous codes' means.
* G: FC 1024 + BN + ReLU; FC (S/4 x S/4 x 128) + BN + ReLU; 4x4 upconv 64
  stride 2 + BN + ReLU; 4x4 upconv C stride 2 + tanh.

The losses are the standard (non-saturating) GAN losses plus lambda x the
negative bound on the fakes. As in the authors' trainer
(``infogan/algos/infogan_trainer.py``), the term is added to *both* D's and
G's losses: through D's update it trains D's body and the Q head (Q's
parameters are D's, under one optimizer), through G's it trains G. The codes
are read back from the update's z. Training: Adam with learning rate 2e-4 for
D (with Q) and 1e-3 for G, beta1 0.5 (Appendix C; ``run_mnist_exp.py``).

The module also registers the ``code-alignment`` metric: how well the
categorical code matches the classes of an evaluator classifier, as the best
one-to-one map's accuracy (the paper's 5% error on MNIST, section 7.2).

Deviations, and why:

* noise: N(0, I), as the task asks of every model here; the authors' MNIST
  launcher draws it from U(-1, 1) (``Uniform(62)``) and the paper does not say.
* lReLU slope 0.1, as Appendix C states; the authors' ``leaky_rectify``
  defaults to 0.01.
* G's output is tanh, images in [-1, 1] (the benchmark's range); the authors'
  MNIST G ends in a sigmoid (``MeanBernoulli``), images in [0, 1]. tanh(a) =
  2 sigmoid(2a) - 1, so this is a rescaling of the same model.
* the Q head outputs K + (number of continuous codes) values; the authors'
  layer also outputs the unused log-variances of the fixed-std Gaussians.
* initialisation: the paper is silent; the authors' layers
  (``infogan/misc/custom_ops.py``) draw conv weights from a normal truncated
  at 2 std, upconv and FC weights from N(0, 0.02), biases 0, BN scale
  N(1, 0.02) and shift 0, which is what :func:`infogan_init` does.
* batch size and step budget are the benchmark protocol's (the authors: 128,
  50 epochs of 100 updates), so that runs compare across models.
* the logged ``mutual_info`` term is lambda x the cross-entropy -E[log Q(c|x)]
  without the constants (H(c) and the Gaussian's 0.5 log 2 pi), which the
  authors' MI estimate ``H(c) - CE`` includes; the gradients are the same.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from scipy.optimize import linear_sum_assignment
from torch import Tensor, nn

import ganbench
from ganbench.api import (
    Batch,
    DataInfo,
    EvalInputs,
    IncompatibleError,
    LatentPrior,
    MetricSpec,
    ModelSpec,
    Param,
    StepTensors,
    TaskKind,
    UnconditionalGAN,
)

NAME = "infogan"
METRIC = "code-alignment"
#: lReLU leak (Appendix C: "leaky rate 0.1").
LEAK = 0.1
#: Widths of Table 1 (MNIST).
CONV1, CONV2, HIDDEN, Q_HIDDEN = 64, 128, 1024, 128
#: Adam settings (Appendix C; openai/InfoGAN run_mnist_exp.py).
LR_D, LR_G, BETAS = 2e-4, 1e-3, (0.5, 0.999)
#: The weights' standard deviation (openai/InfoGAN custom_ops.py).
INIT_STD = 0.02
METRIC_PARAMS: dict[str, Any] = {"n": 1000}
_GENERATE_BATCH = 500


# -- the latent prior ------------------------------------------------------------------
class InfoGANPrior(LatentPrior):
    """z = [noise | one-hot categorical code | continuous codes].

    noise ~ N(0, I) (``noise`` dims), the categorical code uniform over
    ``categorical`` values (one-hot; none when 0), the continuous codes
    ~ U(-1, 1) (``continuous`` dims).
    """

    def __init__(self, noise: int = 62, categorical: int = 10, continuous: int = 2) -> None:
        self.noise, self.categorical, self.continuous = (
            int(noise),
            int(categorical),
            int(continuous),
        )
        super().__init__(self.noise + self.categorical + self.continuous)

    def sample(
        self, n: int, device: torch.device | str, generator: torch.Generator | None = None
    ) -> Tensor:
        """N x dim: the three parts, drawn in that order from ``generator``."""
        noise = torch.randn(n, self.noise, device=device, generator=generator)
        if self.categorical > 0:
            index = torch.randint(0, self.categorical, (n,), device=device, generator=generator)
            onehot = F.one_hot(index, self.categorical).float()
        else:
            onehot = torch.zeros(n, 0, device=device)
        cont = torch.rand(n, self.continuous, device=device, generator=generator) * 2 - 1
        return torch.cat([noise, onehot, cont], dim=1)

    def split(self, z: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """(noise, one-hot categorical code, continuous codes) of z."""
        a, b = self.noise, self.noise + self.categorical
        return z[:, :a], z[:, a:b], z[:, b : b + self.continuous]

    def categorical_index(self, z: Tensor) -> Tensor:
        """The categorical code of each z as an index (N,) in [0, categorical)."""
        if self.categorical == 0:
            raise ValueError("this prior has no categorical code")
        return self.split(z)[1].argmax(dim=1)

    def describe(self) -> dict[str, Any]:
        return {
            "name": NAME,
            "dim": self.dim,
            "parts": [
                {"name": "noise", "distribution": "normal", "dim": self.noise, "mean": 0, "std": 1},
                {
                    "name": "categorical",
                    "distribution": "categorical",
                    "dim": self.categorical,
                    "classes": self.categorical,
                    "probs": "uniform",
                    "encoding": "one-hot",
                },
                {
                    "name": "continuous",
                    "distribution": "uniform",
                    "dim": self.continuous,
                    "low": -1,
                    "high": 1,
                },
            ],
        }


# -- networks -----------------------------------------------------------------------------
def _lrelu() -> nn.Module:
    return nn.LeakyReLU(LEAK, inplace=True)


class InfoGANGenerator(nn.Module):
    """z (N x latent) -> images (N x C x S x S) in [-1, 1] (Table 1, MNIST)."""

    def __init__(self, latent_dim: int, channels: int, image_size: int) -> None:
        super().__init__()
        self.base = image_size // 4
        self.fc = nn.Sequential(
            nn.Linear(latent_dim, HIDDEN),
            nn.BatchNorm1d(HIDDEN),
            nn.ReLU(True),
            nn.Linear(HIDDEN, self.base * self.base * CONV2),
            nn.BatchNorm1d(self.base * self.base * CONV2),
            nn.ReLU(True),
        )
        self.conv = nn.Sequential(
            nn.ConvTranspose2d(CONV2, CONV1, 4, 2, 1),
            nn.BatchNorm2d(CONV1),
            nn.ReLU(True),
            nn.ConvTranspose2d(CONV1, channels, 4, 2, 1),
            nn.Tanh(),
        )

    def forward(self, z: Tensor) -> Tensor:
        h = self.fc(z).view(-1, CONV2, self.base, self.base)
        return self.conv(h)


class InfoGANDiscriminator(nn.Module):
    """D and Q: a shared body, D's logit head and Q's code-posterior head (Table 1).

    ``forward(x)`` is D's logits (N,); :meth:`outputs` runs the body once
    and returns both heads.
    """

    def __init__(self, channels: int, image_size: int, categorical: int, continuous: int) -> None:
        super().__init__()
        self.categorical, self.continuous = categorical, continuous
        flat = CONV2 * (image_size // 4) ** 2
        self.body = nn.Sequential(
            nn.Conv2d(channels, CONV1, 4, 2, 1),
            _lrelu(),
            nn.Conv2d(CONV1, CONV2, 4, 2, 1),
            nn.BatchNorm2d(CONV2),
            _lrelu(),
            nn.Flatten(),
            nn.Linear(flat, HIDDEN),
            nn.BatchNorm1d(HIDDEN),
            _lrelu(),
        )
        self.d_head = nn.Linear(HIDDEN, 1)
        self.q_head = nn.Sequential(
            nn.Linear(HIDDEN, Q_HIDDEN),
            nn.BatchNorm1d(Q_HIDDEN),
            _lrelu(),
            nn.Linear(Q_HIDDEN, categorical + continuous),
        )

    def outputs(self, x: Tensor) -> dict[str, Tensor]:
        """``logits`` (N,), ``code_logits`` (N, K) and ``code_mean`` (N, continuous)."""
        h = self.body(x)
        q = self.q_head(h)
        return {
            "logits": self.d_head(h).squeeze(1),
            "code_logits": q[:, : self.categorical],
            "code_mean": q[:, self.categorical :],
        }

    def forward(self, x: Tensor) -> Tensor:
        return self.d_head(self.body(x)).squeeze(1)


def infogan_init(module: nn.Module) -> None:
    """The authors' initialisation (openai/InfoGAN ``custom_ops.py``).

    Conv weights N(0, 0.02) truncated at 2 std (``truncated_normal_initializer``),
    upconv and FC weights N(0, 0.02), biases 0; BN scale N(1, 0.02), shift 0.
    """
    if isinstance(module, nn.Conv2d):
        nn.init.trunc_normal_(module.weight, 0.0, INIT_STD, -2 * INIT_STD, 2 * INIT_STD)
    elif isinstance(module, nn.ConvTranspose2d | nn.Linear):
        nn.init.normal_(module.weight, 0.0, INIT_STD)
    elif isinstance(module, nn.BatchNorm1d | nn.BatchNorm2d):
        nn.init.normal_(module.weight, 1.0, INIT_STD)
        nn.init.zeros_(module.bias)
        return
    else:
        return
    if module.bias is not None:
        nn.init.zeros_(module.bias)


# -- the information term --------------------------------------------------------------------
def information_terms(
    code_logits: Tensor, code_mean: Tensor, code_index: Tensor | None, code_cont: Tensor
) -> tuple[Tensor, Tensor]:
    """-E[log Q(c | x)] of the categorical and of the continuous codes, up to constants.

    The categorical part is the cross-entropy of Q's softmax with the code
    drawn (``code_index``, None when there is no categorical code); the
    continuous part is the Gaussian negative log-likelihood with unit std
    without its constant: 0.5 x the squared error, summed over the codes.
    Both are means over the batch. L_I = H(c) - (their sum).
    """
    zero = code_mean.new_zeros(())
    categorical = F.cross_entropy(code_logits, code_index) if code_index is not None else zero
    if code_cont.shape[1] > 0:
        continuous = 0.5 * (code_cont - code_mean).pow(2).sum(dim=1).mean()
    else:
        continuous = zero
    return categorical, continuous


# -- the model ----------------------------------------------------------------------------------
class InfoGAN(UnconditionalGAN):
    """InfoGAN with the MNIST networks of Table 1, sized for the dataset."""

    loss = "non-saturating"
    # D's logits come from d_head; q_head (registered after it) is Q's.
    discriminator_head_name = "d_head"

    def __init__(self, info: DataInfo, params: Mapping[str, Any]) -> None:
        super().__init__()
        # The core asks ModelSpec.check (_check) before building; no second check here.
        noise, categorical = int(params["noise"]), int(params["categorical"])
        continuous, self.info_weight = int(params["continuous"]), float(params["info_weight"])
        if noise < 0 or continuous < 0 or categorical < 0 or categorical == 1:
            raise IncompatibleError(
                f"model {NAME!r}: noise and continuous must be >= 0 and categorical 0 or >= 2, "
                f"got noise={noise}, categorical={categorical}, continuous={continuous}"
            )
        if noise + categorical + continuous == 0:
            raise IncompatibleError(f"model {NAME!r}: the latent must have at least one dimension")
        if not math.isfinite(self.info_weight) or self.info_weight < 0:
            raise IncompatibleError(
                f"model {NAME!r}: info_weight must be >= 0, got {self.info_weight}"
            )
        #: Width of the categorical code (0: none); the code-alignment metric reads it.
        self.categorical_code_dim = categorical
        self.continuous_code_dim = continuous
        self.noise_dim = noise
        self.latent_dim = noise + categorical + continuous
        self.latent_prior = InfoGANPrior(noise, categorical, continuous)
        channels, size = info.shape[0], info.shape[-1]
        self.generator = InfoGANGenerator(self.latent_dim, channels, size)
        self.discriminator = InfoGANDiscriminator(channels, size, categorical, continuous)

    def codes(self, z: Tensor) -> tuple[Tensor | None, Tensor]:
        """(categorical code index (N,) or None, continuous codes (N, c)) of the latent z."""
        a = self.noise_dim
        b = a + self.categorical_code_dim
        index = z[:, a:b].argmax(dim=1) if self.categorical_code_dim > 0 else None
        return index, z[:, b : b + self.continuous_code_dim]

    def discriminator_outputs(self, x: Tensor, cond: Batch) -> dict[str, Tensor]:
        """D's logits and Q's code posterior from one pass of the shared body."""
        return self.discriminator.outputs(x)

    def mutual_info_term(self, step: StepTensors) -> Tensor:
        """lambda x -E[log Q(c | G(z, c))] on the update's fakes (codes from ``step.z``)."""
        assert step.z is not None
        index, cont = self.codes(step.z)
        categorical, continuous = information_terms(
            step.fake_out["code_logits"], step.fake_out["code_mean"], index, cont
        )
        return self.info_weight * (categorical + continuous)

    def d_loss_terms(self, step: StepTensors) -> dict[str, Tensor]:
        """The GAN loss and the information term (it trains D's body and Q)."""
        return {**super().d_loss_terms(step), "mutual_info": self.mutual_info_term(step)}

    def g_loss_terms(self, step: StepTensors) -> dict[str, Tensor]:
        """The non-saturating G loss and the information term (it trains G)."""
        return {**super().g_loss_terms(step), "mutual_info": self.mutual_info_term(step)}

    def init_weights(self) -> None:
        self.apply(infogan_init)

    def configure_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        """Adam: 2e-4 for D with Q, 1e-3 for G, beta1 0.5 (Appendix C)."""
        return {
            "g": torch.optim.Adam(self.generator.parameters(), lr=LR_G, betas=BETAS),
            "d": torch.optim.Adam(self.discriminator.parameters(), lr=LR_D, betas=BETAS),
        }


def _check(info: DataInfo) -> str | None:
    if info.kind != "image" or info.image_size is None:
        return "InfoGAN's MNIST networks need image data"
    if info.shape[1] != info.shape[2]:
        return f"InfoGAN needs square images, got {info.shape[1]}x{info.shape[2]}"
    if info.image_size % 4 != 0:
        return (
            f"G upsamples a (S/4 x S/4) map twice, so the image size must be divisible by 4, "
            f"got {info.image_size}"
        )
    return None


# -- the code-alignment metric ---------------------------------------------------------------
def code_class_confusion(codes: np.ndarray, labels: np.ndarray, k: int) -> np.ndarray:
    """Counts (k, k): row = categorical code, column = the evaluator's class."""
    codes, labels = np.asarray(codes, dtype=np.int64), np.asarray(labels, dtype=np.int64)
    if codes.shape != labels.shape:
        raise ValueError(f"codes {codes.shape} and labels {labels.shape} differ in shape")
    return np.bincount(codes * k + labels, minlength=k * k).reshape(k, k)


def best_map_accuracy(confusion: np.ndarray) -> float:
    """Accuracy of the best one-to-one map of codes (rows) to classes (columns).

    The assignment maximising the matched counts (Hungarian algorithm,
    ``scipy.optimize.linear_sum_assignment``), divided by the total count.
    """
    confusion = np.asarray(confusion)
    total = confusion.sum()
    if total <= 0:
        raise ValueError("the confusion matrix is empty")
    rows, cols = linear_sum_assignment(confusion, maximize=True)
    return float(confusion[rows, cols].sum() / total)


def why_no_code_alignment(inputs: EvalInputs) -> str | None:
    """Why the code-alignment metric cannot be computed on ``inputs``, or None."""
    model = inputs.model
    if model is None:
        return (
            "it generates from a trained model's categorical code and this evaluation has no model"
        )
    k = getattr(model, "categorical_code_dim", None)
    if not isinstance(k, int):
        return f"model {type(model).__name__} has no categorical latent code (InfoGAN's)"
    if k == 0:
        return "the model's categorical code is switched off (categorical=0)"
    if not isinstance(model.latent_prior, InfoGANPrior):
        return f"the model's prior {model.latent_prior!r} is not InfoGAN's coded prior"
    if inputs.extractor is None:
        return "it needs a classifier feature space and this evaluation has none"
    probs = inputs.fake_probs()
    if probs is None:
        return f"feature space {inputs.space!r} has no class probabilities"
    if probs.shape[1] != k:
        return (
            f"feature space {inputs.space!r} has {probs.shape[1]} classes and the model's "
            f"categorical code {k} values"
        )
    return None


def _compute_code_alignment(inputs: EvalInputs, params: Mapping[str, Any]) -> dict[str, float]:
    unknown = set(params) - set(METRIC_PARAMS)
    if unknown:
        raise ValueError(f"unknown metric params {sorted(unknown)}; known: {sorted(METRIC_PARAMS)}")
    reason = why_no_code_alignment(inputs)
    if reason is not None:
        raise IncompatibleError(f"metric {METRIC!r} does not apply: {reason}")
    n = int({**METRIC_PARAMS, **params}["n"])
    if n < 1:
        raise ValueError(f"metric {METRIC!r}: n must be >= 1, got {n}")
    model = inputs.model
    assert model is not None and inputs.extractor is not None
    prior = model.latent_prior
    assert isinstance(prior, InfoGANPrior)
    k = prior.categorical
    device = inputs.device
    gen = torch.Generator(device=device).manual_seed(int(inputs.seed))
    was_training = model.training
    model.eval()
    codes, labels = [], []
    try:
        with torch.no_grad():
            for lo in range(0, n, _GENERATE_BATCH):
                m = min(_GENERATE_BATCH, n - lo)
                z = model.sample_latent(m, device, generator=gen)
                cond = Batch(x=torch.zeros(m, *inputs.info.shape, device=device))
                x = model.generate(z, cond).float().cpu()
                codes.append(prior.categorical_index(z).cpu())
                labels.append(inputs.extractor.class_probs(x).argmax(dim=1).cpu())
    finally:
        model.train(was_training)
    confusion = code_class_confusion(torch.cat(codes).numpy(), torch.cat(labels).numpy(), k)
    return {"code_accuracy": best_map_accuracy(confusion)}


CODE_ALIGNMENT = MetricSpec(
    name=METRIC,
    compute=_compute_code_alignment,
    outputs={"code_accuracy": "higher"},
    needs=("discriminator", "probs"),
    params=dict(METRIC_PARAMS),
    check=why_no_code_alignment,
    description=(
        "InfoGAN: accuracy of the best one-to-one map of the categorical code to the "
        "evaluator's classes on n samples (Chen et al. 2016, section 7.2: 5% error on MNIST)"
    ),
)


# -- registration --------------------------------------------------------------------------------
@ganbench.hookimpl
def ganbench_register_models(register: Callable[[ModelSpec], None]) -> None:
    register(
        ModelSpec(
            name=NAME,
            build=InfoGAN,
            task=TaskKind.UNCONDITIONAL,
            data_kinds=("image",),
            paper="Chen et al. 2016, InfoGAN, sections 5-7 and Appendix C.1 (Table 1, MNIST)",
            description=(
                "GAN + mutual information of a 10-way categorical and 2 continuous codes, "
                "MNIST networks; Adam D 2e-4 / G 1e-3"
            ),
            check=_check,
            params=(
                Param("categorical", int, 10, "values of the categorical code (0: none)"),
                Param("continuous", int, 2, "continuous codes, each U(-1, 1)"),
                Param("noise", int, 62, "noise dimensions, N(0, 1)"),
                Param("info_weight", float, 1.0, "lambda, the weight of the information term"),
            ),
        )
    )


@ganbench.hookimpl
def ganbench_register_metrics(register: Callable[[MetricSpec], None]) -> None:
    register(CODE_ALIGNMENT)


__all__ = [
    "CODE_ALIGNMENT",
    "InfoGAN",
    "InfoGANDiscriminator",
    "InfoGANGenerator",
    "InfoGANPrior",
    "best_map_accuracy",
    "code_class_confusion",
    "information_terms",
    "infogan_init",
    "why_no_code_alignment",
]
