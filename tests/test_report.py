import json
import re
import shutil
import subprocess

import pandas as pd
import pytest

from dpbench.report.figures import FIGURES, write_figure
from dpbench.report.tables import format_cell, task_table, write_table
from dpbench.results import load_results, write_result


def rows(model, dataset, metric, values, task="clustering", features="pixels"):
    return [
        {"task": task, "dataset": dataset, "model": model, "seed": s, "metric": metric, "value": v,
         "features": features, "status": "ok"}
        for s, v in enumerate(values)
    ]


@pytest.fixture
def summary():
    data = (
        rows("kmeans", "digits", "acc", [0.8, 0.9])
        + rows("kmeansnet", "digits", "acc", [0.9, 0.8])  # tie with kmeans
        + rows("sklearn_kmeans", "digits", "acc", [0.5, float("nan")])  # one seed failed
        + rows("kmeans", "digits", "nmi", [0.7, 0.7])
        + rows("kmeansnet", "digits", "nmi", [0.6, 0.6])
    )
    return pd.DataFrame(data)


def test_mean_sd_bold_ties_and_nan_seeds(summary):
    latex = task_table(summary, "clustering").to_latex(hrules=True, convert_css=True)
    lines = {line.split("&")[0].strip(): line for line in latex.splitlines() if "&" in line}
    assert r"\bfseries 0.850 $\pm$ 0.071" in lines["k-means"]  # rows named by the registry's labels
    assert r"\bfseries 0.850 $\pm$ 0.071" in lines["k-meansNet"]  # ties are both bold
    assert "0.500 (1/2)" in lines["k-means (scikit-learn)"]  # the failed seed is reported
    assert r"\bfseries 0.700" in lines["k-means"] and r"\bfseries" not in lines["k-meansNet"].split("&")[2]
    assert r"\toprule" in latex and r"\bottomrule" in latex
    assert "over 2 seeds" in task_table(summary, "clustering").caption


def test_a_partial_run_marks_the_seeds_that_never_ran(summary):
    from dpbench.report.tables import task_cells

    one_seed = summary[~((summary.model == "kmeansnet") & (summary.seed == 1))]  # its second seed never ran
    finished, _, _ = task_cells(one_seed, "clustering", "markdown")
    assert finished.loc["k-meansNet"].str.contains("/").sum() == 0  # a finished run: a cell's seeds are all it ran
    partial, _, caption = task_cells(one_seed, "clustering", "markdown", partial=True)
    assert list(partial.loc["k-meansNet"]) == ["0.900 (1/2)", "0.600 (1/2)"]
    assert partial.loc["k-means"].str.contains("/").sum() == 0 and "or ran (a partial run)" in caption


def test_names_with_underscores_are_escaped(summary):
    variant = summary[summary.model == "kmeansnet"].assign(model="kmeansnet[tau_final=0.1]")
    latex = task_table(pd.concat([summary, variant]), "clustering").to_latex()
    assert r"k-meansNet [tau\_final=0.1]" in latex and "tau_final" not in latex


def test_html_twin_of_the_latex_table(summary, tmp_path):
    write_table(summary, "clustering", tmp_path / "t.tex", html=tmp_path / "t.html")
    html = (tmp_path / "t.html").read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>") and "<table" in html
    assert "0.850 ± 0.071" in html and "0.500 (1/2)" in html and "k-means (scikit-learn)" in html
    assert "$" not in html and "\\" not in html  # no LaTeX left
    bold_cells = re.search(r"([^{}]*)\{\s*font-weight: bold", html).group(1).count("_row")
    assert bold_cells == (tmp_path / "t.tex").read_text().count(r"\bfseries") == 3
    assert "mean ± sd over 2 seeds" in html
def test_clustering_starts_settings_are_columns_with_their_worst_seed(summary, tmp_path):
    single = summary.assign(starts="1 start")
    restarted = summary[summary.metric == "acc"].assign(starts="best of 10", value=0.95)
    frame = pd.concat([single, restarted], ignore_index=True)
    latex = task_table(frame, "clustering").to_latex()
    assert "digits (1 start)" in latex and "digits (best of 10)" in latex
    lines = {line.split("&")[0].strip(): line for line in latex.splitlines() if "&" in line}
    assert "0.850 $\\pm$ 0.071; worst 0.800" in lines["k-means"]
    for name in FIGURES["clustering"]:
        write_figure(frame, name, tmp_path / f"{name}.pdf", tmp_path / f"{name}.png")
        assert (tmp_path / f"{name}.png").stat().st_size > 1000


