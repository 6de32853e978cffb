"""The claims scorecard (dpbench.report.claims, dpbench.report.scorecard): verdicts on hand-made summaries."""

import math
import re
import shutil
import subprocess

import pandas as pd
import pytest
import yaml
from scipy import stats

from dpbench.cli import main
from dpbench.params import UserError
from dpbench.report.claims import evaluate, load_claims
from dpbench.report.scorecard import html_table, latex_table, print_scorecard

PAPERS = {"p": {"short": "Paper 2020", "citation": "A. Author, A Paper, Venue 2020"}}


def rows(task, dataset, model, metric, values, **extra):
    return [{"task": task, "dataset": dataset, "model": model, "seed": s, "metric": metric, "value": v,
             "status": "ok", **extra} for s, v in enumerate(values)]


@pytest.fixture
def summary():
    data = (
        # NMSE in dB (lower is better) at layers 8 and 16; lista -40 +/- 1 at 16 layers, fista -4
        rows("synthetic", "synthetic_noiseless", "lista", "nmse_db", [-39.0, -40.0, -41.0], layers=16)
        + rows("synthetic", "synthetic_noiseless", "lista", "nmse_db", [-20.0, -20.0, -20.0], layers=8)
        + rows("synthetic", "synthetic_noiseless", "fista", "nmse_db", [-4.0, -4.1, -3.9], layers=16)
        # accuracy (higher is better): sc2net 0.90 +/- 0.01, lista 0.85 +/- 0.05
        + rows("classification_unsupervised", "digits", "sc2net", "accuracy", [0.89, 0.90, 0.91], layers=10)
        + rows("classification_unsupervised", "digits", "lista", "accuracy", [0.80, 0.85, 0.90], layers=10)
        + rows("clustering", "digits", "kmeansnet", "acc", [0.80], features="pixels")
        + rows("clustering", "digits", "kmeans", "acc", [0.70, 0.96], features="pixels")
    )
    return pd.DataFrame(data)


def claims_file(tmp_path, *claims, papers=PAPERS):
    path = tmp_path / "claims.yaml"
    entries = [{"id": f"c{i}", "paper": "p", "claim": "A claim.", "source": "Table 1", **c} for i, c in enumerate(claims)]
    path.write_text(yaml.safe_dump({"papers": papers, "claims": entries}))
    return path


SYNTH = {"task": "synthetic", "dataset": "synthetic_noiseless", "metric": "nmse_db", "layers": 16}
CLASS = {"task": "classification_unsupervised", "dataset": "digits", "metric": "accuracy"}


def verdicts(tmp_path, summary, *claims):
    return [v.verdict for v in evaluate(summary, load_claims(claims_file(tmp_path, *claims))[1])]


def published(value, **test):
    return {"kind": "published", "model": "lista", "value": value, "checked": "figure-digitized", **test}


def test_published_value_within_tolerance(tmp_path, summary):
    assert verdicts(tmp_path, summary,
                    {**SYNTH, "test": published(-39.15, tolerance=3)},   # ours -40: within 3 dB
                    {**SYNTH, "test": published(-45.0, tolerance=3)},    # 5 dB off
                    {**SYNTH, "layers": 8, "test": published(-39.15, tolerance=3)},  # -20 dB at 8 layers
                    {**SYNTH, "dataset": "synthetic_snr40", "test": published(-34.8, tolerance=3)},
                    {**SYNTH, "layers": 7, "test": published(-39.15, tolerance=3)},  # no such layer count
                    ) == ["holds", "fails", "fails", "not run", "not run"]


def test_published_value_as_a_bound_follows_the_metric_direction(tmp_path, summary):
    better = {"sense": "better"}
    assert verdicts(tmp_path, summary,
                    {**SYNTH, "test": published(-35.0, **better)},  # NMSE: -40 is better than -35
                    {**SYNTH, "test": published(-45.0, **better)},
                    {**CLASS, "test": {**published(0.89, **better), "model": "sc2net"}},  # accuracy: 0.90 >= 0.89
                    {**CLASS, "test": {**published(0.93, **better), "model": "sc2net"}},
                    ) == ["holds", "fails", "holds", "fails"]


