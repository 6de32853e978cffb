"""The two autoencoders of TELL (Peng et al., "XAI Beyond Classification: Interpretable Neural
Clustering", JMLR 23, 2022), as its released code builds them (XLearning-SCU/2022-JMLR-TELL @53df64d,
``model.py``). Both map an image to a 10-d code; TELL clusters the unit-length code, and its Table 4
clusters the code of each autoencoder pretrained by reconstruction alone.
"""

from __future__ import annotations

import math

from torch import nn


def mlp_autoencoder(dim: int, latent: int) -> tuple[nn.Module, nn.Module]:
    """TELL's ``Net`` encoder and decoder (``model.py`` l. 12-34): Dropout 0.2 before each of
    dim -> 500 -> 500 -> 2000 -> latent, mirrored decoder ending in a sigmoid (paper Sec. 4.4, "FCN")."""
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


def conv_autoencoder(side: int, latent: int, channels: int = 1) -> tuple[nn.Module, nn.Module]:
    """TELL's ``NetConv`` encoder and decoder for ``channels`` x side x side images (``model.py``
    l. 79-123; ``NetConv(channel=1, inner_dim=784)`` on MNIST, ``channel=3`` on CIFAR; paper Sec. 4:
    conv(16,3,1,1)-conv(32,3,2,1)-conv(32,3,1,1)-conv(16,3,2,1)-fc(256)-fc(10), batch norm after each
    convolution, ReLU except at the end, mirrored decoder with a sigmoid output)."""
    inner = 16 * (side // 4) ** 2
    encoder = nn.Sequential(
        nn.Unflatten(1, (channels, side, side)),
        nn.Conv2d(channels, 16, 3, stride=1, padding=1), nn.BatchNorm2d(16), nn.ReLU(),
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
        nn.ConvTranspose2d(16, channels, 3, stride=1, padding=1), nn.Sigmoid(), nn.Flatten(1),
    )
    return encoder, decoder


def image_shape(dim: int) -> tuple[int, int] | None:
    """(channels, side) when ``dim`` features are a grayscale (1 x s x s) or colour (3 x s x s) image
    with s a multiple of 4 (NetConv's two stride-2 layers), else None. Pixels are channel-major, as
    ``PreparedDataset.flat`` lays them out."""
    for channels in (1, 3):
        if dim % channels == 0:
            side = math.isqrt(dim // channels)
            if side * side * channels == dim and side % 4 == 0:
                return channels, side
    return None


def resolve_encoder(encoder: str, dim: int) -> str:
    """The encoder a run uses: ``auto`` is ``conv`` for square grayscale or colour images (as TELL
    does on MNIST and CIFAR), ``mlp`` otherwise; ``conv`` on other inputs is an error naming the input size."""
    shape = image_shape(dim)
    if encoder == "auto":
        return "conv" if shape is not None else "mlp"
    if encoder == "conv" and shape is None:
        raise ValueError(
            f"encoder 'conv' needs square images (1 or 3 channels) with a side divisible by 4; got {dim} features"
        )
    if encoder not in ("conv", "mlp", "none"):
        raise ValueError(f"encoder must be 'auto', 'conv', 'mlp' or 'none', got {encoder!r}")
    return encoder


def build_autoencoder(encoder: str, dim: int, latent: int) -> tuple[nn.Module, nn.Module]:
    """Encoder and decoder of kind ``encoder`` (``auto``, ``conv`` or ``mlp``) for ``dim`` inputs."""
    kind = resolve_encoder(encoder, dim)
    if kind == "none":
        raise ValueError("encoder 'none' has no autoencoder")
    if kind == "conv":
        channels, side = image_shape(dim)
        return conv_autoencoder(side, latent, channels)
    return mlp_autoencoder(dim, latent)
