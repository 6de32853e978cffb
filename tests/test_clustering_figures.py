"""The figures of long TELL runs and initialisation studies, drawn from hand-made summaries."""

import pandas as pd
import pytest

from dpbench.report.clustering_figures import _picked, load_tell_initialisations, paper_references
from dpbench.report.figures import write_figure


def rows(model, metric, values, dataset="mnist", features="pixels", **extra):
    return [{"task": "clustering", "dataset": dataset, "model": model, "seed": s, "metric": metric, "value": v,
             "status": "ok", "features": features, "starts": "1 start", **extra} for s, v in enumerate(values)]


@pytest.fixture
def summary():
    mlp = "kmeansnet_tell[encoder=mlp]"
    data = rows(mlp, "acc", [0.64, 0.58, 0.61]) + rows(mlp, "loss_clu", [0.01815, 0.01812, 0.01818])
    data += rows("kmeans", "acc", [0.55, 0.56, 0.54])
    data += rows("kmeansnet_tell[encoder=none]", "acc", [0.80, 0.79], features="ae_mlp")
    for epoch, acc in ((10, 0.30), (20, 0.45), (30, 0.50)):
        data += rows(mlp, "epoch_acc", [acc, acc - 0.02, acc - 0.05], epoch=epoch)
    return pd.DataFrame(data)


def test_the_seed_tells_rule_picks_is_the_lowest_final_clustering_loss(summary):
    assert _picked(summary).set_index("model")["seed"].to_dict() == {"kmeansnet_tell[encoder=mlp]": 1}


def test_reference_lines_are_the_papers_3000_epoch_values_of_the_drawn_models():
    refs = paper_references(["kmeansnet_tell[encoder=mlp]", "kmeansnet_tell"], "mnist", "pixels")
    assert sorted(v for _, v, _ in refs) == [0.9325, 0.9516]  # not the 5,000-epoch values of Sec. 4.5
    assert [v for _, v, _ in paper_references(["kmeansnet_tell[encoder=none]"], "mnist", "ae_conv")] == [0.8407]


def test_tells_published_initialisations_are_table_s1_and_s2():
    runs = load_tell_initialisations()
    s1 = runs[runs["table"] == "Table S1"]
    assert len(s1) == 5 and s1.loc[s1["loss_clu"].idxmin(), "acc"] == 0.9516 and s1["acc"].min() == 0.8169
    assert len(runs[runs["dataset"] == "cifar10"]) == 5


@pytest.mark.parametrize("name", ["clustering_curves", "clustering_initialisation", "clustering_seed_pairs"])
def test_the_figures_are_drawn_from_the_summary(summary, tmp_path, name):
    pdf, png = tmp_path / f"{name}.pdf", tmp_path / f"{name}.png"
    write_figure(summary, name, pdf, png)
    assert pdf.stat().st_size > 1000 and png.stat().st_size > 1000


def test_without_curves_the_figure_says_so(summary, tmp_path):
    write_figure(summary[summary["metric"] != "epoch_acc"], "clustering_curves", tmp_path / "c.pdf", tmp_path / "c.png")
    assert (tmp_path / "c.png").exists()


def test_each_strip_panel_shows_only_the_models_it_ran(summary):
    from dpbench.report.figures import clustering_seeds

    figure = clustering_seeds(summary)
    ticks = {ax.get_title(): [t.get_text() for t in ax.get_xticklabels()] for ax in figure.axes}
    assert {title: len(labels) for title, labels in ticks.items()} == {"mnist, 1 start": 2, "mnist (ae_mlp), 1 start": 1}


def test_the_curve_summary_gives_where_each_run_stopped_and_its_slope(summary):
    from dpbench.report.clustering_figures import curve_summary

    table = curve_summary(summary, window=10).set_index("seed")
    assert list(table["last epoch"]) == [30, 30, 30] and table.loc[0, "ACC there"] == "0.500"
    assert table.loc[2, "best ACC (epoch)"] == "0.450 (30)"
    assert table.loc[0, "ACC change over its last 10 epochs"] == "+0.050 (20 → 30)"
    assert set(table["paper, 3,000 epochs"]) == {"0.9325"}  # Table 1's FCN value
    assert curve_summary(summary[summary["metric"] != "epoch_acc"]).empty


def test_seed_pairs_set_each_model_against_kmeans_from_the_same_seed(summary):
    from dpbench.report.clustering_figures import seed_pairs

    extra = pd.DataFrame(rows("kmeansnet", "acc", [0.56, 0.55]))  # seeds 0 and 1 of the three k-means ran
    figure = seed_pairs(pd.concat([summary, extra]))
    (panel,) = [ax for ax in figure.axes if ax.get_title()]  # the ae_mlp panel has no k-means: no panel
    assert panel.get_title() == "mnist: 3 seeds"
    dots = {tuple(xy) for c in panel.collections for xy in c.get_offsets().round(3).tolist()}
    # at (k-means' ACC, the model's) from the same seed: k-meansNet for seeds 0 and 1, TELL (MLP) for all three
    assert dots == {(0.55, 0.56), (0.56, 0.55), (0.55, 0.64), (0.56, 0.58), (0.54, 0.61)}


def test_seed_pairs_without_kmeans_say_so(summary):
    from dpbench.report.clustering_figures import seed_pairs

    figure = seed_pairs(summary[summary["model"] != "kmeans"])
    assert "no model ran on the seeds" in figure.axes[0].texts[0].get_text()