def test_comparison_by_a_margin(tmp_path, summary):
    results = evaluate(summary, load_claims(claims_file(
        tmp_path,
        {**SYNTH, "test": {"kind": "comparison", "model": "lista", "than": "fista", "margin": 20}},
        {**SYNTH, "test": {"kind": "comparison", "model": "lista", "than": "fista", "margin": 40}},
        {**SYNTH, "test": {"kind": "comparison", "model": "fista", "than": "lista"}},
        {**CLASS, "test": {"kind": "comparison", "model": "sc2net", "than": "lista"}},
        {**CLASS, "test": {"kind": "comparison", "model": "sc2net", "than": "alista"}},  # alista not run
        {**CLASS, "dataset": "*", "task": "anomaly", "metric": "auc",
         "test": {"kind": "comparison", "model": "sc2net", "than": "lista"}},  # no anomaly rows at all
    ))[1])
    # sc2net 0.90 +/- 0.01 against lista 0.85 +/- 0.05 over 3 seeds each: ahead, but within seed noise
    assert [v.verdict for v in results] == ["holds", "fails", "fails", "within noise", "not run", "not run"]
    assert results[0].delta == pytest.approx(36.0)  # lista -40 against fista -4: 36 dB better
    assert results[3].delta == pytest.approx(0.05)
    assert "alista" in results[4].note


def welch_p(a, b):
    return stats.ttest_ind(a, b, equal_var=False).pvalue


def test_a_comparison_is_judged_only_beyond_seed_noise(tmp_path):
    tight, wide = [0.89, 0.90, 0.91, 0.90], [0.80, 0.95, 0.70, 0.98]
    frame = pd.DataFrame(
        rows("classification_unsupervised", "digits", "sc2net", "accuracy", tight)
        + rows("classification_unsupervised", "digits", "lista", "accuracy", [x - 0.05 for x in tight])
        + rows("classification_unsupervised", "digits", "lfista", "accuracy", wide)  # mean 0.8575
        + rows("classification_unsupervised", "digits", "ista", "accuracy", [0.88])
        + rows("classification_unsupervised", "digits", "fista", "accuracy", [0.89] * 4)  # no randomness, as the floor
        + rows("classification_unsupervised", "digits", "alista", "accuracy", [0.88] * 4))
    results = evaluate(frame, load_claims(claims_file(
        tmp_path,
        {**CLASS, "test": {"kind": "comparison", "model": "sc2net", "than": "lista"}},  # 0.05 ahead, tight: holds
        {**CLASS, "test": {"kind": "comparison", "model": "lista", "than": "sc2net"}},  # 0.05 behind, tight: fails
        {**CLASS, "test": {"kind": "comparison", "model": "sc2net", "than": "lfista"}},  # 0.04 ahead, wide: noise
        {**CLASS, "test": {"kind": "comparison", "model": "lfista", "than": "sc2net"}},  # behind, wide: noise too
        # by a margin: 0.05 ahead is not 0.08 ahead, beyond noise
        {**CLASS, "test": {"kind": "comparison", "model": "sc2net", "than": "lista", "margin": 0.08}},
        {**CLASS, "test": {"kind": "comparison", "model": "sc2net", "than": "ista"}},  # one seed of ista: means
        {**CLASS, "test": {"kind": "comparison", "model": "sc2net", "than": "fista"}},  # 0.01 ahead of a constant
        {**CLASS, "test": {"kind": "comparison", "model": "alista", "than": "fista"}},  # two constants: means
    ))[1])
    assert [v.verdict for v in results] == ["holds", "fails", "within noise", "within noise", "fails", "holds",
                                            "within noise", "fails"]
    # the note gives Welch's p of the advantage less the margin, as SciPy computes it
    assert f"Welch p = {welch_p(tight, wide):.2g}" in results[2].note and welch_p(tight, wide) > 0.05
    assert f"Welch p = {welch_p([x - 0.08 for x in tight], [x - 0.05 for x in tight]):.2g}" in results[4].note
    assert results[5].note == "one seed on a side: seed noise not tested"
    # against a constant, Welch's test is the one-sample test against its value
    assert f"one-sample t p = {stats.ttest_1samp(tight, 0.89).pvalue:.2g}" in results[6].note
    assert results[7].note == "no scatter over seeds"
    # NMSE in dB (lower is better): the margin shifts the other way
    nmse = pd.DataFrame(rows("synthetic", "synthetic_noiseless", "lista", "nmse_db", [-40.0, -40.1, -39.9], layers=16)
                        + rows("synthetic", "synthetic_noiseless", "fista", "nmse_db", [-10.0, -10.1, -9.9], layers=16))
    assert verdicts(tmp_path, nmse, *({**SYNTH, "test": {"kind": "comparison", "model": "lista", "than": "fista",
                                                           "margin": m}} for m in (29, 30, 31))) == [
        "holds", "within noise", "fails"]