def test_format_cell():
    assert format_cell(0.5, 0.1, 3, 3, 2) == r"0.50 $\pm$ 0.10"
    assert format_cell(0.5, float("nan"), 1, 1, 2) == "0.50"
    assert format_cell(float("nan"), float("nan"), 0, 3, 2) == "failed"
    assert format_cell(0.5, 0.1, 3, 3, 2, worst=0.3) == r"0.50 $\pm$ 0.10; worst 0.30"


def test_missing_metrics_file_is_named(tmp_path):
    good = tmp_path / "a.json"
    write_result(good, task="clustering", dataset="digits", model="kmeans", seed=0,
                 records=[{"metric": "acc", "value": 0.5}], params={}, meta={})
    with pytest.raises(FileNotFoundError, match="missing.json"):
        load_results([good, tmp_path / "missing.json"])
    bad = tmp_path / "bad.json"
    bad.write_text("{")
    with pytest.raises(ValueError, match="bad.json"):
        load_results([bad])


def test_figures_are_written(summary, tmp_path):
    for name in FIGURES["clustering"]:
        write_figure(summary, name, tmp_path / f"{name}.pdf", tmp_path / f"{name}.png")
        assert (tmp_path / f"{name}.png").stat().st_size > 1000


@pytest.mark.skipif(shutil.which("pdflatex") is None, reason="no LaTeX engine installed")
def test_tables_compile_with_latex(summary, tmp_path):
    write_table(summary, "clustering", tmp_path / "clustering.tex")
    (tmp_path / "doc.tex").write_text(
        "\\documentclass{article}\\usepackage{booktabs}\n"
        "\\begin{document}\\input{clustering.tex}\\end{document}\n"
    )
    proc = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "doc.tex"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout[-2000:]


def test_a_model_whose_every_seed_diverged_is_marked_failed(summary):
    diverged = pd.DataFrame([
        {"task": "clustering", "dataset": "digits", "model": "kmeansnet_big", "seed": s, "metric": None,
         "value": None, "features": "pixels", "status": "diverged"}
        for s in range(2)
    ])
    latex = task_table(pd.concat([summary, diverged]), "clustering").to_latex()
    row = next(line for line in latex.splitlines() if line.startswith(r"kmeansnet\_big"))  # not registered: its name
    assert row.count("failed") == 2  # ACC and NMI cells


def test_divergence_is_recorded_not_raised(tmp_path):
    from dpbench.results import divergence_recorded
    from dpbench.runtime import DivergenceError

    out = tmp_path / "r.json"
    with divergence_recorded(out, task="synthetic", dataset="d", model="lista", seed=3, params={"lr": 1}):
        raise DivergenceError("LISTA: training diverged at step 7: loss = nan")
    frame = load_results([out])
    assert frame.loc[0, "status"] == "diverged"
    doc = json.loads(out.read_text())
    assert "lista seed 3" in doc["message"] and "step 7" in doc["message"]


@pytest.mark.parametrize("task", ["synthetic", "reconstruction"])
def test_a_diverged_model_is_marked_failed_in_the_deepest_layer_tables(tmp_path, task):
    """The layer tables keep the deepest layer's rows: a seed that diverged has no layer and must stay."""
    from dpbench.results import write_diverged, write_result
    from dpbench.runtime import DivergenceError

    metric = "nmse_db" if task == "synthetic" else "psnr"
    paths = []
    for seed in range(2):
        ok = tmp_path / f"ista{seed}.json"
        write_result(ok, task=task, dataset="d", model="ista", seed=seed, params={}, meta={},
                     records=[{"metric": metric, "value": -10.0 - t, "layers": t} for t in (1, 16)])
        failed = tmp_path / f"lista{seed}.json"
        write_diverged(failed, task=task, dataset="d", model="lista", seed=seed, params={}, error=DivergenceError("nan"))
        paths += [ok, failed]
    latex = task_table(load_results(paths), task).to_latex()
    assert next(line for line in latex.splitlines() if line.startswith("ISTA")).count("-26.0") == 1
    assert "failed" in next(line for line in latex.splitlines() if line.startswith("LISTA"))


