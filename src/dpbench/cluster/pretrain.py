"""TELL's autoencoders pretrained by reconstruction alone: the fixed features of TELL's Table 4.

TELL (Peng et al., JMLR 23, 2022, Sec. 4.4, Table 4 on p. 17) clusters "fixed features learned by
autoencoders, i.e. the clustering loss is used to update cluster centers only" ("TELL-TwoStage"), with
its convolutional autoencoder and with the fully connected one (fc500-fc500-fc2000-fc10). The paper
states neither the optimiser nor the length of that pretraining; we train exactly TELL's network with
TELL's optimiser and batches and the clustering term left out (lambda = 0 in L = L_rec + lambda L_clu,
Eq. 13): ``model.py``'s autoencoder, decoding z = normalize(f(x)) (``main.py`` l. 106 and 120),
Adadelta with its defaults, batch 256 with drop_last, the MSE of ``main.py`` l. 121. The features are
the codes z of every image in eval mode: the unit-length representation that TELL's clustering layer
sees. So a two-stage cell and an end-to-end cell of the same encoder differ only in whether the
clustering loss shaped the representation (after the same number of epochs when they are equal).

Pretraining is resumable like TELL itself (:class:`dpbench.checkpoint.EpochCheckpoint`): the state is
kept next to the feature file and a longer pretraining continues a shorter one.
"""

from __future__ import annotations

import json
import logging
import math
import time
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from dpbench.checkpoint import EpochCheckpoint, data_digest, training_generators
from dpbench.cluster.kmeansnet_tell import EVAL_BATCH, TELLNetwork, speed_setup
from dpbench.params import with_defaults
from dpbench.runtime import DivergenceError, compile_requested

log = logging.getLogger(__name__)

# feature kind -> TELL's encoder of that autoencoder
AE_KINDS = {"ae_mlp": "mlp", "ae_conv": "conv"}
AE_DEFAULTS: dict[str, Any] = {"epochs": 100, "batch_size": 256, "seed": 0, "checkpoint_every": 5}


def pretrain_autoencoder(
    x: torch.Tensor,
    encoder: str,
    params: dict[str, Any] | None = None,
    checkpoint: str | Path | None = None,
) -> tuple[TELLNetwork, list[float]]:
    """Train TELL's autoencoder ``encoder`` (``mlp`` or ``conv``) on ``x`` (N x d, values in [0, 1])
    by reconstruction alone; ``params``: ``epochs``, ``batch_size``, ``seed``, ``checkpoint_every``
    (:data:`AE_DEFAULTS`). Returns the network (eval mode) and the mean reconstruction loss of every
    epoch. With ``checkpoint``, an interrupted or shorter run continues from its saved epoch."""
    p = with_defaults("autoencoder", AE_DEFAULTS, params)
    if int(p["epochs"]) < 1 or int(p["batch_size"]) < 1 or int(p["checkpoint_every"]) < 0:
        raise ValueError(f"autoencoder: epochs and batch_size must be >= 1 and checkpoint_every >= 0, got {p}")
    device, seed = x.device, int(p["seed"])
    generator = torch.Generator().manual_seed(seed)
    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
        torch.manual_seed(seed)
        net = TELLNetwork(x.shape[1], 1, 0.001, encoder).to(device)
        if net.fixed_features:
            raise ValueError("autoencoder: encoder 'none' has nothing to pretrain")
        losses = _reconstruction(net, compile_requested())
        params_ = list(net.encoder.parameters()) + list(net.decoder.parameters())
        opt = torch.optim.Adadelta(params_)
        state = {"network": net, "optimizer": opt}
        generators = training_generators(device, generator)
        ckpt = None
        if checkpoint is not None:
            fingerprint = json.dumps({"model": "tell_autoencoder/1", "encoder": net.kind, "shape": list(x.shape), "data": data_digest(x),
                                      "batch_size": int(p["batch_size"]), "seed": seed}, sort_keys=True)
            ckpt = EpochCheckpoint(checkpoint, int(p["checkpoint_every"]), fingerprint)
        progress = ckpt.resume(state, generators, int(p["epochs"])) if ckpt is not None else None
        history = [float(v) for v in progress["loss_history"]] if progress else []
        seconds = float(progress["seconds"]) if progress else 0.0
        n, batch = len(x), min(int(p["batch_size"]), len(x))
        for epoch in range(len(history), int(p["epochs"])):
            begin = time.perf_counter()
            net.train()
            perm = torch.randperm(n, generator=generator).to(device)
            total = x.new_zeros(())
            for step in range(n // batch):
                loss = losses(x[perm[step * batch : (step + 1) * batch]])
                opt.zero_grad()
                loss.backward()
                opt.step()
                total += loss.detach()
            mean = float(total) / (n // batch)
            if not math.isfinite(mean):
                raise DivergenceError(f"autoencoder ({encoder}): pretraining diverged in epoch {epoch + 1}: mean loss {mean}")
            history.append(mean)
            seconds += time.perf_counter() - begin
            log.info("autoencoder %s: epoch %d/%d, reconstruction loss %.6g (%.0f s)", net.kind, epoch + 1, p["epochs"], mean, seconds)
            if ckpt is not None:
                ckpt.after_epoch(epoch + 1, int(p["epochs"]), state, generators, {"loss_history": history, "seconds": seconds})
    return net.eval(), history


def _reconstruction(net: TELLNetwork, compile: bool):
    """The MSE of x and decode(normalize(encode(x))) (``main.py`` l. 106, 120-121), laid out for speed."""
    speed_setup(net, next(net.parameters()).device, compile=False)

    def loss(x: torch.Tensor) -> torch.Tensor:
        return F.mse_loss(net.decoder(net.encode(x)), x)

    return torch.compile(loss) if compile else loss


@torch.no_grad()
def encode_all(net: TELLNetwork, x: torch.Tensor) -> torch.Tensor:
    """The unit-length codes z of every row of ``x`` in eval mode (N x 10, on the CPU)."""
    net.eval()
    return torch.cat([net.encode(x[i : i + EVAL_BATCH]).cpu() for i in range(0, len(x), EVAL_BATCH)])