def test_spread_over_seeds(tmp_path, summary):
    clustering = {"task": "clustering", "dataset": "digits", "metric": "acc"}
    steady, scattered = [0.90, 0.91, 0.90, 0.91, 0.90, 0.91], [0.70, 0.95, 0.80, 0.99, 0.75, 0.90]
    frame = pd.concat([summary, pd.DataFrame(
        rows("classification_unsupervised", "digits", "lfista", "accuracy", steady)
        + rows("classification_unsupervised", "digits", "ista", "accuracy", scattered))])
    assert verdicts(tmp_path, frame,
                    {**CLASS, "test": {"kind": "spread", "model": "lfista", "than": "ista"}},  # sd 0.005 < 0.11
                    {**CLASS, "test": {"kind": "spread", "model": "ista", "than": "lfista"}},
                    # sd 0.01 against 0.05, 3 seeds each: the Brown-Forsythe test cannot tell them apart
                    {**CLASS, "test": {"kind": "spread", "model": "sc2net", "than": "lista"}},
                    {**clustering, "test": {"kind": "spread", "model": "kmeansnet", "than": "kmeans"}},  # one seed
                    ) == ["holds", "fails", "within noise", "not run"]


def test_every_dataset_and_feature_kind_is_its_own_check(tmp_path, summary):
    extra = pd.DataFrame(rows("clustering", "cifar10", "kmeansnet", "acc", [0.95, 0.94, 0.95], features="resnet50")
                         + rows("clustering", "cifar10", "kmeans", "acc", [0.9, 0.9, 0.9], features="resnet50"))
    claims = load_claims(claims_file(
        tmp_path,
        {"task": "clustering", "dataset": "*", "metric": "acc",
         "test": {"kind": "comparison", "model": "kmeansnet", "than": "kmeans"}},
        {"task": "clustering", "dataset": "*", "where": {"features": "resnet50"}, "metric": "acc",
         "test": {"kind": "published", "model": "kmeansnet", "value": 0.93, "checked": "talk", "sense": "better"}},
    ))[1]
    result = [(v.cell, v.verdict) for v in evaluate(pd.concat([summary, extra]), claims)]
    assert result == [("cifar10 (resnet50)", "holds"), ("digits", "fails"), ("cifar10 (resnet50)", "holds")]


def test_a_model_whose_seeds_all_failed(tmp_path, summary):
    diverged = pd.DataFrame([{"task": "synthetic", "dataset": "synthetic_noiseless", "model": "alista", "seed": s,
                              "metric": None, "value": None, "status": "diverged"} for s in range(2)])
    results = evaluate(pd.concat([summary, diverged]), load_claims(claims_file(
        tmp_path,
        {**SYNTH, "test": {**published(-70.0, tolerance=3), "model": "alista"}},
        {**SYNTH, "test": {"kind": "comparison", "model": "lista", "than": "alista"}},
    ))[1])
    assert [v.verdict for v in results] == ["fails", "not run"]
    assert all("every seed of alista failed" in v.note for v in results)
    # a run under another setting says nothing about the paper's number, even when it diverged
    unlike = pd.concat([summary, diverged.assign(**{"param.m": 64})])
    (verdict,) = evaluate(unlike, load_claims(claims_file(
        tmp_path, {**SYNTH, "setting": {"m": 250}, "test": {**published(-70.0, tolerance=3), "model": "alista"}}))[1])
    assert (verdict.verdict, verdict.note) == ("not comparable", "m=64 (paper: 250)")
    # one seed of two diverged: our side says so, judged or not
    from dpbench.report.claims import ours_text

    half = pd.concat([summary, diverged.iloc[:1].assign(model="lista", seed=3)])
    for setting, verdict_wanted in (({}, "holds"), ({"m": 250}, "not comparable")):
        (v,) = evaluate(half, load_claims(claims_file(
            tmp_path, {**SYNTH, "setting": setting, "test": {"kind": "comparison", "model": "lista", "than": "fista"}}))[1])
        assert v.verdict == verdict_wanted and ours_text(v) == "-40.0 ± 1.0 (3/4)"


