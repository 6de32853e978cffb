"""Feature extraction: raw pixels, the penultimate layer of an ImageNet-pretrained CNN, or the codes
of TELL's autoencoders pretrained by reconstruction alone.

The k-meansNet paper's headline CIFAR results cluster CNN features rather than pixels; we use
torchvision's ResNet-50 (2048-d global-pooled features). TELL's Table 4 (JMLR 2022, p. 17) clusters
the fixed features of its fully connected (``ae_mlp``) and convolutional (``ae_conv``) autoencoders
(:mod:`dpbench.cluster.pretrain`).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from dpbench.data.datasets import PreparedDataset
from dpbench.progress import progress

log = logging.getLogger(__name__)

FEATURES = ("pixels", "resnet50", "ae_mlp", "ae_conv")
# kinds that are learned from the dataset itself (a training job with parameters, a resumable state)
TRAINED_FEATURES = ("ae_mlp", "ae_conv")


class WeightsUnavailableError(RuntimeError):
    """Pretrained weights could not be loaded (typically: no network)."""


def resnet50_backbone(pretrained: bool = True) -> torch.nn.Module:
    """ResNet-50 without its classifier; ``pretrained=False`` gives random weights (tests)."""
    from torchvision.models import ResNet50_Weights, resnet50

    try:
        net = resnet50(weights=ResNet50_Weights.IMAGENET1K_V2 if pretrained else None)
    except Exception as err:  # URLError, HTTPError, hash mismatch, ...
        raise WeightsUnavailableError(
            "could not load the ImageNet weights of torchvision's resnet50 "
            f"({type(err).__name__}: {err}); on an offline machine, place the checkpoint file under "
            f"{torch.hub.get_dir()}/checkpoints or drop 'resnet50' from the config's clustering features"
        ) from err
    net.fc = torch.nn.Identity()
    return net.eval()


@torch.no_grad()
def cnn_features(
    data: PreparedDataset,
    net: torch.nn.Module,
    device: torch.device,
    batch_size: int = 256,
    size: int = 224,
) -> torch.Tensor:
    """Penultimate-layer features of ``net`` for every image (resized to ``size``, ImageNet-normalised)."""
    net = net.to(device)
    mean = torch.tensor([0.485, 0.456, 0.406], device=device).view(1, 3, 1, 1)
    std = torch.tensor([0.229, 0.224, 0.225], device=device).view(1, 3, 1, 1)
    out = []
    n = len(data.images)
    for start in progress(range(0, n, batch_size), "cnn features (batches)"):
        batch = data.images[start : start + batch_size].to(device, torch.float32) / data.scale
        if batch.shape[1] == 1:
            batch = batch.expand(-1, 3, -1, -1)
        batch = F.interpolate(batch, size=(size, size), mode="bilinear", align_corners=False)
        out.append(net((batch - mean) / std).float().cpu())
        if (start // batch_size) % 20 == 0:
            log.info("cnn features: %d / %d images", min(start + batch_size, n), n)
    return torch.cat(out)


def extract_features(
    data: PreparedDataset,
    kind: str,
    device: torch.device,
    pretrained: bool = True,
    params: dict[str, Any] | None = None,
    checkpoint: str | Path | None = None,
) -> tuple[torch.Tensor, dict[str, Any]]:
    """Features of kind ``kind`` (:data:`FEATURES`) for every image of ``data`` (N x d, float32) and
    what produced them (for ``ae_*``: the pretraining parameters and reconstruction loss per epoch).
    ``params`` and ``checkpoint`` are those of the autoencoder's pretraining (``ae_*`` only)."""
    if kind not in TRAINED_FEATURES and params:
        raise ValueError(f"feature kind {kind!r} takes no parameters, got {sorted(params)}")
    if kind == "pixels":
        return data.flat(), {}
    if kind == "resnet50":
        return cnn_features(data, resnet50_backbone(pretrained), device), {}
    if kind in TRAINED_FEATURES:
        from dpbench.cluster.pretrain import AE_DEFAULTS, AE_KINDS, encode_all, pretrain_autoencoder

        x = data.flat().to(device)
        net, history = pretrain_autoencoder(x, AE_KINDS[kind], params, checkpoint)
        return encode_all(net, x), {"params": {**AE_DEFAULTS, **(params or {})}, "reconstruction_loss": history}
    raise ValueError(f"unknown feature kind {kind!r}; known: {', '.join(FEATURES)}")
