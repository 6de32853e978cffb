"""The clustering figures of long TELL runs and of initialisation studies, from summary.csv alone.

- ``clustering_curves``: ACC against training epochs (the ``epoch_acc`` rows that a TELL job logs
  every ``log_every`` epochs), one line per model and seed, a panel per dataset and feature kind, with
  the paper's 3,000-epoch value of each drawn model as a dashed reference line
  (``reported_results.csv``: TELL, JMLR 2022, Tables 1 and 4).
- ``clustering_initialisation``: every seed's final ACC (one dot per random initialisation) per
  model, with the mean (bar), the worst seed (x) and, for models that log their clustering loss, the
  seed that TELL's rule picks (the lowest final L_clu, Appendix B; ringed); beside them, in the
  panels of MNIST and CIFAR-10 pixels, TELL's own five runs of Tables S1/S2 with the run its rule picked.
- ``clustering_seed_pairs``: every other model's final ACC against k-means' from the same seed, one
  dot per seed, a panel per dataset and feature kind, with the diagonal. k-meansNet starts from the
  k-means++ seeding k-means draws for the same seed: on the diagonal it ends where k-means ends, and
  its spread over seeds is the seeding's; the other models start elsewhere (their own seeding).
"""

from __future__ import annotations

from importlib.resources import files

import pandas as pd

from dpbench.registry import model_label, model_rank
from dpbench.report.plotting import labelled, message_figure, model_palette, move_grid_legend, plt

INITIALISATIONS_CSV = files("dpbench.report") / "tell_initialisations.csv"
PAPER_RUNS = "TELL, paper (Table {table})"


def load_tell_initialisations() -> pd.DataFrame:
    """TELL's published runs from random initialisations (Tables S1, S2): table, dataset, run, acc,
    nmi, ari, loss_clu, page."""
    return pd.read_csv(str(INITIALISATIONS_CSV), comment="#")


def _panel(frame: pd.DataFrame) -> pd.Series:
    features = frame["features"] if "features" in frame else pd.Series("pixels", index=frame.index)
    return frame["dataset"] + features.fillna("pixels").map(lambda f: "" if f == "pixels" else f" ({f})")


def _single_start(rows: pd.DataFrame) -> pd.DataFrame:
    """The rows of single-start runs (a row without ``starts`` is one)."""
    return rows[rows["starts"].fillna("1 start") == "1 start"] if "starts" in rows else rows


def _models(frame: pd.DataFrame) -> list[str]:
    return sorted(frame["model"].unique(), key=lambda m: (model_rank(m), m))


def paper_references(models: list[str], dataset: str, features: str) -> list[tuple[str, float, str]]:
    """``(model, ACC, label)`` of the paper's 3,000-epoch values of ``models`` on a panel: the rows of
    ``reported_results.csv`` for our model on that dataset and feature kind whose setting asks for at
    least 3,000 epochs and no more than the paper trained for its tables."""
    from dpbench.report.paper_comparison import load_reported

    reported = load_reported()
    found = []
    for _, row in reported[(reported["metric"] == "acc") & (reported["dataset"] == dataset) & reported["ours_model"].isin(models)].iterrows():
        req = row["requires"]
        if req.get("features", "pixels") == features and req.get("epochs") == {"at_least": 3000}:
            found.append((row["ours_model"], float(row["value"]), f"{row['method']}: paper, 3,000 epochs ({row['value'] * 100:.2f})"))
    return found


