"""A convolutional autoencoder trained on the normal training images only: a backbone without ImageNet.

The encoder is ``len(channels)`` blocks ``Conv2d(3x3, stride 2) -> ReLU`` (channels 16, 32, 64, 128
by default: a 120 x 180 image gives an 8 x 12 x 128 map); the decoder mirrors it with
``ConvTranspose2d(4x4, stride 2)`` blocks and a linear last layer. It is trained to reconstruct
the motion-fusion images of the normal training clips (inputs standardised by the training
images' mean and standard deviation; mean squared error; Adam; minibatches drawn by the job's
seed), one epoch at a time, until the held-out normal training clips' loss has not improved by a
relative ``min_delta`` for ``patience`` epochs, or ``max_epochs``; the best epoch's weights are kept.
The encoder's output (after its last ReLU) is the feature map, like ResNet-50's post-ReLU map.

Why the features cannot collapse to zero: they are trained only through the decoder, which must
rebuild the image from them. Any constant code (zero included) leaves the decoder a constant
output, whose loss is at least that of the best constant image, the training clips' mean image
(``info["val_loss_mean_image"]``); the held-out loss the training reaches
(``info["val_loss"]``) is recorded next to it, and ``info["beats_mean_image"]`` says whether the
codes carry what a constant cannot. (The codes' scale is arbitrary, the decoder can undo any, so
the pipeline normalises the pooled vectors before coding.) No coder loss reaches the backbone.
"""

from __future__ import annotations

import copy
import logging
import math
import time
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from dpbench.checkpoint import TrainingCheckpoint

log = logging.getLogger(__name__)

DEFAULTS: dict[str, Any] = {"channels": [16, 32, 64, 128], "max_epochs": 20, "patience": 3, "min_delta": 1e-3,
                            "batch_size": 32, "lr": 1e-3, "encode_batch": 256}


