"""AnomalyNet's feature transfer block: a backbone maps motion-fusion images to a spatial feature map.

Every backbone is one module with a class that :func:`build` constructs from the motion-fusion
images of the normal training clips (``fit``: those it may learn from; ``val``: the held-out normal
training clips, for early stopping) and that maps a batch of images ``(N, h, w)`` in [0, 1] (or the
unnormalised dynamic image) to feature maps ``(N, C, h', w')`` (:meth:`Backbone.maps`):

* ``resnet50`` (:mod:`.resnet50`): torchvision's ResNet-50 up to its last block, ImageNet weights
  (AnomalyNet) or random ones (``weights: random``: tests, and the "no ImageNet" control);
* ``conv_ae`` (:mod:`.conv_ae`): a convolutional autoencoder trained here on the normal training
  images only; its encoder's output is the map.
"""

from __future__ import annotations

import importlib
from typing import Any, Protocol

import torch

BACKBONES: dict[str, str] = {
    "resnet50": "dpbench.anomaly.backbones.resnet50:ResNet50Backbone",
    "conv_ae": "dpbench.anomaly.backbones.conv_ae:ConvAEBackbone",
}


class Backbone(Protocol):
    """What the AnomalyNet pipeline needs of a backbone."""

    info: dict[str, Any]  # what it did (epochs trained, losses, ...), written to the features file

    def maps(self, images: torch.Tensor) -> torch.Tensor:
        """(N, h, w) motion-fusion images -> (N, C, h', w') feature maps (no gradient)."""
        ...


def build(name: str, options: dict[str, Any], fit: list[torch.Tensor], val: list[torch.Tensor], *, seed: int,
          device: torch.device, checkpoint: Any = None) -> Backbone:
    """The backbone ``name`` (a key of :data:`BACKBONES`), trained on ``fit`` when it learns.

    ``fit`` and ``val``: motion-fusion images ``(N_i, h, w)`` of each normal training clip used for
    fitting and held out; ``checkpoint``: a :class:`dpbench.checkpoint.TrainingCheckpoint` that a
    learning backbone saves its training to and resumes from."""
    if name not in BACKBONES:
        raise ValueError(f"unknown backbone {name!r}: expected one of {sorted(BACKBONES)}")
    module, _, cls = BACKBONES[name].partition(":")
    return getattr(importlib.import_module(module), cls).build(options, fit, val, seed=seed, device=device, checkpoint=checkpoint)


__all__ = ["BACKBONES", "Backbone", "build"]