def accuracy_vs_epochs(frame: pd.DataFrame) -> plt.Figure:
    """ACC against epochs, a line per model and seed (see the module docstring)."""

    curves = frame[frame["metric"] == "epoch_acc"].copy()
    if curves.empty:
        return message_figure("no run logged its accuracy during training (kmeansnet_tell with log_every > 0)")
    curves["panel"] = _panel(curves)
    curves["epoch"] = pd.to_numeric(curves["epoch"])
    panels = sorted(curves["panel"].unique())
    palette = model_palette(_models(curves))  # one colour per model across the panels
    fig, axes = plt.subplots(1, len(panels), figsize=(5.2 * len(panels), 3.8), squeeze=False)
    for ax, panel in zip(axes[0], panels):
        rows = curves[curves["panel"] == panel]
        models = _models(rows)
        styles = ["-", "--", ":", "-."]
        for (model, seed), line in rows.sort_values("epoch").groupby(["model", "seed"]):
            seeds = sorted(rows.loc[rows["model"] == model, "seed"].unique())  # one legend entry per model
            ax.plot(line["epoch"], line["value"], color=palette[model], marker=".", markersize=3, linewidth=1.2,
                    linestyle=styles[int(seed) % len(styles)],
                    label=f"{model_label(model)}, seed{'s' if len(seeds) > 1 else ''} {', '.join(map(str, seeds))}"
                    if seed == seeds[0] else "_")
        first = rows.iloc[0]
        features = first["features"] if "features" in rows and pd.notna(first["features"]) else "pixels"
        for model, value, label in paper_references(models, first["dataset"], features):
            ax.axhline(value, color=palette[model], linestyle=(0, (6, 3)), linewidth=0.9, alpha=0.7, label=label)
        ax.set(title=panel, xlabel="epochs trained", ylabel="ACC (nearest centre, eval mode)", ylim=(0, 1))
        if rows["epoch"].max() > 50 * rows["epoch"].min():  # runs of 20 and of 3,000 epochs in one panel
            ax.set_xscale("log")
        ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    return fig


def curve_summary(frame: pd.DataFrame, window: int = 100) -> pd.DataFrame:
    """Where each logged TELL run stopped on its curve: per panel, model and seed, the last logged
    epoch and its ACC, the best logged ACC and its epoch, the change of ACC over the last ``window``
    epochs (from the logged epoch nearest to ``last - window``, both epochs named), and the paper's
    3,000-epoch value (empty when it has none). The change says whether a curve had flattened where
    it stopped."""
    curves = frame[frame["metric"] == "epoch_acc"].copy()
    columns = ["panel", "model", "seed", "last epoch", "ACC there", "best ACC (epoch)",
               f"ACC change over its last {window} epochs", "paper, 3,000 epochs"]
    if curves.empty:
        return pd.DataFrame(columns=columns)
    curves["epoch"] = pd.to_numeric(curves["epoch"])
    curves["value"] = pd.to_numeric(curves["value"])
    if "features" not in curves:
        curves["features"] = "pixels"
    curves["features"] = curves["features"].fillna("pixels")
    curves["panel"] = _panel(curves)
    # the published numbers are read once per panel, not once per run
    paper = {(dataset, features): paper_references(sorted(part["model"].unique()), dataset, features)
             for (dataset, features), part in curves.groupby(["dataset", "features"])}
    rows = []
    for (dataset, features, panel, model, seed), line in curves.sort_values("epoch").groupby(["dataset", "features", "panel", "model", "seed"]):
        last = line.iloc[-1]
        start = line.iloc[(line["epoch"] - (last["epoch"] - window)).abs().argmin()]
        span = last["epoch"] - start["epoch"]
        best = line.loc[line["value"].idxmax()]
        published = [f"{v:.4f}" for m, v, _ in paper[(dataset, features)] if m == model]
        rows.append([panel, model_label(model), seed,
                     int(last["epoch"]), f"{last['value']:.3f}", f"{best['value']:.3f} ({int(best['epoch'])})",
                     f"{last['value'] - start['value']:+.3f} ({int(start['epoch'])} → {int(last['epoch'])})" if span > 0 else "–",
                     ", ".join(published) or "–"])
    return pd.DataFrame(rows, columns=columns)


def _picked(rows: pd.DataFrame) -> pd.DataFrame:
    """Per model, the seed with the lowest final clustering loss (TELL's rule), where it is logged."""
    losses = rows[rows["metric"] == "loss_clu"]
    if losses.empty:
        return pd.DataFrame(columns=["model", "seed"])
    return losses.loc[pd.to_numeric(losses["value"]).groupby(losses["model"]).idxmin(), ["model", "seed"]]


