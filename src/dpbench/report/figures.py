"""Figures from the tidy summary alone (seaborn, one palette per model across all figures).

Every figure is written as PDF (for papers) and PNG (for the HTML report). Error bars and bands
show the standard deviation over seeds, and the axis or title says so. Models are named by the
registry's labels (as in the tables), each in the same colour in every figure; the legend sits
below the panels, in columns, so that it never narrows them; axes of layers have integer ticks.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import seaborn as sns

from dpbench.report.clustering_figures import accuracy_vs_epochs, initialisation_strip, seed_pairs
from dpbench.report.plotting import (
    MODEL_LEGEND,
    integer_layer_ticks,
    labelled,
    legend_below,
    message_figure,
    model_palette,
    move_grid_legend,
    plt,
    save_figure,
)
from dpbench.report.specs import METRIC_LABELS, at_max_layers, ordered_models


def clustering_bars(frame: pd.DataFrame) -> plt.Figure:
    """ACC / NMI / ARI per dataset, one bar per model, error bars = sd over seeds."""
    frame = frame[frame["metric"].isin(["acc", "nmi", "ari"])].copy()
    frame["metric"] = frame["metric"].map(METRIC_LABELS)
    frame["dataset"] = frame["dataset"] + frame["features"].map(lambda f: "" if f == "pixels" else f"\n({f})")
    if "starts" in frame and frame["starts"].nunique() > 1:
        frame["dataset"] = frame["dataset"] + "\n" + frame["starts"].fillna("")
    frame, models, palette = labelled(frame)
    grid = sns.catplot(
        data=frame, kind="bar", x="dataset", y="value", hue="model", col="metric",
        hue_order=models, palette=palette, errorbar="sd", capsize=0.1,
        height=3.2, aspect=1.1, sharey=True,
    )
    grid.set_axis_labels("", "score (mean ± sd over seeds)")
    grid.set_titles("{col_name}")
    grid.set(ylim=(0, 1))
    move_grid_legend(grid)
    return grid.figure


def clustering_seeds(frame: pd.DataFrame) -> plt.Figure:
    """Per-seed ACC of every model side by side (one dot a seed), a panel per dataset and starts
    setting: the spread over initialisations at a glance."""
    frame = frame[frame["metric"] == "acc"].copy()
    frame["dataset"] = frame["dataset"] + frame["features"].map(lambda f: "" if f == "pixels" else f" ({f})")
    if "starts" not in frame:
        frame["starts"] = "1 start"
    frame, models, palette = labelled(frame)
    widest = frame.groupby(["dataset", "starts"])["model"].nunique().max()
    grid = sns.FacetGrid(frame, col="dataset", row="starts", sharex=False, sharey=True,
                         height=3.2, aspect=max(1.3, 0.3 * widest))

    def strip(data: pd.DataFrame, **_: object) -> None:
        """One panel: only the models it ran, in the report's order (no empty columns)."""
        present = [m for m in models if m in set(data["model"])]
        sns.stripplot(data=data, x="model", y="value", hue="model", order=present, hue_order=present,
                      palette=palette, jitter=0.15, size=6, alpha=0.8, legend=False, ax=plt.gca())

    state = np.random.get_state()  # seaborn jitters with NumPy's global generator: the same dots every time
    np.random.seed(0)
    try:
        grid.map_dataframe(strip)
    finally:
        np.random.set_state(state)
    grid.set_axis_labels("", "ACC (one dot per seed)")
    grid.set_titles("{col_name}, {row_name}")
    for ax in grid.axes.flat:
        plt.setp(ax.get_xticklabels(), rotation=30, ha="right", rotation_mode="anchor")
    grid.set(ylim=(0, 1))
    return grid.figure


def metric_vs_layers(frame: pd.DataFrame, metric: str) -> plt.Figure:
    """``metric`` against the number of layers/iterations, a line per model, band = sd over seeds."""
    frame = frame[frame["metric"] == metric]
    layers = sorted(frame["layers"].dropna().unique())
    frame, models, palette = labelled(frame)
    datasets = sorted(frame["dataset"].unique())
    grid = sns.relplot(
        data=frame, kind="line", x="layers", y="value", hue="model", col="dataset", col_order=datasets,
        hue_order=models, palette=palette, errorbar="sd", marker="o",
        height=3.4, aspect=1.2, facet_kws={"sharey": False},
    )
    grid.set_axis_labels("layers / iterations", f"{METRIC_LABELS.get(metric, metric)} (mean ± sd over seeds)")
    grid.set_titles("{col_name}")
    for ax in grid.axes.flat:
        integer_layer_ticks(ax, layers)
    move_grid_legend(grid)
    return grid.figure


