"""The image tasks' error-map figure: originals, each model's reconstructions ``x̂ = D z`` and their
absolute errors, drawn from the samples an image job saves (``images-run --samples-output``).
"""

from __future__ import annotations

import argparse
import textwrap

import numpy as np

from dpbench.io import load_tensors
from dpbench.params import UserError
from dpbench.report.plotting import message_figure, plt, save_figure
from dpbench.report.specs import display_names


def error_figure(samples: list[str], models: list[str], dataset: str, pdf: str, png: str) -> None:
    """Originals, then per model its reconstructions and absolute-error maps (black = no error)."""
    if len(samples) != len(models):
        raise UserError(f"{len(samples)} sample files for {len(models)} models")
    names = display_names(models)  # the registry's labels; a +learned_D result keeps its suffix
    saved = [(names[name], load_tensors(p)) for name, p in zip(models, samples)]
    failed = [name for name, s in saved if s.get("status") == "diverged"]
    shown = [(name, s) for name, s in saved if s.get("status") != "diverged"]
    if not shown:
        save_figure(message_figure(f"{dataset}: every model's training diverged ({', '.join(failed)})"), pdf, png)
        return
    models, loaded = [name for name, _ in shown], [s for _, s in shown]
    original = loaded[0]["original"].numpy()
    errors = [np.abs(s["reconstruction"].numpy() - original) for s in loaded]
    vmax = max(float(e.max()) for e in errors) or 1.0
    n = len(original)
    rows = 1 + 2 * len(models)
    side = 1.1 if n > 4 else 2.4
    fig, axes = plt.subplots(rows, n, figsize=(side * n + 1.6, side * rows), squeeze=False)

    def show(ax, img, **kw):
        img = np.transpose(img, (1, 2, 0))
        if img.shape[2] == 1:
            img = img[..., 0]
            kw.setdefault("cmap", "gray")
        ax.imshow(np.clip(img, 0, None if "vmax" in kw else 1), interpolation="nearest", **kw)
        ax.set_xticks([])
        ax.set_yticks([])

    for j in range(n):
        show(axes[0, j], original[j], vmin=0, vmax=1)
    axes[0, 0].set_ylabel("original", rotation=0, ha="right", va="center")
    for i, (name, s, err) in enumerate(zip(models, loaded, errors)):
        r = 1 + 2 * i
        for j in range(n):
            show(axes[r, j], s["reconstruction"].numpy()[j], vmin=0, vmax=1)
            show(axes[r + 1, j], err[j].mean(0, keepdims=True), cmap="gray", vmin=0, vmax=vmax)
        axes[r, 0].set_ylabel(f"{name} (t={int(s['layers'])})\nPSNR {float(s['psnr']):.1f} dB", rotation=0, ha="right", va="center")
        axes[r + 1, 0].set_ylabel("|error|", rotation=0, ha="right", va="center")
    title = f"{dataset}: reconstructions x̂ = D z and absolute errors (darker = lower error; black = 0, white = {vmax:.2f})"
    if failed:
        title += f"; training diverged, not shown: {', '.join(failed)}"
    fig.tight_layout()
    # above the axes (saved with bbox_inches="tight", so nothing is cut)
    fig.suptitle(textwrap.fill(title, width=int(12 * side * n + 10)), fontsize="medium", y=1.0, va="bottom")
    save_figure(fig, pdf, png)


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``images-error-figure`` command."""
    p = sub.add_parser("images-error-figure", help="grid of originals, reconstructions and error maps from saved samples")
    p.add_argument("--samples", nargs="+", required=True)
    p.add_argument("--models", nargs="+", required=True)
    p.add_argument("--dataset", required=True)
    p.add_argument("--pdf", required=True)
    p.add_argument("--png", required=True)
    p.set_defaults(func=lambda a: error_figure(a.samples, a.models, a.dataset, a.pdf, a.png))
