"""k-meansNet trained as its authors' released code does (TELL: Peng, Li, Zhou, Lv & Zhu,
"XAI Beyond Classification: Interpretable Neural Clustering", JMLR 23, 2022).

Mirrors XLearning-SCU/2022-JMLR-TELL at commit 53df64d (``model.py``, ``main.py``):

- an autoencoder encodes x to z = normalize(f(x)) on the unit sphere (``model.py`` ``Net.encode``,
  l. 38-41). The encoder is ``NetConv`` (l. 79-123: four 3x3 convolutions with batch norm, then
  inner_dim -> 256 -> 10) for square grayscale images, as ``main.py`` (l. 88) uses on MNIST pixels,
  and ``Net`` (l. 8-35: Dropout 0.2 + dim -> 500 -> 500 -> 2000 -> 10) for any other vector;
- the clustering layer is a linear layer without bias, W = 2 alpha Omega with alpha = 0.001
  (``init_cluster_layer``, l. 49-50; ``main.py`` l. 93), started from nn.Linear's random
  initialisation and renormalised after every step so that each centre has unit length
  (``normalize_cluster_center``, l. 56-59; ``main.py`` l. 94 and 133). Since ||z|| = ||Omega_j|| = 1,
  ||z - Omega_j||^2 = 2 - W_j^T z / alpha, so the layer's largest score is the nearest centre;
- the loss (``main.py`` l. 109-123) is the reconstruction MSE plus the k-means loss with a hard
  one-hot assignment taken from the detached softmax of the scores,
  L_clu = 0.01 / alpha * mean_{i,j}(2 alpha - delta_ij W_j^T z_i);
- centres and encoder are updated by alternate epochs (l. 108-111 and 126-131): in even epochs the
  clustering loss sees z.detach() and the centres' gradient is replaced by its row-normalised
  direction times 0.2 alpha; in odd epochs the clustering loss reaches the encoder and the centres'
  gradient is zeroed (``Module.zero_grad()`` zeroed gradients in the PyTorch of 2022, so Adadelta's
  running averages keep decaying; we zero them the same way);
- Adadelta with its defaults, batch 256 with the last incomplete batch dropped, 3001 epochs
  (l. 81-92); the cluster of x is its nearest centre in eval mode (``inference``/``predict``).
"""

from __future__ import annotations

import logging
import math

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.base import BaseEstimator, ClusterMixin
from sklearn.utils.validation import check_is_fitted, validate_data
from torch import nn

from dpbench.runtime import DivergenceError

log = logging.getLogger(__name__)


def mlp_autoencoder(dim: int, latent: int) -> tuple[nn.Module, nn.Module]:
    """TELL's ``Net`` encoder and decoder (``model.py`` l. 12-34)."""
    encoder = nn.Sequential(
        nn.Dropout(0.2), nn.Linear(dim, 500), nn.ReLU(),
        nn.Dropout(0.2), nn.Linear(500, 500), nn.ReLU(),
        nn.Dropout(0.2), nn.Linear(500, 2000), nn.ReLU(),
        nn.Dropout(0.2), nn.Linear(2000, latent),
    )
    decoder = nn.Sequential(
        nn.Linear(latent, 2000), nn.ReLU(), nn.Linear(2000, 500), nn.ReLU(),
        nn.Linear(500, 500), nn.ReLU(), nn.Linear(500, dim), nn.Sigmoid(),
    )
    return encoder, decoder


