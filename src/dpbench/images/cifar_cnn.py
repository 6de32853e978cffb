"""SC2Net's CIFAR-10: features of the Keras ``cifar10_cnn.py`` example network, in PyTorch.

The paper (Zhou et al., AAAI 2018, "Setup and Datasets", p. 4592): "we extract features from the
CIFAR-10 raw data using an open access CNN model [keras/examples/cifar10_cnn.py], where the last fully
connected layer is removed ... The extracted features are with 2,034 dimensions". The authors' code
(github.com/joeyzhouty/SC2Net ``Lcod/feature_cifar_generator.py``) builds that network as ``getModel2``
(lines 228-269), trains it in ``getfeature`` (lines 73-113) and cuts it in ``createFeature`` (lines
115-140):

* the network: ``Conv(32, 3x3, same) ReLU, Conv(32, 3x3) ReLU, MaxPool 2, Dropout 0.25, Conv(64, 3x3,
  same) ReLU, Conv(64, 3x3) ReLU, MaxPool 2, Dropout 0.25, Flatten, Dense(512) ReLU, Dropout 0.5,
  Dense(10) softmax`` on 32x32x3 images in [0, 1]; Keras' glorot-uniform weights and zero biases;
* its training: CIFAR-10's 50,000 training images, Adadelta (Keras' ``lr = 1``), categorical
  cross-entropy, ``ImageDataGenerator(rotation_range=10, width_shift_range=0.03,
  height_shift_range=0.03, zoom_range=0.03)``, ``steps_per_epoch=400`` batches of 32 (Keras' ``flow``
  default), 200 epochs;
* the features: ``model.pop()`` five times (softmax, ``Dense(10)``, ``Dropout``, ``ReLU``,
  ``Dense(512)``), i.e. the ``Flatten`` output: 64 x 6 x 6 = **2,304** dimensions. The paper's
  "2,034" is that number with two digits swapped; without only the last layer (``Dense(10)``) the
  network gives 512. ``layer="flatten"`` (the default) or ``"dense"`` picks one.

Keras flattens channels-last (HWC) and PyTorch channels-first (CHW): the same 2,304 numbers in another
order. Keras' ``ImageDataGenerator`` fills the border by ``nearest``; torchvision's ``RandomAffine`` here
does the same rotations, shifts and zooms with ``fill=0`` (black borders): a difference of a few pixels
at the edges. Nothing here downloads: the images come from the prepared ``cifar10`` file (downloaded and
checksummed by ``dpbench download``).
"""

from __future__ import annotations

import logging
import math
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from dpbench.checkpoint import TrainingCheckpoint
from dpbench.progress import progress

log = logging.getLogger(__name__)

LAYERS = {"flatten": 2304, "dense": 512}
# the authors' getfeature: Adadelta (Keras lr 1.0), 200 epochs of 400 batches of 32, their augmentation
CNN_DEFAULTS: dict[str, Any] = {"epochs": 200, "steps_per_epoch": 400, "batch_size": 32, "lr": 1.0, "layer": "flatten",
                                "rotation": 10.0, "shift": 0.03, "zoom": 0.03}


def _glorot_(module: nn.Module) -> None:
    """Keras' default initialisation: glorot-uniform weights, zero biases."""
    if isinstance(module, (nn.Conv2d, nn.Linear)):
        nn.init.xavier_uniform_(module.weight)
        nn.init.zeros_(module.bias)