@pytest.mark.parametrize("change, culprit", [
    ({"test": {"kind": "comparison", "model": "lsita", "than": "fista"}}, "unknown model 'lsita'"),
    ({"test": {"kind": "comparison", "model": "lista", "than": "fistaa"}}, "unknown model 'fistaa'"),
    ({"metric": "nmse_dB"}, "unknown metric 'nmse_dB'"),
    ({"task": "synthetics"}, "unknown task 'synthetics'"),
    ({"paper": "q"}, "unknown paper 'q'"),
    ({"test": published(-39.0)}, "either a tolerance or sense: better"),
    ({"test": published(-39.0, tolerance=3, checked="read")}, "checked must be one of"),
    ({"test": {"kind": "published", "model": "lista", "value": "-39 dB", "checked": "paper", "tolerance": 3}},
     "value must be a number"),
    ({"test": {"kind": "spread", "model": "lista", "than": "fista", "margin": 1}}, r"unknown key\(s\) \['margin'\]"),
    ({"layer": 16}, r"unknown key\(s\) \['layer'\]"),
])
def test_a_claim_with_a_typo_is_refused_naming_it(tmp_path, change, culprit):
    good = {**SYNTH, "test": published(-39.0, tolerance=3)}
    path = claims_file(tmp_path, good, {**good, **change})
    with pytest.raises(UserError, match=rf"claims.yaml, claim 2 \(c1\): .*{culprit}"):
        load_claims(path)


def test_the_shipped_claims_load_and_cite_their_papers():
    papers, claims = load_claims()
    assert len(claims) >= 20 and {c.paper for c in claims} == set(papers)
    by_id = {c.id: c for c in claims}
    assert by_id["lista-16-noiseless"].value == -39.15  # LISTA-CPSS paper, Fig. 5(a)
    assert by_id["lista-beats-fista"].margin == 20


def test_cli_prints_the_scorecard_and_exits_0_whatever_the_verdicts(tmp_path, summary, capsys):
    summary_csv = tmp_path / "summary.csv"
    summary.to_csv(summary_csv, index=False)
    path = claims_file(tmp_path, {**SYNTH, "test": published(-60.0, tolerance=3)})  # fails
    argv = ["claims", "--summary", str(summary_csv), "--claims", str(path),
            "--latex", str(tmp_path / "c.tex"), "--html", str(tmp_path / "c.html")]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "fails" in out and "-40.0 ± 1.0" in out and "\033[" not in out  # not a TTY: no colour
    assert "1 checks: 1 fails" in out
    assert "background-color" in (tmp_path / "c.html").read_text()
    assert main(["claims", "--summary", str(summary_csv), "--claims", str(path), "--markdown"]) == 0
    assert "| c0 " in capsys.readouterr().out
    assert main(["claims", "--summary", str(tmp_path / "none.csv")]) == 1  # a missing summary is an error


def test_colour_and_latex_groups(tmp_path, summary, capsys):
    papers = {**PAPERS, "r": {"short": "Other 2021", "citation": "B. Author, Venue 2021"}}
    path = claims_file(tmp_path, {**SYNTH, "test": published(-39.0, tolerance=3)},
                       {**SYNTH, "paper": "r", "test": {"kind": "spread", "model": "lista", "than": "fista"}},
                       papers=papers)
    papers_, claims = load_claims(path)
    result = evaluate(summary, claims)
    print_scorecard(papers_, result, __import__("sys").stdout, colour=True)
    assert "\033[32mholds" in capsys.readouterr().out
    latex = latex_table(papers_, result)
    assert latex.count(r"\midrule") == 2 and r"\toprule" in latex and r"\bottomrule" in latex  # header + between papers
    assert "-40.0 $\\pm$ 1.0" in latex and "($>$ 0)" in latex and "A. Author, A Paper, Venue 2020" in latex
    assert "Other 2021" in html_table(papers_, result)


@pytest.mark.skipif(shutil.which("pdflatex") is None, reason="no LaTeX engine installed")
def test_claims_table_compiles_with_latex(tmp_path, summary):
    papers, claims = load_claims()
    (tmp_path / "claims.tex").write_text(latex_table(papers, evaluate(summary, claims)))
    (tmp_path / "doc.tex").write_text(
        "\\documentclass{article}\\usepackage{booktabs}\n\\begin{document}\\input{claims.tex}\\end{document}\n")
    proc = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "doc.tex"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stdout[-2000:]


def test_claims_come_first_in_the_report(repo):
    """Snakemake's report lists its categories in alphabetical order: Claims must sort first."""
    text = "".join(p.read_text() for p in (repo / "workflow" / "rules").glob("*.smk"))
    categories = set(re.findall(r'\bcategory="([^"]+)"', text))
    assert "Claims" in categories and min(categories, key=str.lower) == "Claims"