def test_a_diverged_image_job_stays_in_its_protocol_column(tmp_path):
    """A diverged job has no records, so no ``protocol`` column of its own: it is taken from its parameters,
    so that the job is marked failed in its protocol's column, not in a column of its own."""
    from dpbench.report.commands import read_summary
    from dpbench.report.tables import task_cells
    from dpbench.results import write_diverged, write_result
    from dpbench.runtime import DivergenceError

    params = {"data": {"protocol": "official"}}
    ok, failed = tmp_path / "ista.json", tmp_path / "lista.json"
    write_result(ok, task="reconstruction", dataset="mnist", model="ista", seed=0, params=params, meta={},
                 records=[{"metric": "psnr", "value": 20.0, "layers": 10, "protocol": "official"}])
    write_diverged(failed, task="reconstruction", dataset="mnist", model="lista", seed=0, params=params, error=DivergenceError("nan"))
    frame = load_results([ok, failed])
    assert list(frame["protocol"]) == ["official", "official"]
    cells, _, _ = task_cells(frame, "reconstruction", "markdown")
    assert list(cells.columns.get_level_values(0).unique()) == ["mnist (official)"] and cells.loc["LISTA"].iloc[0] == "failed"
    legacy = frame.assign(protocol=["official", None])  # a summary aggregated before: filled when read
    csv = tmp_path / "summary.csv"
    legacy.to_csv(csv, index=False)
    assert list(read_summary(csv)["protocol"]) == ["official", "official"]


def test_synthetic_table_and_figure_carry_the_published_curves(tmp_path):
    """The papers' NMSE at 16 layers is a column of the synthetic table; their curves are drawn dashed."""
    data = []
    for model, final in (("alista", -60.0), ("fista", -10.0), ("sc2net", -20.0)):
        for seed in range(2):
            data += [{"task": "synthetic", "dataset": "synthetic_noiseless", "model": model, "seed": seed, "metric": "nmse_db",
                      "value": final * t / 16, "layers": t, "status": "ok", "param.m": 250, "param.n": 500, "param.p": 0.1}
                     for t in (1, 8, 16)]
    frame = pd.DataFrame(data)
    latex = task_table(frame, "synthetic").to_latex()
    lines = {line.split("&")[0].strip(): line for line in latex.splitlines() if "&" in line}
    assert "-70.0$^a$" in lines["ALISTA"]  # ALISTA paper, Fig. 1(a): -69.95 dB, figure-digitized
    assert "-3.8 / -3.8$^a$" in lines["FISTA"]  # both papers plot FISTA (-3.84 dB)
    assert lines["SC2Net"].rstrip(" \\").endswith("&")  # no published curve: empty cell
    assert "figure-digitized" in latex
    fig = FIGURES["synthetic"]["synthetic_nmse_vs_layers"](frame)
    dashed = [line for ax in fig.axes for line in ax.get_lines() if line.get_linestyle() in ("--", "-.")]
    assert len(dashed) == 3  # ALISTA (one paper) and FISTA (two papers)
    import matplotlib.pyplot as plt
    plt.close(fig)

    # a run on another problem gets no published curve nor column, and its panel and caption say why
    small = frame.assign(**{"param.m": 64, "param.n": 128})
    styler = task_table(small, "synthetic")
    assert "paper @16" not in str(styler.data.columns) and "m = 64, n = 128" in styler.caption
    fig = FIGURES["synthetic"]["synthetic_nmse_vs_layers"](small)
    assert not [line for ax in fig.axes for line in ax.get_lines() if line.get_linestyle() in ("--", "-.")]
    notes = [t.get_text() for ax in fig.axes for t in ax.texts]
    assert any("not drawn" in n and "m = 64, n = 128" in n for n in notes), notes
    assert not any("published" in t.get_text() for legend in fig.legends for t in legend.get_texts())
    plt.close(fig)