def synthetic_nmse_vs_layers(frame: pd.DataFrame) -> plt.Figure:
    """NMSE (dB) against layers, a line per model, with each paper's published curve of that model
    (figure-digitized, :mod:`dpbench.report.reference`) dashed in the model's colour: only in a panel
    whose runs solved the papers' problem (m = 250, n = 500, p = 0.1); elsewhere the panel says why not."""
    from matplotlib.lines import Line2D

    from dpbench.report.reference import PAPERS, load_reference_curves, same_problem

    fig = metric_vs_layers(frame, "nmse_db")
    below = fig.legends[-1] if fig.legends else None
    handles = list(below.legend_handles) if below else []
    labels = [t.get_text() for t in below.get_texts()] if below else []
    if below:
        below.remove()
    nmse = frame[frame["metric"] == "nmse_db"]
    models = ordered_models(nmse["model"])
    palette = model_palette(models)
    curves = load_reference_curves()
    curves = curves[curves["ours_model"].isin(models) & (curves["layer"] >= 1)]
    styles = dict(zip(PAPERS, ["--", "-."]))
    drawn, skipped = set(), []
    for ax in fig.axes:
        dataset = ax.get_title()
        published = curves[curves["dataset"] == dataset]
        if published.empty:
            continue
        same, how = same_problem(nmse[nmse["dataset"] == dataset])
        if not same:
            skipped.append(how)
            ax.text(0.02, 0.02, f"published curves not drawn:\nthis run has {how}\n(papers: m = 250, n = 500, p = 0.1)",
                    transform=ax.transAxes, fontsize="x-small", color="0.35", va="bottom")
            continue
        for (paper, model), curve in published.groupby(["paper", "ours_model"]):
            ax.plot(curve["layer"], curve["nmse_db"], linestyle=styles[paper], color=palette[model], linewidth=1.2, alpha=0.9)
            drawn.add(paper)
    for paper in PAPERS:
        if paper in drawn:
            handles.append(Line2D([], [], color="grey", linestyle=styles[paper]))
            labels.append(f"{paper}, published (m = 250, n = 500)")
    fig.tight_layout()
    legend_below(fig, handles, labels, MODEL_LEGEND)
    return fig


def _bars_per_dataset(frame: pd.DataFrame, ylabel: str) -> plt.Figure:
    """One bar per model and dataset, error bars = sd over seeds, scores in [0, 1]."""
    frame, models, palette = labelled(frame)
    fig, ax = plt.subplots(figsize=(max(6.0, 0.5 * len(models) * frame["dataset"].nunique()), 3.4))
    sns.barplot(data=frame, x="dataset", y="value", hue="model", hue_order=models,
                palette=palette, errorbar="sd", capsize=0.1, ax=ax)
    ax.set(xlabel="", ylabel=ylabel, ylim=(0, 1))
    handles, labels = ax.get_legend_handles_labels()
    ax.get_legend().remove()
    fig.tight_layout()
    legend_below(fig, handles, labels, MODEL_LEGEND)
    return fig


def anomaly_bars(frame: pd.DataFrame) -> plt.Figure:
    """Frame-level AUC per dataset (and variant, the feature pipeline) and model, raw scores and per-video
    normalised side by side; the floor (motion energy, no model) is the dark grey bar."""
    frame = frame[frame["metric"].isin(["auc", "auc_video_norm"])].copy()
    if "variant" in frame and frame["variant"].notna().any():
        frame["dataset"] = frame["dataset"] + frame["variant"].map(lambda v: f"\n({v})" if isinstance(v, str) else "")
    models = ordered_models(frame["model"])
    cells = sorted(frame["dataset"].unique())
    fig, axes = plt.subplots(1, 2, figsize=(max(7.0, 2.2 * len(cells) + 3), 3.6), sharey=True)
    for ax, (metric, title) in zip(axes, (("auc", "raw scores, one threshold"), ("auc_video_norm", "min-max per video"))):
        sns.barplot(data=frame[frame["metric"] == metric], x="dataset", y="value", hue="model", hue_order=models, order=cells,
                    palette=model_palette(models), errorbar="sd", capsize=0.1, ax=ax)
        ax.set(xlabel="", ylabel="frame-level AUC (mean ± sd over seeds)", ylim=(0, 1), title=title)
        ax.get_legend().remove()
    axes[1].legend(*axes[0].get_legend_handles_labels(), title="model", bbox_to_anchor=(1.02, 1), loc="upper left")
    return fig