def test_published_nmse_values_are_those_of_the_reference_curves(repo):
    """Every 16-layer NMSE in claims.yaml is the digitized curve's point in ../shared/reference."""
    curves_csv = repo.parent / "shared" / "reference" / "lista_family_nmse_curves.csv"
    if not curves_csv.exists():
        pytest.skip(f"reference curves not found: {curves_csv}")
    curves = pd.read_csv(curves_csv)
    papers = {"lista_cpss": "LISTA-CPSS (NeurIPS 2018)", "alista": "ALISTA (ICLR 2019)"}
    names = {"lista": "LISTA", "lista_cp": "LISTA-CP", "lista_ss": "LISTA-SS", "lista_cpss": "LISTA-CPSS",
             "alista": "ALISTA", "tilista": "TiLISTA"}
    snr = {"synthetic_noiseless": float("inf"), "synthetic_snr40": 40.0}
    checked = 0
    for claim in load_claims()[1]:
        if claim.kind == "published" and claim.metric == "nmse_db":
            point = curves[(curves["paper"] == papers[claim.paper]) & (curves["model"] == names[claim.model])
                           & (curves["snr_db"] == snr[claim.datasets[0]]) & (curves["layer"] == claim.layers)]
            assert point["nmse_db"].tolist() == [claim.value], claim.id
            checked += 1
    assert checked == 12


def with_params(frame, model, **params):
    """``frame`` with the job parameters of ``model``'s rows set as summary columns ``param.<key>``."""
    frame = frame.copy()
    for key, value in params.items():
        frame.loc[frame["model"] == model, f"param.{key}"] = value
    return frame


def test_a_cell_run_under_another_setting_is_not_comparable_and_names_the_difference(tmp_path, summary):
    summary = with_params(with_params(summary, "lista", m=64, n=128, lr_decays="[0.2]"), "fista", m=64, n=128)
    setting = {"m": 250, "n": 500}
    found = evaluate(summary, load_claims(claims_file(
        tmp_path,
        {**SYNTH, "setting": setting, "test": published(-60.0, tolerance=3)},  # would fail: 20 dB off
        {**SYNTH, "setting": {"m": 64, "lr_decays": [0.2]}, "test": published(-60.0, tolerance=3)},  # same setting: judged
        {**SYNTH, "setting": {"m": {"at_least": 100}}, "test": {"kind": "comparison", "model": "lista", "than": "fista"}},
        {**SYNTH, "setting": {"m": {"one_of": [32, 64]}, "patience": 4000}, "test": published(-40.0, tolerance=3)},
    ))[1])
    assert [v.verdict for v in found] == ["not comparable", "fails", "not comparable", "not comparable"]
    assert found[0].note == "m=64 (paper: 250); n=128 (paper: 500)"
    assert math.isnan(found[0].delta)  # no margin is read off an unlike setting
    assert found[2].note == "m=64 (paper: ≥ 100)"
    assert found[3].note == "patience=not recorded (paper: 4000)"  # a key the runs do not record


def test_a_setting_is_checked_on_every_model_the_claim_compares(tmp_path, summary):
    summary = with_params(with_params(summary, "lista", epochs=3001), "fista", epochs=2)
    claim = {**SYNTH, "setting": {"epochs": {"at_least": 3000}}, "test": {"kind": "comparison", "model": "lista", "than": "fista"}}
    (verdict,) = evaluate(summary, load_claims(claims_file(tmp_path, claim))[1])
    assert verdict.verdict == "not comparable" and verdict.note == "epochs=2 (paper: ≥ 3000)"


def test_setting_models_limit_the_setting_to_the_models_it_concerns(tmp_path, summary):
    """TELL's epochs concern TELL's rows, not those of the k-means it is compared with (no epochs)."""
    summary = with_params(summary, "lista", epochs=3001)
    claim = {**SYNTH, "setting": {"epochs": {"at_least": 3000}}, "setting_models": ["lista"],
             "test": {"kind": "comparison", "model": "lista", "than": "fista"}}
    (verdict,) = evaluate(summary, load_claims(claims_file(tmp_path, claim))[1])
    assert verdict.verdict == "holds"
    (verdict,) = evaluate(with_params(summary, "lista", epochs=50), load_claims(claims_file(tmp_path, claim))[1])
    assert verdict.verdict == "not comparable" and verdict.note == "epochs=50 (paper: ≥ 3000)"
    with pytest.raises(UserError, match=r"setting_models must list models of the test \(\['fista', 'lista'\]\), got \['kmeans'\]"):
        load_claims(claims_file(tmp_path, {**claim, "setting_models": ["kmeans"]}))


