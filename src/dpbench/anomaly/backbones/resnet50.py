"""ResNet-50 up to its last block: AnomalyNet's feature transfer block.

Zhou et al., TIFS 2019, Sec. V-D: "we extract features from the last identity block (before
average pooling layer) which is a resnet-50 pretrained on the ImageNet dataset", a 7 x 7 x 2048 map
for a 224 x 224 input. torchvision's ``resnet50`` up to ``layer4`` (its last bottleneck block, after
the ReLU) gives that map. Weights (``weights``):

* ``imagenet``: torchvision's ``ResNet50_Weights.IMAGENET1K_V1`` (the original ResNet-50 training
  recipe, the closest to the Keras weights the authors used), file ``resnet50-0676ba61.pth`` in
  ``torch.hub.get_dir()/checkpoints`` (``$TORCH_HOME/hub/checkpoints``). torchvision downloads it when
  it is missing; where it cannot (no network) :func:`imagenet_state_dict` fails naming the file and
  the folder to put it in;
* ``random``: torchvision's random initialisation under the job's seed (tests of the whole path,
  and a control without ImageNet).

The paper also fine-tunes the network on the anomaly data; how is not stated, and we do not.
Grey motion-fusion images are repeated over the three channels and normalised with ImageNet's mean
and standard deviation, as for the images the weights were trained on.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import torch

from dpbench.params import UserError

log = logging.getLogger(__name__)

WEIGHTS = ("imagenet", "random")
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def weights_file() -> tuple[str, str, Path]:
    """(URL, file name, folder) of the ImageNet checkpoint torchvision looks for."""
    from torchvision.models import ResNet50_Weights

    url = ResNet50_Weights.IMAGENET1K_V1.url
    return url, url.rsplit("/", 1)[-1], Path(torch.hub.get_dir()) / "checkpoints"


def imagenet_state_dict() -> dict[str, torch.Tensor]:
    """The ImageNet weights: from the hub folder, else downloaded there; a clear error where neither works."""
    url, name, folder = weights_file()
    path = folder / name
    try:
        if path.is_file():
            return torch.load(path, map_location="cpu", weights_only=True)
        return torch.hub.load_state_dict_from_url(url, model_dir=str(folder), progress=False, check_hash=True)
    except Exception as err:  # URLError, HTTPError, a damaged file, a hash mismatch
        raise UserError(
            f"the ImageNet weights of ResNet-50 are missing and could not be downloaded ({type(err).__name__}: {err}): "
            f"put the file {name} (from {url}) in the folder {folder} (torch.hub's checkpoints folder; set TORCH_HOME "
            "to move it), or run the conv_ae backbone, which needs no weights"
        ) from err


class ResNet50Backbone(torch.nn.Module):
    """ResNet-50's stem and four stages (``conv1`` ... ``layer4``): (N, h, w) -> (N, 2048, h/32, w/32)."""

    def __init__(self, weights: str = "imagenet", batch_size: int = 32) -> None:
        super().__init__()
        from torchvision.models import resnet50

        if weights not in WEIGHTS:
            raise ValueError(f"unknown resnet50 weights {weights!r}: expected one of {WEIGHTS}")
        net = resnet50(weights=None)
        if weights == "imagenet":
            net.load_state_dict(imagenet_state_dict())
        self.body = torch.nn.Sequential(*(getattr(net, n) for n in ("conv1", "bn1", "relu", "maxpool", "layer1", "layer2", "layer3", "layer4")))
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1))
        self.batch_size = int(batch_size)
        _, name, folder = weights_file()
        self.info: dict[str, Any] = {"backbone": "resnet50", "weights": weights,
                                     "weights_file": str(folder / name) if weights == "imagenet" else None}
        self.eval()

    @classmethod
    def build(cls, options: dict[str, Any], fit: list[torch.Tensor], val: list[torch.Tensor], *, seed: int,
              device: torch.device, checkpoint: Any = None) -> ResNet50Backbone:
        """Nothing is learned: the weights are ImageNet's (or random under ``seed``)."""
        torch.manual_seed(seed)
        return cls(options.get("weights", "imagenet"), options.get("batch_size", 32)).to(device)

    @torch.no_grad()
    def maps(self, images: torch.Tensor) -> torch.Tensor:
        device = self.mean.device
        out = []
        for start in range(0, images.shape[0], self.batch_size):
            x = images[start : start + self.batch_size].to(device, torch.float32)[:, None].expand(-1, 3, -1, -1)
            out.append(self.body((x - self.mean) / self.std).cpu())
        return torch.cat(out)