def initialisation_strip(frame: pd.DataFrame) -> plt.Figure:
    """Final ACC of every seed per model, with mean, worst and TELL's pick (see the module docstring)."""

    rows = _single_start(frame[frame["metric"].isin(["acc", "loss_clu"])]).copy()
    if rows.empty:
        return message_figure("no single-start clustering run in these results")
    rows["panel"] = _panel(rows)
    paper = load_tell_initialisations()
    panels = sorted(rows["panel"].unique())
    fig, axes = plt.subplots(1, len(panels), figsize=(max(5.0, 1.3 * rows["model"].nunique() + 2.5) * len(panels), 4.2),
                             squeeze=False)
    palette = model_palette(_models(rows))  # one colour per model across the panels
    for ax, panel in zip(axes[0], panels):
        cell = rows[rows["panel"] == panel]
        acc = cell[cell["metric"] == "acc"].assign(value=lambda f: pd.to_numeric(f["value"]))
        models = _models(acc)
        picked = dict(zip(*(_picked(cell)[c] for c in ("model", "seed"))))
        # (label, seeds and values, colour, the seed TELL's rule picks or None)
        columns = [(model_label(m), acc[acc["model"] == m][["seed", "value"]], palette[m], picked.get(m)) for m in models]
        dataset = cell.iloc[0]["dataset"]
        if panel == dataset:  # raw pixels: TELL's own runs beside ours
            for table, runs in paper[paper["dataset"] == dataset].groupby("table"):
                values = runs.rename(columns={"run": "seed", "acc": "value"})[["seed", "value"]]
                columns.append((PAPER_RUNS.format(table=table.split()[-1]), values, "grey", runs.loc[runs["loss_clu"].idxmin(), "run"]))
        for x, (_label, values, colour, pick) in enumerate(columns):
            seeds = list(values["seed"])
            jitter = [x + 0.08 * ((i % 5) - 2) for i in range(len(values))]
            ax.scatter(jitter, values["value"], color=colour, s=30, alpha=0.85, zorder=3)
            mean, worst = values["value"].mean(), values["value"].min()
            ax.hlines(mean, x - 0.3, x + 0.3, color=colour, linewidth=2, zorder=2)
            ax.scatter([x + 0.35], [worst], marker="x", color="black", s=30, zorder=4)
            text = f"mean {mean:.3f}\nworst {worst:.3f}"
            if pick is not None and pick in seeds:
                value = float(values["value"].iloc[seeds.index(pick)])
                ax.scatter([jitter[seeds.index(pick)]], [value], s=140, facecolors="none", edgecolors="black", zorder=5)
                text += f"\nlowest L_clu {value:.3f}"
            ax.annotate(text, (x, 0.02), ha="center", fontsize=7)
        ax.set_xticks(range(len(columns)), [c[0] for c in columns], rotation=30, ha="right", fontsize=8)
        ax.set(title=f"{panel}: {acc['seed'].nunique()} seeds", ylabel="final ACC (one dot per initialisation)", ylim=(0, 1))
    fig.tight_layout()
    return fig


def seed_pairs(frame: pd.DataFrame) -> plt.Figure:
    """Every other model's final ACC against k-means' from the same seed (see the module docstring)."""
    import seaborn as sns


    acc = _single_start(frame[frame["metric"] == "acc"])
    acc = acc.assign(value=pd.to_numeric(acc["value"]), panel=_panel(acc))
    kmeans = acc[acc["model"] == "kmeans"][["panel", "seed", "value"]].rename(columns={"value": "kmeans"})
    pairs = acc[acc["model"] != "kmeans"].merge(kmeans, on=["panel", "seed"])
    if pairs.empty:
        return message_figure("no model ran on the seeds of a single-start k-means in these results")
    pairs, models, palette = labelled(pairs)
    panels = sorted(pairs["panel"].unique())
    grid = sns.relplot(data=pairs, x="kmeans", y="value", hue="model", hue_order=models, palette=palette,
                       col="panel", col_order=panels, s=40, alpha=0.8, height=3.6, facet_kws={"sharex": False, "sharey": False})
    for ax, panel in zip(grid.axes.flat, panels):
        cell = pairs[pairs["panel"] == panel]
        low, high = min(cell["kmeans"].min(), cell["value"].min()), max(cell["kmeans"].max(), cell["value"].max())
        pad = 0.05 * (high - low) or 0.01
        ax.plot([low - pad, high + pad], [low - pad, high + pad], color="grey", linestyle="--", linewidth=1, zorder=1)
        ax.set(xlim=(low - pad, high + pad), ylim=(low - pad, high + pad), aspect="equal",
               title=f"{panel}: {cell['seed'].nunique()} seeds")
    grid.set_axis_labels("k-means' ACC from the same seed", "ACC")
    move_grid_legend(grid)
    return grid.figure
