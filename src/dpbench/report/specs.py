"""What each task reports: its headline metrics, their direction, and how rows are selected (free of
pandas at import: the workflow reads it when it parses)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from dpbench.registry import MODELS, model_label, model_rank

if TYPE_CHECKING:
    import pandas as pd

# metric -> True when larger is better
HIGHER_IS_BETTER: dict[str, bool] = {
    "acc": True,
    "nmi": True,
    "ari": True,
    "accuracy": True,
    "auc": True,
    "auc_video_norm": True,
    "psnr": True,
    "ssim": True,
    "fps": True,
    "eer": False,
    "eer_video_norm": False,
    "mse": False,
    "nmse_db": False,
    "objective_gap": False,
    "sparsity": False,
    "fit_seconds": False,
}

# reported, never ranked (no best value in bold)
UNRANKED = {"steps"}

METRIC_LABELS: dict[str, str] = {
    "acc": "ACC",
    "nmi": "NMI",
    "ari": "ARI",
    "accuracy": "Accuracy",
    "auc": "AUC",
    "eer": "EER",
    "auc_video_norm": "AUC (video-norm)",
    "eer_video_norm": "EER (video-norm)",
    "steps": "Steps",
    "fps": "FPS",
    "psnr": "PSNR (dB)",
    "ssim": "SSIM",
    "mse": "MSE",
    "nmse_db": "NMSE (dB)",
    "objective_gap": "Objective gap",
    "sparsity": "Non-zeros",
    "fit_seconds": "Fit time (s)",
}

# one consistent order (and so one colour) per model across every table and figure: the registry's
MODEL_ORDER: list[str] = list(MODELS)


def ordered_models(models: object) -> list[str]:
    """The distinct model names of ``models`` (any iterable, e.g. a column) in the registry's order
    (variants after their model; models named by their class after the registry's)."""
    return sorted(set(models), key=lambda m: (model_rank(m), m))


def result_label(name: str) -> str:
    """The display name of one result name: :func:`dpbench.registry.model_label`, with ``(learned D)``
    for an image result whose decoder was learned with its encoder (``<model>+learned_D``)."""
    from dpbench.tasks.jobs import LEARNED_D, images_split_label

    model, learned = images_split_label(name)
    return f"{model_label(model)} (learned D)" if learned and name.endswith(LEARNED_D) else model_label(name)


def display_names(models: list[str]) -> dict[str, str]:
    """How tables and figures name each model: the registry's label (a model class's own), with a
    variant's options (and ``(learned D)`` for an image result whose decoder was learned with it); two
    models that would share a label keep their names in brackets."""
    labels = {m: result_label(m) for m in models}
    counts: dict[str, int] = {}
    for label in labels.values():
        counts[label] = counts.get(label, 0) + 1
    return {m: label if counts[label] == 1 else f"{label} ({m})" for m, label in labels.items()}

# how a published number was read: printed in the paper, read off a plotted figure, quoted by a
# secondary source (a survey, a table of another paper), or said in a talk
CHECKED: dict[str, str] = {
    "paper": "printed in the paper",
    "figure-digitized": "read off the paper's figure",
    "secondary": "quoted by a secondary source",
    "talk": "said in a talk",
}


def at_max_layers(frame: pd.DataFrame) -> pd.DataFrame:
    """Rows at the deepest evaluated layer count of each (dataset, model), and the rows without a
    layer count (seeds that failed outright), so that their cells are marked, not dropped."""
    if "layers" not in frame or frame["layers"].isna().all():
        return frame
    deepest = frame.groupby(["dataset", "model"])["layers"].transform("max")
    return frame[(frame["layers"] == deepest) | frame["layers"].isna()]


@dataclass(frozen=True)
class TaskSpec:
    """How a task's rows become a table: which metrics, which rows, what the columns are."""

    title: str
    metrics: list[str]
    column: list[str] = field(default_factory=lambda: ["dataset"])
    select: str | None = None  # name of a row filter in FILTERS
    figures: list[str] = field(default_factory=list)  # drawn from summary.csv by dpbench.report.figures
    worst_seed: bool = False  # cells also give the worst seed's value (robustness to initialisation)


FILTERS = {"at_max_layers": at_max_layers}

TASKS: dict[str, TaskSpec] = {
    "clustering": TaskSpec(
        "Clustering",
        ["acc", "nmi", "ari", "fit_seconds"],
        column=["dataset", "features", "starts"],
        worst_seed=True,
        figures=["clustering_scores", "clustering_seeds", "clustering_curves", "clustering_initialisation",
                 "clustering_seed_pairs"],
    ),
    "synthetic": TaskSpec(
        "Synthetic sparse recovery", ["nmse_db", "objective_gap"], select="at_max_layers", figures=["synthetic_nmse_vs_layers", "synthetic_gates"]
    ),
    "classification_unsupervised": TaskSpec(
        "Linear classification on sparse codes",
        ["accuracy"],
        column=["dataset", "protocol"],
        select="at_max_layers",
        figures=["classification_unsupervised_accuracy", "classification_unsupervised_depth"],
    ),
    "classification_supervised": TaskSpec(
        "Supervised end-to-end classification",
        ["accuracy"],
        column=["dataset", "protocol"],
        select="at_max_layers",
        figures=["classification_supervised_accuracy", "classification_supervised_depth", "classification_supervised_gates"],
    ),
    "reconstruction": TaskSpec(
        "Reconstruction", ["psnr", "ssim", "sparsity"], column=["dataset", "protocol"], select="at_max_layers",
        figures=["reconstruction_psnr_vs_layers", "reconstruction_gates"],
    ),
    # one column per dataset and variant (a named feature pipeline of the config, dpbench.tasks.jobs.anomaly_variants)
    "anomaly": TaskSpec(
        "Frame-level anomaly detection", ["auc", "eer", "auc_video_norm", "eer_video_norm", "steps", "fps"],
        column=["dataset", "variant"], figures=["anomaly_auc"]
    ),
}