def test_an_anchor_judges_a_cell_only_where_its_model_matches_the_papers_value(tmp_path, summary):
    """Table 4's TELL-TwoStage holds for the paper's features, known only by k-means' value on them: a
    cell whose k-means is elsewhere ran on other inputs (not comparable), as does one without k-means."""
    def claim(anchor):
        return {**SYNTH, "anchor": {"model": "fista", "checked": "paper", "tolerance": 0.5, **anchor},
                "test": published(-60.0, tolerance=3)}  # ours -40: fails wherever it is judged

    found = evaluate(summary, load_claims(claims_file(
        tmp_path, claim({"value": -4.2}), claim({"value": -10.0}), claim({"value": -4.0, "model": "alista"}),
    ))[1])
    assert [v.verdict for v in found] == ["fails", "not comparable", "not comparable"]
    assert re.fullmatch(r"FISTA here -4\.0+ \(paper: -10\.0+ ± 0\.5\): not the paper's inputs", found[1].note)
    assert found[2].note.startswith("no alista nmse_db here")
    assert math.isnan(found[1].delta)


@pytest.mark.parametrize(("anchor", "message"), [
    ({"model": "fista", "value": -4.0, "checked": "paper"}, "anchor must be a mapping with exactly the keys"),
    ({"model": "fista", "value": -4.0, "checked": "guessed", "tolerance": 1}, "anchor: checked must be one of"),
    ({"model": "fista", "value": -4.0, "checked": "paper", "tolerance": 0}, "anchor tolerance must be positive"),
    ({"model": "fista", "value": "x", "checked": "paper", "tolerance": 1}, "anchor value must be a number"),
    ({"model": "no_such_model", "value": -4.0, "checked": "paper", "tolerance": 1}, "no_such_model"),
])
def test_a_malformed_anchor_is_refused(tmp_path, anchor, message):
    with pytest.raises(UserError, match=message):
        load_claims(claims_file(tmp_path, {**SYNTH, "anchor": anchor, "test": published(-39.0, tolerance=3)}))


def test_a_floor_judges_a_comparison_only_where_one_of_its_models_beats_it(tmp_path, summary):
    """Issue 26: on features where both coders are below a model with nothing learned, their order says
    nothing (not comparable); one of them above the floor is a finding (judged); no floor run: not comparable."""
    def with_floor(value):
        return pd.concat([summary, pd.DataFrame(rows(CLASS["task"], "digits", "kmeans", "accuracy", [value] * 3, layers=10))]) if value else summary

    claim = {**CLASS, "floor": "kmeans", "test": {"kind": "comparison", "model": "sc2net", "than": "lista"}}
    judged = {floor: evaluate(with_floor(floor), load_claims(claims_file(tmp_path, claim))[1])[0]
              for floor in (0.95, 0.88, 0.5, None)}  # sc2net 0.90, lista 0.85
    assert judged[0.95].verdict == "not comparable"
    assert judged[0.95].note == ("SC2Net 0.900 and LISTA 0.850 not above k-means 0.950: below a model with "
                                 "nothing learned, their order says nothing")
    assert judged[0.88].verdict == judged[0.5].verdict == "within noise"  # sc2net above it: judged
    assert judged[None].verdict == "not comparable" and judged[None].note == "no k-means here"


@pytest.mark.parametrize("floor", ["lista", 3, "no_such_model"])
def test_a_malformed_floor_is_refused(tmp_path, floor):
    claim = {**CLASS, "floor": floor, "test": {"kind": "comparison", "model": "sc2net", "than": "lista"}}
    with pytest.raises(UserError, match="floor must name a third model|no_such_model"):
        load_claims(claims_file(tmp_path, claim))
    with pytest.raises(UserError, match="floor must name a third model"):
        load_claims(claims_file(tmp_path, {**CLASS, "floor": "kmeans", "test": {**published(0.9, sense="better")}}))


@pytest.mark.parametrize("setting", [{"m": {"above": 3}}, {"m": {"at_least": "x"}}, {"m": {"one_of": 3}}, ["m"]])
def test_a_malformed_setting_is_refused(tmp_path, setting):
    with pytest.raises(UserError, match="setting"):
        load_claims(claims_file(tmp_path, {**SYNTH, "setting": setting, "test": published(-39.0, tolerance=3)}))
