"""The public plugin API: everything a plugin needs, from one import.

Plugins (first-party ones in ``plugins/`` included) import only from here or
from ``ganbench`` itself; anything else in the package is internal. A plugin's
tests may also use :mod:`ganbench.testing`, the conformance kit (the checks
``ganbench check-plugin`` runs) and its pytest fixtures.
"""

from __future__ import annotations

from ganbench.data.image_files import IMAGE_SUFFIXES
from ganbench.data.types import (
    Batch,
    DataInfo,
    DataKind,
    DatasetOptions,
    GanDataset,
    split_indices,
)
from ganbench.errors import (
    DataMissingError,
    GanbenchError,
    IncompatibleError,
    PluginContractError,
)
from ganbench.eval.inputs import EvalInputs
from ganbench.eval.protocol import SOURCE_LABELS_KEY
from ganbench.features.base import FeatureContext, FeatureExtractor
from ganbench.features.stacked import STACKED_BASE_KEY
from ganbench.fixed_model import FixedModel
from ganbench.hookspecs import hookimpl
from ganbench.latent import GaussianPrior, LatentPrior
from ganbench.metrics.caption_match import CAPTIONS_KEY, CaptionTable
from ganbench.metrics.fidelity import luma_255
from ganbench.metrics.mode_count import STACKED_MODES_KEY
from ganbench.model import GANModel, UnconditionalGAN
from ganbench.paths import cache_dir
from ganbench.specs import (
    DatasetSpec,
    FeatureExtractorSpec,
    MetricSpec,
    ModelSpec,
    Param,
    SampleMinimum,
    TrickParam,
    TrickSpec,
)
from ganbench.tasks import TASK_FIELDS, TaskKind
from ganbench.train.losses import LOSSES, AdversarialLoss
from ganbench.train.schedule import DStepSchedule
from ganbench.train.step import (
    StepContext,
    StepTensors,
    alternating_updates,
    discriminator_tensors,
    discriminator_update,
    generator_tensors,
    generator_update,
    logged_losses,
    standard_train_step,
    step_optimizers,
    summed_terms,
)
from ganbench.trick import (
    D_BATCHES,
    HOOK_POINTS,
    STEP_HOOK_POINTS,
    DBatches,
    StepFunction,
    Trick,
    Validation,
    discriminator_head,
    discriminator_layers,
)

#: Version of this plugin API. Bumped when a change would break plugins.
#: 2: the core owns the update (models give loss terms), named optimizers,
#: model parameters, registrable losses, metric ``check``, build-time and
#: evaluation trick hooks. Within 2, added without breaking a plugin:
#: the ``d_batches``, ``train_step``, ``transform_d_output`` and
#: ``after_validation`` hook points and :func:`discriminator_head`;
#: ``GANModel.generate_inverse`` / ``has_inverse`` and the ``fake`` argument of
#: :func:`discriminator_tensors` (a D that sees other fakes: CycleGAN's pool).
API_VERSION = 2

__all__ = [
    "API_VERSION",
    "AdversarialLoss",
    "DStepSchedule",
    "GaussianPrior",
    "LatentPrior",
    "Param",
    "STEP_HOOK_POINTS",
    "StepTensors",
    "D_BATCHES",
    "DBatches",
    "StepFunction",
    "Validation",
    "discriminator_head",
    "discriminator_layers",
    "discriminator_tensors",
    "discriminator_update",
    "generator_tensors",
    "generator_update",
    "logged_losses",
    "step_optimizers",
    "summed_terms",
    "Batch",
    "DataInfo",
    "DataKind",
    "DataMissingError",
    "DatasetOptions",
    "DatasetSpec",
    "EvalInputs",
    "FeatureContext",
    "FeatureExtractor",
    "FeatureExtractorSpec",
    "FixedModel",
    "GANModel",
    "GanDataset",
    "GanbenchError",
    "HOOK_POINTS",
    "IMAGE_SUFFIXES",
    "IncompatibleError",
    "LOSSES",
    "STACKED_BASE_KEY",
    "STACKED_MODES_KEY",
    "SOURCE_LABELS_KEY",
    "CAPTIONS_KEY",
    "CaptionTable",
    "cache_dir",
    "luma_255",
    "MetricSpec",
    "ModelSpec",
    "PluginContractError",
    "SampleMinimum",
    "StepContext",
    "TASK_FIELDS",
    "TaskKind",
    "Trick",
    "TrickParam",
    "TrickSpec",
    "UnconditionalGAN",
    "alternating_updates",
    "hookimpl",
    "split_indices",
    "standard_train_step",
]