class ConvAE(nn.Module):
    """Encoder of stride-2 3x3 convolutions and ReLUs; mirrored transposed-convolution decoder."""

    def __init__(self, channels: list[int]) -> None:
        super().__init__()
        if not channels or any(int(c) < 1 for c in channels):
            raise ValueError(f"conv_ae channels must be a non-empty list of positive integers, got {channels!r}")
        enc: list[nn.Module] = []
        previous = 1
        for c in channels:
            enc += [nn.Conv2d(previous, int(c), 3, stride=2, padding=1), nn.ReLU()]
            previous = int(c)
        self.encoder = nn.Sequential(*enc)
        widths = [int(c) for c in reversed(channels)] + [1]
        dec: list[nn.Module] = []
        for i, (a, b) in enumerate(zip(widths[:-1], widths[1:])):
            dec.append(nn.ConvTranspose2d(a, b, 4, stride=2, padding=1))
            if i < len(widths) - 2:
                dec.append(nn.ReLU())
        self.decoder = nn.Sequential(*dec)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, 1, h, w) -> its reconstruction (N, 1, h, w) (the decoder's output cropped to the input)."""
        return self.decoder(self.encoder(x))[..., : x.shape[-2], : x.shape[-1]]


class ConvAEBackbone:
    """A trained :class:`ConvAE` whose encoder gives the feature maps (see the module docstring)."""

    def __init__(self, net: ConvAE, mean: float, std: float, info: dict[str, Any], encode_batch: int = 256) -> None:
        self.net = net.eval()
        self.mean, self.std = float(mean), float(std)
        self.info = info
        self.encode_batch = int(encode_batch)

    @classmethod
    def build(cls, options: dict[str, Any], fit: list[torch.Tensor], val: list[torch.Tensor], *, seed: int,
              device: torch.device, checkpoint: TrainingCheckpoint | None = None) -> ConvAEBackbone:
        unknown = sorted(set(options) - set(DEFAULTS))
        if unknown:
            raise ValueError(f"unknown conv_ae option(s) {unknown}: expected keys among {sorted(DEFAULTS)}")
        opts = {**DEFAULTS, **options}
        x_fit = torch.cat([x for x in fit if len(x)])[:, None].float()
        x_val = torch.cat([x for x in val if len(x)])[:, None].float() if any(len(x) for x in val) else x_fit[:0]
        if x_fit.shape[0] == 0 or x_val.shape[0] == 0:
            raise ValueError(f"conv_ae needs images to fit and held-out images, got {x_fit.shape[0]} and {x_val.shape[0]}")
        mean, std = float(x_fit.mean()), float(x_fit.std()) or 1.0
        torch.manual_seed(seed)
        generator = torch.Generator().manual_seed(seed)
        net = ConvAE(list(opts["channels"])).to(device)
        info = train(net, (x_fit - mean) / std, (x_val - mean) / std, opts, generator, device, checkpoint)
        return cls(net, mean, std, info, opts["encode_batch"])

    @torch.no_grad()
    def maps(self, images: torch.Tensor) -> torch.Tensor:
        device = next(self.net.parameters()).device
        out = []
        for start in range(0, images.shape[0], self.encode_batch):
            x = (images[start : start + self.encode_batch].to(device, torch.float32)[:, None] - self.mean) / self.std
            out.append(self.net.encoder(x).cpu())
        return torch.cat(out)


def _mse(net: ConvAE, x: torch.Tensor, device: torch.device, batch: int = 256) -> float:
    """Mean squared reconstruction error of ``net`` on ``x`` (no gradient)."""
    net.eval()
    with torch.no_grad():
        total = sum(float(F.mse_loss(net(x[i : i + batch].to(device)), x[i : i + batch].to(device), reduction="sum"))
                    for i in range(0, x.shape[0], batch))
    net.train()
    return total / x.numel()


def train(net: ConvAE, x_fit: torch.Tensor, x_val: torch.Tensor, opts: dict[str, Any], generator: torch.Generator,
          device: torch.device, checkpoint: TrainingCheckpoint | None = None) -> dict[str, Any]:
    """Train ``net`` to reconstruct ``x_fit`` with early stopping on ``x_val`` (module docstring); return what happened."""
    start = time.perf_counter()
    optimiser = torch.optim.Adam(net.parameters(), lr=float(opts["lr"]))
    best = copy.deepcopy(net)
    state = {"model": net, "optimiser": optimiser, "best": best}
    baseline = float((x_val - x_fit.mean(dim=0, keepdim=True)).pow(2).mean())
    progress = checkpoint.restore(state, [generator]) if checkpoint is not None else None
    if progress is None:
        epoch, best_epoch, bad = 0, 0, 0
        val_losses, train_losses = [_mse(net, x_val, device)], []
        best_val = val_losses[0]
    else:
        epoch, best_epoch, bad = int(progress["epoch"]), int(progress["best_epoch"]), int(progress["bad"])
        val_losses, train_losses = list(progress["val_losses"]), list(progress["train_losses"])
        best_val = float(progress["best_val"])
    net.train()
    batch = int(opts["batch_size"])
    while epoch < int(opts["max_epochs"]) and bad < int(opts["patience"]):
        order = torch.randperm(x_fit.shape[0], generator=generator)
        total = 0.0
        for i in range(0, x_fit.shape[0], batch):
            xb = x_fit[order[i : i + batch]].to(device)
            loss = F.mse_loss(net(xb), xb)
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            total += float(loss) * xb.shape[0]
        epoch += 1
        train_losses.append(total / x_fit.shape[0])
        val = _mse(net, x_val, device)
        if not math.isfinite(val):
            from dpbench.runtime import DivergenceError

            raise DivergenceError(f"conv_ae diverged at epoch {epoch}: held-out loss {val}")
        val_losses.append(val)
        if val < best_val * (1 - float(opts["min_delta"])):
            best_val, best_epoch, bad = val, epoch, 0
            best.load_state_dict(net.state_dict())
        else:
            bad += 1
        log.info("conv_ae epoch %d: train %.5g, held-out %.5g (best %.5g at epoch %d; mean image %.5g)", epoch,
                 train_losses[-1], val, best_val, best_epoch, baseline)
        if checkpoint is not None:
            checkpoint.maybe_save(state, [generator], {"epoch": epoch, "best_epoch": best_epoch, "bad": bad, "best_val": best_val,
                                                       "val_losses": val_losses, "train_losses": train_losses}, force=True)
    net.load_state_dict(best.state_dict())
    net.eval()
    with torch.no_grad():
        codes = torch.cat([net.encoder(x_val[i : i + 256].to(device)).cpu() for i in range(0, x_val.shape[0], 256)])
    active = codes.amax(dim=(0, 2, 3)) > 0
    if best_val >= baseline:
        log.warning("conv_ae: held-out loss %.5g does not beat the mean training image's %.5g: its codes carry little", best_val, baseline)
    return {
        "backbone": "conv_ae", "channels": [int(c) for c in opts["channels"]], "epochs": epoch, "best_epoch": best_epoch,
        "stopped": "patience" if bad >= int(opts["patience"]) else "max_epochs", "train_losses": train_losses,
        "val_losses": val_losses, "val_loss": best_val, "val_loss_mean_image": baseline, "beats_mean_image": bool(best_val < baseline),
        "active_channels": int(active.sum()), "n_fit_images": int(x_fit.shape[0]), "n_val_images": int(x_val.shape[0]),
        "train_seconds": time.perf_counter() - start,
    }