def accuracy_bars(frame: pd.DataFrame) -> plt.Figure:
    """Test accuracy at the deepest setting, per dataset and model."""
    frame = at_max_layers(frame[frame["metric"] == "accuracy"])
    return _bars_per_dataset(frame, "test accuracy (mean ± sd over seeds)")


GATE_LABELS = {"input_gate_mean": "input gate i (step)", "forget_gate_mean": "forget gate f (momentum)"}


def gate_means_vs_layer(frame: pd.DataFrame) -> plt.Figure:
    """SC2Net's learned gates, mean over test inputs and atoms, against the layer: the input gate is the
    adaptive step size, the forget gate the adaptive momentum (a line per model and gate, band = sd over
    seeds, a panel per dataset)."""
    frame = frame[frame["metric"].isin(list(GATE_LABELS))].assign(gate=lambda f: f["metric"].map(GATE_LABELS))
    if frame.empty:
        return message_figure("no model with learned gates (SC2Net-type) in these results")
    layers = sorted(frame["layers"].dropna().unique())
    frame, models, palette = labelled(frame)
    datasets = sorted(frame["dataset"].unique())
    grid = sns.relplot(
        data=frame, kind="line", x="layers", y="value", hue="model", style="gate", col="dataset", col_order=datasets,
        hue_order=models, style_order=list(GATE_LABELS.values()), palette=palette, errorbar="sd",
        markers=True, height=3.4, aspect=1.2,
    )
    grid.set_axis_labels("layer", "gate mean over test inputs and atoms")
    grid.set_titles("{col_name}")
    grid.set(ylim=(0, 1))
    for ax in grid.axes.flat:
        integer_layer_ticks(ax, layers)
    move_grid_legend(grid, title=None)
    return grid.figure


# task -> {figure name: function of the task's rows}
FIGURES: dict[str, dict[str, Callable[[pd.DataFrame], plt.Figure]]] = {
    "clustering": {
        "clustering_scores": clustering_bars,
        "clustering_seeds": clustering_seeds,
        "clustering_curves": accuracy_vs_epochs,
        "clustering_initialisation": initialisation_strip,
        "clustering_seed_pairs": seed_pairs,
    },
    "synthetic": {"synthetic_nmse_vs_layers": synthetic_nmse_vs_layers, "synthetic_gates": gate_means_vs_layer},
    "classification_unsupervised": {
        "classification_unsupervised_accuracy": accuracy_bars,
        "classification_unsupervised_depth": lambda f: metric_vs_layers(f, "accuracy"),
    },
    "classification_supervised": {
        "classification_supervised_accuracy": accuracy_bars,
        "classification_supervised_depth": lambda f: metric_vs_layers(f, "accuracy"),
        "classification_supervised_gates": gate_means_vs_layer,
    },
    "reconstruction": {"reconstruction_psnr_vs_layers": lambda f: metric_vs_layers(f, "psnr"), "reconstruction_gates": gate_means_vs_layer},
    "anomaly": {"anomaly_auc": anomaly_bars},
}


def figure_task(name: str) -> str:
    """The task a figure belongs to."""
    for task, figures in FIGURES.items():
        if name in figures:
            return task
    known = sorted(n for figures in FIGURES.values() for n in figures)
    raise ValueError(f"unknown figure {name!r}; known: {', '.join(known)}")


def write_figure(summary: pd.DataFrame, name: str, pdf: str | Path, png: str | Path) -> None:
    """Draw figure ``name`` from the summary's successful rows of its task; write PDF and PNG."""
    task = figure_task(name)
    rows = summary[summary["task"] == task]
    if rows.empty:
        raise ValueError(f"figure {name}: no rows for task {task!r} in the summary")
    frame = rows[rows["status"] == "ok"]
    if "protocol" in frame and frame["protocol"].notna().any():  # the image tasks: never one bar or line for two protocols
        frame = frame.assign(dataset=frame["dataset"] + frame["protocol"].map(lambda p: f" ({p})" if isinstance(p, str) else ""))
    fig = FIGURES[task][name](frame) if not frame.empty else message_figure(f"{name}: no run of task {task} finished (all failed)")
    save_figure(fig, pdf, png)
