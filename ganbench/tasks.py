"""The five task kinds a GAN model can serve, and the data fields each needs."""

from __future__ import annotations

from enum import Enum


class TaskKind(str, Enum):
    """What a generator maps from and to (design.md, "Task kinds").

    * ``unconditional``: z -> x (GAN, DCGAN, WGAN, LAPGAN).
    * ``class-conditional``: (z, y) -> x (cGAN, AC-GAN, InfoGAN).
    * ``text-to-image``: (z, text embedding) -> x (GAN-INT-CLS).
    * ``super-resolution``: low-resolution x -> high-resolution x (SRGAN).
    * ``unpaired-translation``: x_A -> x_B (CycleGAN).
    """

    UNCONDITIONAL = "unconditional"
    CLASS_CONDITIONAL = "class-conditional"
    TEXT_TO_IMAGE = "text-to-image"
    SUPER_RESOLUTION = "super-resolution"
    UNPAIRED_TRANSLATION = "unpaired-translation"


#: Batch fields a dataset must provide for a model of each task kind.
#: ``x`` is always the generator's target domain; ``source`` is the input
#: domain (low-resolution images, or domain-A images for translation).
TASK_FIELDS: dict[TaskKind, tuple[str, ...]] = {
    TaskKind.UNCONDITIONAL: ("x",),
    TaskKind.CLASS_CONDITIONAL: ("x", "y"),
    TaskKind.TEXT_TO_IMAGE: ("x", "text"),
    TaskKind.SUPER_RESOLUTION: ("x", "source"),
    TaskKind.UNPAIRED_TRANSLATION: ("x", "source"),
}