def conv_autoencoder(side: int, latent: int) -> tuple[nn.Module, nn.Module]:
    """TELL's ``NetConv`` encoder and decoder for 1 x side x side images (``model.py`` l. 85-123)."""
    inner = 16 * (side // 4) ** 2
    encoder = nn.Sequential(
        nn.Unflatten(1, (1, side, side)),
        nn.Conv2d(1, 16, 3, stride=1, padding=1), nn.BatchNorm2d(16), nn.ReLU(),
        nn.Conv2d(16, 32, 3, stride=2, padding=1), nn.BatchNorm2d(32), nn.ReLU(),
        nn.Conv2d(32, 32, 3, stride=1, padding=1), nn.BatchNorm2d(32), nn.ReLU(),
        nn.Conv2d(32, 16, 3, stride=2, padding=1), nn.BatchNorm2d(16), nn.ReLU(),
        nn.Flatten(1), nn.Linear(inner, 256), nn.ReLU(), nn.Linear(256, latent),
    )
    decoder = nn.Sequential(
        nn.Linear(latent, 256), nn.ReLU(), nn.Linear(256, inner), nn.Unflatten(1, (16, side // 4, side // 4)),
        nn.ConvTranspose2d(16, 32, 3, stride=2, padding=1, output_padding=1), nn.BatchNorm2d(32), nn.ReLU(),
        nn.ConvTranspose2d(32, 32, 3, stride=1, padding=1), nn.BatchNorm2d(32), nn.ReLU(),
        nn.ConvTranspose2d(32, 16, 3, stride=2, padding=1, output_padding=1), nn.BatchNorm2d(16), nn.ReLU(),
        nn.ConvTranspose2d(16, 1, 3, stride=1, padding=1), nn.Sigmoid(), nn.Flatten(1),
    )
    return encoder, decoder


def square_image_side(dim: int) -> int | None:
    """The side s when ``dim`` = s * s with s a multiple of 4 (NetConv's two stride-2 layers), else None."""
    side = math.isqrt(dim)
    return side if side * side == dim and side % 4 == 0 else None


class TELLNetwork(nn.Module):
    """Autoencoder plus the bias-free clustering layer W = 2 alpha Omega (TELL ``model.py``)."""

    def __init__(self, dim: int, n_clusters: int, alpha: float, encoder: str, latent_dim: int = 10) -> None:
        super().__init__()
        side = square_image_side(dim)
        if encoder == "auto":
            encoder = "conv" if side is not None else "mlp"
        if encoder == "conv":
            if side is None:
                raise ValueError(f"encoder 'conv' needs square images with a side divisible by 4; got {dim} features")
            self.encoder, self.decoder = conv_autoencoder(side, latent_dim)
        elif encoder == "mlp":
            self.encoder, self.decoder = mlp_autoencoder(dim, latent_dim)
        else:
            raise ValueError(f"encoder must be 'auto', 'conv' or 'mlp', got {encoder!r}")
        self.alpha = alpha
        self.cluster_layer = nn.Linear(latent_dim, n_clusters, bias=False)
        self.normalize_centers()

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return F.normalize(self.encoder(x))

    @torch.no_grad()
    def normalize_centers(self) -> None:
        """W <- 2 alpha * W / ||W_j|| (``normalize_cluster_center``): unit-length centres."""
        self.cluster_layer.weight.copy_(F.normalize(self.cluster_layer.weight, dim=1) * 2.0 * self.alpha)

    def centers(self) -> torch.Tensor:
        """Omega = W / (2 alpha) (``compute_cluster_center``)."""
        return self.cluster_layer.weight.detach() / (2.0 * self.alpha)

    def losses(self, x: torch.Tensor, train_encoder: bool) -> tuple[torch.Tensor, torch.Tensor]:
        """Clustering and reconstruction losses of a batch (``main.py`` l. 105-121)."""
        z = self.encode(x)
        scores = self.cluster_layer(z if train_encoder else z.detach())
        hard = F.one_hot(torch.softmax(scores.detach(), dim=1).argmax(1), scores.shape[1]).to(scores.dtype)
        clu = 0.01 / self.alpha * (2.0 * self.alpha - hard * scores).mean()
        rec = F.mse_loss(self.decoder(z), x)
        return clu, rec


class KMeansNetTELL(ClusterMixin, BaseEstimator):
    """Scikit-learn estimator training :class:`TELLNetwork` as TELL's ``main.py`` does.

    Parameters: ``n_clusters``; ``epochs`` (the authors ran 3001); ``batch_size`` (256; capped at
    the number of samples); ``alpha`` (0.001); ``encoder`` ('auto': NetConv for square grayscale
    images, Net otherwise; or 'conv' / 'mlp'); ``random_state`` (int; None is 0) seeds the initialisation,
    the shuffling and dropout; ``device``. Inputs are expected in [0, 1] (the decoder ends in a sigmoid).

    Learned attributes: ``network_``, ``cluster_centers_`` (k x 10, unit rows, in the latent space),
    ``labels_``, ``loss_history_`` (clustering and reconstruction loss per epoch), ``n_features_in_``.
    """

    def __init__(
        self,
        n_clusters: int = 8,
        epochs: int = 3001,
        batch_size: int = 256,
        alpha: float = 0.001,
        encoder: str = "auto",
        random_state: int | None = None,
        device: str = "cpu",
    ) -> None:
        self.n_clusters = n_clusters
        self.epochs = epochs
        self.batch_size = batch_size
        self.alpha = alpha
        self.encoder = encoder
        self.random_state = random_state
        self.device = device

    def fit(self, X, y=None) -> KMeansNetTELL:
        x = self._tensor(validate_data(self, _as_numpy(X), dtype=np.float32))
        device = x.device
        seed = 0 if self.random_state is None else int(self.random_state)
        generator = torch.Generator().manual_seed(seed)
        with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
            torch.manual_seed(seed)
            net = TELLNetwork(x.shape[1], self.n_clusters, self.alpha, self.encoder).to(device)
            self.loss_history_ = self._train(net, x, generator)
        self.network_ = net.eval()
        self.cluster_centers_ = net.centers().cpu().numpy()
        self.labels_ = self._predict(x)
        return self

    def _train(self, net: TELLNetwork, x: torch.Tensor, generator: torch.Generator) -> list[tuple[float, float]]:
        """``main.py`` l. 101-135: alternate epochs, Adadelta, drop_last batches."""
        opt = torch.optim.Adadelta(net.parameters())
        weight = net.cluster_layer.weight
        n = len(x)
        batch = min(self.batch_size, n)
        history = []
        net.train()
        for epoch in range(self.epochs):
            encoder_epoch = epoch % 2 == 1
            perm = torch.randperm(n, generator=generator).to(x.device)
            sums = x.new_zeros(2)  # the two losses summed on the device: read back (and checked) once per epoch
            steps = n // batch
            for step in range(steps):
                clu, rec = net.losses(x[perm[step * batch : (step + 1) * batch]], train_encoder=encoder_epoch)
                loss = clu + rec
                opt.zero_grad()
                loss.backward()
                if encoder_epoch:
                    weight.grad.zero_()
                else:
                    weight.grad = F.normalize(weight.grad, dim=1) * 0.2 * self.alpha
                opt.step()
                net.normalize_centers()
                sums += torch.stack([clu.detach(), rec.detach()])
            clu_mean, rec_mean = (float(v) / steps for v in sums)
            if not (math.isfinite(clu_mean) and math.isfinite(rec_mean)):
                raise DivergenceError(f"k-meansNet (TELL): training diverged in epoch {epoch + 1}: mean losses {clu_mean}, {rec_mean}")
            history.append((clu_mean, rec_mean))
            log.debug("TELL epoch %d/%d: clu %.6g rec %.6g", epoch + 1, self.epochs, *history[-1])
        return history

    @torch.no_grad()
    def _predict(self, x: torch.Tensor, chunk: int = 4096) -> np.ndarray:
        """Nearest unit-length centre of each encoded sample (``Net.predict``), in eval mode."""
        centers = self.network_.centers()
        labels = [torch.cdist(self.network_.encode(x[i : i + chunk]), centers).argmin(1) for i in range(0, len(x), chunk)]
        return torch.cat(labels).cpu().numpy()

    def predict(self, X) -> np.ndarray:
        check_is_fitted(self, "network_")
        return self._predict(self._tensor(validate_data(self, _as_numpy(X), dtype=np.float32, reset=False)))

    def _tensor(self, x: np.ndarray) -> torch.Tensor:
        return torch.as_tensor(x, dtype=torch.float32).to(torch.device(self.device))


def _as_numpy(x):
    """Torch tensors as numpy arrays (scikit-learn's validation takes array-likes)."""
    return x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else x
