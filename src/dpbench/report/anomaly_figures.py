"""Anomaly-detection figures drawn from the saved per-frame scores (``*.scores.csv`` of each job).

- ROC curves: frame-level, pooled over all test frames, one curve per model (one seed), in both
  scoring conventions side by side: raw scores under one global threshold (``score``) and scores
  min-max normalised per test video (``score_video_norm``).
- Score trace: the per-video normalised anomaly score over time for one test clip, one line per
  model, with the ground-truth abnormal frames shaded.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from sklearn.metrics import auc as area_under_curve
from sklearn.metrics import roc_curve

from dpbench.registry import model_label
from dpbench.report.plotting import legend_below, message_figure, model_palette, plt, save_figure
from dpbench.report.specs import display_names, ordered_models
from dpbench.tasks.anomaly import SCORE_COLUMNS


def read_scores(paths: list[str | Path]) -> pd.DataFrame:
    """Concatenate per-frame score files ``<...>/<model>/seed<k>.scores.csv``, adding a ``model`` column.

    The empty files of diverged jobs add no rows."""
    frames = []
    for path in paths:
        path = Path(path)
        if not path.exists():
            raise FileNotFoundError(f"missing per-frame score file: {path}")
        frame = pd.read_csv(path)
        if not frame.empty:
            frames.append(frame.assign(model=path.parent.name))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=[*SCORE_COLUMNS, "model"])


def _models(scores: pd.DataFrame) -> list[str]:
    return ordered_models(scores["model"])


CONVENTIONS = {"score": "raw scores, one threshold", "score_video_norm": "min-max per video"}


def roc_figure(scores: pd.DataFrame, title: str) -> plt.Figure:
    """Frame-level ROC curve of every model (pooled over all test frames), one panel per scoring convention."""
    models = _models(scores)
    palette, names = model_palette(models), display_names(models)
    fig, axes = plt.subplots(1, 2, figsize=(9.2, 4.2), sharey=True)
    for ax, (column, name) in zip(axes, CONVENTIONS.items()):
        for model in models:
            sub = scores[scores["model"] == model]
            fpr, tpr, _ = roc_curve(sub["label"], sub[column])
            ax.plot(fpr, tpr, color=palette[model], label=f"{names[model]} (AUC {area_under_curve(fpr, tpr):.3f})")
        ax.plot([0, 1], [0, 1], color="0.6", lw=0.8, ls="--")
        ax.set(xlabel="false positive rate", title=name, xlim=(0, 1), ylim=(0, 1.01))
        ax.legend(fontsize=7, loc="lower right")
    axes[0].set_ylabel("true positive rate")
    fig.suptitle(title)
    return fig


def trace_figure(scores: pd.DataFrame, title: str, clip: str | None = None) -> plt.Figure:
    """Anomaly score over time for ``clip`` (default: the first test clip with an abnormal span)."""
    if clip is None:
        abnormal = scores.groupby("clip")["label"].max()
        clip = sorted(abnormal[abnormal > 0].index)[0] if (abnormal > 0).any() else sorted(abnormal.index)[0]
    sub = scores[scores["clip"] == clip]
    models = _models(sub)
    palette, names = model_palette(models), display_names(models)
    fig, ax = plt.subplots(figsize=(7, 3))
    first = sub[sub["model"] == models[0]].sort_values("frame")
    labels = first["label"].to_numpy()
    frames = first["frame"].to_numpy()
    ax.fill_between(frames, 0, 1, where=labels > 0, step="mid", color="tab:red", alpha=0.15, label="abnormal (ground truth)")
    for model in models:
        m = sub[sub["model"] == model].sort_values("frame")
        ax.plot(m["frame"], m["score_video_norm"], color=palette[model], lw=1.2, label=names[model])
    ax.set(xlabel="frame", ylabel="anomaly score (min-max per video)", title=f"{title}, clip {clip}", ylim=(0, 1.02))
    handles, labels = ax.get_legend_handles_labels()
    fig.tight_layout()
    legend_below(fig, handles, labels)
    return fig


def write_anomaly_figures(paths: list[str | Path], dataset: str, roc: dict[str, str], trace: dict[str, str]) -> None:
    """Write the ROC (``roc["pdf"]``, ``roc["png"]``) and score-trace figures of ``dataset``.

    A model whose training diverged (an empty score file) is left out and named in the titles."""
    scores = read_scores(paths)
    failed = [model_label(m) for m in ordered_models({Path(p).parent.name for p in paths} - set(scores["model"]))]
    if scores.empty:
        for out in (roc, trace):
            save_figure(message_figure(f"{dataset}: every model's training diverged ({', '.join(failed)})"), out["pdf"], out["png"])
        return
    note = f" (diverged: {', '.join(failed)})" if failed else ""
    save_figure(roc_figure(scores, f"{dataset}: frame-level ROC{note}"), roc["pdf"], roc["png"])
    save_figure(trace_figure(scores, dataset + note), trace["pdf"], trace["png"])
