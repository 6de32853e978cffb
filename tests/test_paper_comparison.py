"""Published numbers next to ours (dpbench.report.paper_comparison)."""

import shutil
import subprocess

import pandas as pd
import pytest

from dpbench.report.paper_comparison import COLUMNS, comparison_table, load_reported, write_comparison


def reported_csv(tmp_path, rows):
    path = tmp_path / "reported.csv"
    pd.DataFrame(rows, columns=COLUMNS).to_csv(path, index=False)
    return path


PUBLISHED = [
    ["anomaly", "ucsd_ped2", "auc", "Method_A", "", 0.9, "frame-level", "A. Author, Venue 2020, Table 2", "paper"],
    ["anomaly", "ucsd_ped2", "eer", "Method_A", "", 0.2, "frame-level", "A. Author, Venue 2020, Table 2", "paper"],
    ["anomaly", "ucsd_ped2", "auc", "SC2Net", "sc2net", 0.8, "frame-level", "B & C, 50 % as quoted in a survey", "secondary"],
    ["anomaly", "avenue", "auc", "Method_A", "", 0.85, "frame-level", "A. Author, Venue 2020, Table 2", "paper"],
]


@pytest.fixture
def summary():
    return pd.DataFrame([
        {"task": "anomaly", "dataset": "ucsd_ped2", "model": model, "seed": seed, "metric": metric,
         "value": value + 0.01 * seed, "status": "ok"}
        for model, auc, eer in (("ista", 0.70, 0.30), ("sc2net", 0.75, 0.25), ("slstm_output_gate", 0.74, 0.20))
        for metric, value in (("auc", auc), ("eer", eer))
        for seed in range(3)
    ])


def table_rows(summary, reported):
    latex = comparison_table(summary, reported).to_latex(hrules=True)
    return [line for line in latex.splitlines() if line.count("&") == 7 and "Published method" not in line], latex


def test_published_rows_face_our_counterpart_or_best_model(summary, tmp_path):
    rows, latex = table_rows(summary, load_reported(reported_csv(tmp_path, PUBLISHED)))
    auc_a, eer_a, auc_sc2net, avenue = ([cell.strip() for cell in row.rstrip("\\ ").split("&")] for row in rows)
    assert auc_a[3:] == ["Method\\_A [1]", "frame-level", "0.900", "0.760 $\\pm$ 0.010", "SC2Net"]  # best AUC: highest
    assert eer_a[5:] == ["0.200", "0.210 $\\pm$ 0.010", "SLSTM + output gate"]  # best EER: lowest
    assert auc_sc2net[3] == "SC2Net [2]*" and auc_sc2net[6:] == ["0.760 $\\pm$ 0.010", "SC2Net"]
    assert avenue[6] == "not run"
    assert r"[2] B \& C, 50 \% as quoted in a survey" in latex  # the caption cites, escaped
    assert "A. Author, Venue 2020" in latex and latex.count("A. Author") == 1


def test_html_twin_escapes_for_html(summary, tmp_path):
    write_comparison(summary, load_reported(reported_csv(tmp_path, PUBLISHED)), tmp_path / "p.tex", html=tmp_path / "p.html")
    html = (tmp_path / "p.html").read_text(encoding="utf-8")
    assert "0.760 ± 0.010" in html and "Method_A [1]" in html and "SLSTM + output gate" in html
    assert "[2] B &amp; C, 50 % as quoted in a survey" in html and "$" not in html and "\\" not in html


def test_shipped_numbers_load_and_name_their_source():
    reported = load_reported()
    assert not reported.empty and reported["source"].str.len().gt(20).all()


@pytest.mark.parametrize("column, value, message", [
    ("task", "anomalies", "unknown task 'anomalies'"),
    ("metric", "psnr", "metric 'psnr' is not reported for task 'anomaly'"),
    ("checked", "maybe", "checked must be one of"),
    ("value", "81.7%", "value '81.7%' is not a number"),
])
def test_a_bad_published_row_is_named(tmp_path, column, value, message):
    row = list(PUBLISHED[0])
    row[COLUMNS.index(column)] = value
    path = reported_csv(tmp_path, [PUBLISHED[1], row])
    with pytest.raises(ValueError, match=f"reported.csv, row 2 .*{message}"):
        load_reported(path)


def test_missing_columns_and_files_are_named(tmp_path):
    path = tmp_path / "reported.csv"
    path.write_text("task,dataset,metric,value\nanomaly,avenue,auc,0.8\n")
    with pytest.raises(ValueError, match="reported.csv: missing column"):
        load_reported(path)
    with pytest.raises(FileNotFoundError, match="nothere.csv"):
        load_reported(tmp_path / "nothere.csv")