class KerasCifar10CNN(nn.Module):
    """The Keras ``cifar10_cnn.py`` example network (the authors' ``getModel2``), channels first."""

    def __init__(self, n_classes: int = 10) -> None:
        super().__init__()
        self.conv = nn.Sequential(
            nn.Conv2d(3, 32, 3, padding=1), nn.ReLU(), nn.Conv2d(32, 32, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Dropout(0.25),
            nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.Conv2d(64, 64, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Dropout(0.25),
            nn.Flatten(),
        )
        self.dense = nn.Sequential(nn.Linear(LAYERS["flatten"], LAYERS["dense"]), nn.ReLU(), nn.Dropout(0.5))
        self.classifier = nn.Linear(LAYERS["dense"], n_classes)
        self.apply(_glorot_)

    def features(self, x: torch.Tensor, layer: str = "flatten") -> torch.Tensor:
        """The ``Flatten`` output (2,304, the authors' features) or the ``Dense(512)`` + ReLU output (512)."""
        if layer not in LAYERS:
            raise ValueError(f"unknown feature layer {layer!r}: expected one of {sorted(LAYERS)}")
        h = self.conv(x)
        return h if layer == "flatten" else self.dense(h)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits (the softmax is in the loss)."""
        return self.classifier(self.dense(self.conv(x)))


def augment(x: torch.Tensor, generator: torch.Generator, rotation: float, shift: float, zoom: float) -> torch.Tensor:
    """Random rotation (``+-rotation`` degrees), shifts (``+-shift`` of the side) and zoom (``1 +- zoom``)
    per image, as Keras' ``ImageDataGenerator``; bilinear, zeros outside."""
    n = x.shape[0]

    def uniform(half: float) -> torch.Tensor:
        return (torch.rand(n, generator=generator) * 2 - 1) * half

    angle = uniform(math.radians(rotation))
    scale = 1.0 + uniform(zoom)
    cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
    theta = torch.stack([torch.stack([cos, -sin, uniform(2 * shift)], 1), torch.stack([sin, cos, uniform(2 * shift)], 1)], 1)
    grid = F.affine_grid(theta.to(x), list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)


def train_cnn(
    images: torch.Tensor, labels: torch.Tensor, *, seed: int, device: torch.device, params: dict[str, Any] | None = None,
    checkpoint: TrainingCheckpoint | None = None,
) -> tuple[KerasCifar10CNN, list[float]]:
    """Train the network on ``images`` (``N x 3 x 32 x 32`` in [0, 1]) as the authors' ``getfeature``:
    Adadelta, ``steps_per_epoch`` random batches (with augmentation) per epoch; returns it (in eval mode)
    and the mean loss of each epoch. With a ``checkpoint``, an interrupted run resumes."""
    p = {**CNN_DEFAULTS, **(params or {})}
    torch.manual_seed(seed)
    net = KerasCifar10CNN(int(labels.max()) + 1).to(device)
    optimiser = torch.optim.Adadelta(net.parameters(), lr=p["lr"], rho=0.95, eps=1e-8)  # Keras 2.0 and TensorFlow
    gen = torch.Generator().manual_seed(seed)
    losses: list[float] = []
    state = {"net": net, "optimiser": optimiser}
    saved = checkpoint.restore(state, [gen]) if checkpoint is not None else None
    first = 1
    if saved is not None:
        losses, first = list(saved["losses"]), int(saved["done"]) + 1
    net.train()
    for epoch in progress(range(first, p["epochs"] + 1), "cifar10 cnn epochs"):
        total = torch.zeros((), device=device)
        for _ in range(p["steps_per_epoch"]):
            idx = torch.randint(len(images), (p["batch_size"],), generator=gen)
            xb = augment(images[idx].float(), gen, p["rotation"], p["shift"], p["zoom"]).to(device)
            loss = F.cross_entropy(net(xb), labels[idx].to(device))
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            optimiser.step()
            total = total + loss.detach()
        losses.append(float(total) / p["steps_per_epoch"])
        if not math.isfinite(losses[-1]):
            raise RuntimeError(f"cifar10 cnn: the loss is {losses[-1]} at epoch {epoch}")
        if checkpoint is not None:
            checkpoint.maybe_save(state, [gen], {"done": epoch, "losses": losses})
        log.info("cifar10 cnn epoch %d/%d: loss %.4f", epoch, p["epochs"], losses[-1])
    net.eval()
    return net, losses


@torch.no_grad()
def extract(net: KerasCifar10CNN, images: torch.Tensor, layer: str, device: torch.device, batch_size: int = 1000) -> torch.Tensor:
    """Features of every image (``N x 3 x 32 x 32`` in [0, 1]) at ``layer``, in eval mode (no dropout)."""
    net.eval()
    return torch.cat([net.features(images[i : i + batch_size].float().to(device), layer).cpu() for i in range(0, len(images), batch_size)])