def test_figures_name_models_by_their_labels_with_integer_layer_ticks_and_the_legend_below():
    import matplotlib.pyplot as plt

    data = [{"task": "reconstruction", "dataset": "digits", "model": model, "seed": seed, "metric": "psnr",
             "value": 20.0 + t + seed, "layers": t, "status": "ok"}
            for model in ("lista_cp", "slstm_output_gate", "lista[tied=true]") for seed in range(2) for t in (1, 3, 5, 10)]
    fig = FIGURES["reconstruction"]["reconstruction_psnr_vs_layers"](pd.DataFrame(data))
    texts = [t.get_text() for legend in fig.legends for t in legend.get_texts()]
    assert texts == ["LISTA [tied=true]", "LISTA-CP", "SLSTM + output gate"]  # the registry's labels, in its order
    ax = fig.axes[0]
    assert list(ax.get_xticks()) == [1, 3, 5, 10]  # the evaluated depths, never 2.5 layers
    fig.canvas.draw()
    legend_top = fig.legends[0].get_window_extent().y1
    assert legend_top <= min(a.get_window_extent().y0 for a in fig.axes)  # below the panels: they keep their width
    plt.close(fig)

    deep = pd.DataFrame([{**row, "layers": row["layers"] + 3 * k} for row in data for k in range(4)])
    fig = FIGURES["reconstruction"]["reconstruction_psnr_vs_layers"](deep)
    assert all(float(tick).is_integer() for tick in fig.axes[0].get_xticks())
    plt.close(fig)


def test_reference_curves_are_shipped_with_source_and_checked_on_every_row():
    from dpbench.report.reference import load_reference_curves

    curves = load_reference_curves()
    assert len(curves) > 900 and (curves["checked"] == "figure-digitized").all() and (curves["source"].str.len() > 20).all()
    at16 = curves[(curves["layer"] == 16) & (curves["dataset"] == "synthetic_noiseless")].set_index(["paper", "model"])["nmse_db"]
    assert at16[("LISTA-CPSS (NeurIPS 2018)", "LISTA-CPSS")] == pytest.approx(-64.76)
def test_anomaly_table_shows_both_conventions_and_steps_unranked():
    data = pd.DataFrame(
        rows("ista", "synthetic", "auc", [0.8, 0.82], task="anomaly") + rows("lista", "synthetic", "auc", [0.9, 0.9], task="anomaly")
        + rows("ista", "synthetic", "auc_video_norm", [0.85, 0.85], task="anomaly")
        + rows("lista", "synthetic", "auc_video_norm", [0.95, 0.95], task="anomaly")
        + rows("ista", "synthetic", "steps", [0, 0], task="anomaly") + rows("lista", "synthetic", "steps", [400, 350], task="anomaly")
    )
    styler = task_table(data, "anomaly")
    assert [c[1] for c in styler.data.columns] == ["AUC", "AUC (video-norm)", "Steps"]
    assert styler.data.loc["LISTA", ("synthetic", "Steps")] == "375 $\\pm$ 35"
    latex = styler.to_latex(convert_css=True)
    lista = next(line for line in latex.splitlines() if line.startswith("LISTA"))
    assert lista.count(r"\bfseries") == 2  # both AUCs; the step count is never "best"


def test_the_summary_carries_each_jobs_parameters_as_columns(tmp_path):
    params = {"m": 250, "lr_decays": [0.2, 0.02], "model_options": {"tied": False}}
    write_result(tmp_path / "a.json", task="synthetic", dataset="d", model="lista", seed=0,
                 records=[{"metric": "nmse_db", "value": -40.0, "layers": 16}], params=params, meta={})
    write_result(tmp_path / "b.json", task="synthetic", dataset="d", model="fista", seed=0, records=[],
                 params={"m": 64}, meta={}, status="diverged")
    frame = load_results([tmp_path / "a.json", tmp_path / "b.json"])
    assert list(frame.columns) == ["task", "dataset", "model", "seed", "metric", "value", "layers", "status",
                                   "param.lr_decays", "param.m", "param.model_options.tied"]
    lista, fista = frame.iloc[0], frame.iloc[1]
    assert (lista["param.m"], json.loads(lista["param.lr_decays"]), lista["param.model_options.tied"]) == (250, [0.2, 0.02], False)
    assert fista["status"] == "diverged" and fista["param.m"] == 64  # a failed job still says what it ran


def test_no_two_models_of_a_figure_share_a_colour():
    from dpbench.registry import model_names
    from dpbench.report.plotting import model_palette

    sparse = model_names("sparse")
    variants = [f"{m}[tied=true]" for m in ("lista", "lfista")] + [m + "+learned_D" for m in sparse[:8]]
    for models in (sparse + variants, ["ista", "lista", "sc2net", "sc2net[fixed_gates=true]+learned_D"]):
        palette = model_palette(models)
        assert len({palette[m] for m in models}) == len(models)
    assert model_palette(["ista", "lista[tied=true]"])["ista"] == model_palette(["ista"])["ista"]  # a model keeps its colour