@pytest.mark.skipif(shutil.which("pdflatex") is None, reason="no LaTeX engine installed")
def test_comparison_table_compiles_with_latex(summary, tmp_path):
    write_comparison(summary, load_reported(reported_csv(tmp_path, PUBLISHED)), tmp_path / "paper.tex")
    (tmp_path / "doc.tex").write_text(
        "\\documentclass{article}\\usepackage{booktabs}\n\\begin{document}\\input{paper.tex}\\end{document}\n")
    proc = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "doc.tex"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout[-2000:]


def test_a_counterpart_whose_seeds_all_diverged_is_failed_not_missing(summary, tmp_path):
    diverged = pd.DataFrame([{"task": "anomaly", "dataset": "avenue", "model": "sc2net", "seed": s, "metric": None,
                              "value": None, "status": "diverged"} for s in range(2)])
    row = list(PUBLISHED[2])
    row[COLUMNS.index("dataset")] = "avenue"
    rows, _ = table_rows(pd.concat([summary, diverged]), load_reported(reported_csv(tmp_path, [row])))
    assert [cell.strip() for cell in rows[0].rstrip("\\ ").split("&")][6:] == ["failed", "SC2Net"]


def test_how_a_number_was_read_is_marked(summary, tmp_path):
    digitized, talk = list(PUBLISHED[0]), list(PUBLISHED[3])
    digitized[COLUMNS.index("checked")], talk[COLUMNS.index("checked")] = "figure-digitized", "talk"
    rows, _ = table_rows(summary, load_reported(reported_csv(tmp_path, [digitized, talk])))
    assert [row.split("&")[3].strip() for row in rows] == ["Method\\_A [1] (fig.)", "Method\\_A [1] (talk)"]


def test_a_published_number_is_set_only_against_runs_of_its_setting(summary, tmp_path):
    summary = summary.assign(**{"param.n_atoms": 200})
    summary.loc[summary["model"] == "sc2net", "param.n_atoms"] = 2048
    requires = ['{"n_atoms": 2048}', '{"n_atoms": {"at_least": 4096}}', "", ""]
    path = tmp_path / "reported.csv"
    pd.DataFrame([row + [r] for row, r in zip(PUBLISHED, requires)], columns=[*COLUMNS, "requires"]).to_csv(path, index=False)
    rows, _ = table_rows(summary, load_reported(path))
    auc_a, eer_a, *_ = ([cell.strip() for cell in row.rstrip("\\ ").split("&")] for row in rows)
    assert auc_a[6:] == ["0.760 $\\pm$ 0.010", "SC2Net"]  # the only model run with 2,048 atoms
    assert eer_a[6] == "not comparable: n\\_atoms=200, 2048 (paper: $\\geq$ 4096)"  # none was: the difference, escaped
    bad = tmp_path / "bad.csv"
    pd.DataFrame([PUBLISHED[0] + ['{"n_atoms": {"above": 3}}']], columns=[*COLUMNS, "requires"]).to_csv(bad, index=False)
    with pytest.raises(ValueError, match="requires must be a JSON mapping"):
        load_reported(bad)


def test_an_anchor_marks_ours_as_made_on_other_inputs(summary, tmp_path):
    """SC2Net's row holds for inputs on which the paper's ISTA scored its value: where our ISTA is far
    from it, our SC2Net is marked with both numbers; within the tolerance, or without an anchor, not."""
    def anchor(value, model="ista"):
        return f'{{"model": "{model}", "value": {value}, "checked": "paper", "tolerance": 0.03}}'

    anchors = [anchor(0.71), "", anchor(0.90), anchor(0.5, model="lista")]  # ours: ISTA 0.71, no LISTA run
    rows = [PUBLISHED[2], PUBLISHED[2], PUBLISHED[2], PUBLISHED[2]]
    path = tmp_path / "reported.csv"
    pd.DataFrame([row + ["", a] for row, a in zip(rows, anchors)], columns=[*COLUMNS, "requires", "anchor"]).to_csv(path, index=False)
    cells = [[c.strip() for c in row.rstrip("\\ ").split("&")][6] for row in table_rows(summary, load_reported(path))[0]]
    assert cells[:2] == ["0.760 $\\pm$ 0.010"] * 2
    assert cells[2] == "0.760 $\\pm$ 0.010; ISTA here 0.710 (paper: 0.900 $\\pm$ 0.03): not the paper's inputs"
    assert cells[3].startswith("0.760 $\\pm$ 0.010; no lista auc here")
    bad = tmp_path / "bad.csv"
    pd.DataFrame([PUBLISHED[2] + ["", anchor(0.9, model="no_such_model")]], columns=[*COLUMNS, "requires", "anchor"]).to_csv(bad, index=False)
    with pytest.raises(ValueError, match="anchor must be a JSON mapping.*no_such_model"):
        load_reported(bad)
