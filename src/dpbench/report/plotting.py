"""What every figure of the report shares: seaborn's theme (matplotlib without a display), each model's
fixed colour, display names, the legend below the panels, integer layer ticks, a figure that only says
why there is nothing to draw, and atomic PDF + PNG writing."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402
from matplotlib.ticker import FixedLocator, MaxNLocator  # noqa: E402

from dpbench.io import atomic_path  # noqa: E402
from dpbench.registry import model_names  # noqa: E402
from dpbench.report.specs import display_names, ordered_models  # noqa: E402

sns.set_theme(context="paper", style="whitegrid", font_scale=1.1)
MODEL_LEGEND = "model"


def model_palette(models: list[str] | None = None) -> dict[str, tuple[float, float, float]]:
    """The fixed colour of every model (the same in every figure): its place among the registry's models of
    its family (clustering or sparse coding, never drawn together), so that the sparse coders get distinct
    colours; the anomaly floor (family ``detector``) is dark grey. Variants and unknown names among
    ``models`` take, in name order, the colours no registered model of ``models`` has, so that no two
    models of one figure share a colour."""
    colours = sns.color_palette("tab10", 10) + sns.color_palette("Dark2", 8)
    palette = {m: colours[model_names(family).index(m)] for family in ("cluster", "sparse") for m in model_names(family)}
    palette |= {m: (0.25, 0.25, 0.25) for m in model_names("detector")}
    extras = sorted(set(models or []) - set(palette))
    used = {palette[m] for m in models or [] if m in palette}
    free = [c for c in colours if c not in used]
    if len(free) < len(extras):  # more variants than free colours: evenly spaced hues for the rest
        free += sns.color_palette("husl", len(extras) - len(free))
    palette |= dict(zip(extras, free))
    return palette


def labelled(frame: pd.DataFrame) -> tuple[pd.DataFrame, list[str], dict[str, tuple[float, float, float]]]:
    """``frame`` with its ``model`` column holding display names (:func:`dpbench.report.specs.display_names`),
    the names in the registry's order, and each name's fixed colour."""
    models = ordered_models(frame["model"])
    names, palette = display_names(models), model_palette(models)
    return frame.assign(model=frame["model"].map(names)), [names[m] for m in models], {names[m]: palette[m] for m in models}


def legend_below(fig: plt.Figure, handles: list, labels: list[str], title: str | None = None) -> None:
    """One legend for the whole figure, centred below its panels in as many columns as fit: the panels
    keep their width (the figure is saved with a tight bounding box, which takes the legend in)."""
    width_pt = fig.get_size_inches()[0] * 72
    mean_chars = sum(len(label) for label in labels) / max(len(labels), 1)
    ncol = max(1, min(len(labels), int(width_pt / (6.5 * mean_chars + 35))))
    fig.legend(handles, labels, title=title, loc="upper center", bbox_to_anchor=(0.5, 0.0), ncol=ncol, frameon=False)


def move_grid_legend(grid: sns.FacetGrid, title: str | None = MODEL_LEGEND) -> None:
    """Seaborn's legend of a FacetGrid, moved below its panels (:func:`legend_below`)."""
    legend = grid.legend
    if legend is None:
        return
    fig = grid.figure
    handles, labels = legend.legend_handles, [t.get_text() for t in legend.get_texts()]
    # seaborn widened the figure by the legend's width to put it on the right: give that width back
    width, height = fig.get_size_inches()
    fig.set_size_inches(width - legend.get_window_extent().width / fig.dpi, height)
    legend.remove()
    fig.tight_layout()
    legend_below(fig, handles, labels, title)


def integer_layer_ticks(ax: plt.Axes, layers: list[int] | None = None) -> None:
    """Ticks at whole layer counts: at each evaluated depth when there are few (1, 3, 5, 10), else at
    integers chosen by matplotlib (never 2.5 layers)."""
    values = sorted({int(v) for v in layers or []})
    if values and len(values) <= 10:
        ax.xaxis.set_major_locator(FixedLocator(values))
    else:
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))


def message_figure(text: str) -> plt.Figure:
    """A figure that only says ``text`` (e.g. that every model of it diverged), so the report still builds."""
    fig, ax = plt.subplots(figsize=(5, 1.6))
    ax.text(0.5, 0.5, text, ha="center", va="center", wrap=True)
    ax.set_axis_off()
    return fig


def save_figure(fig: plt.Figure, pdf: str | Path, png: str | Path) -> None:
    """Write ``fig`` atomically as PDF and PNG, then close it."""
    for path, kwargs in ((pdf, {}), (png, {"dpi": 150})):
        with atomic_path(path) as tmp:
            fig.savefig(tmp, format=Path(path).suffix[1:], bbox_inches="tight", **kwargs)
    plt.close(fig)
