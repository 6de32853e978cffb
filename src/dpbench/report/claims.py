"""The papers' claims, checked against our results: ``claims.yaml`` + ``summary.csv`` -> verdicts.

``claims.yaml`` (next to this module) holds ``papers`` (key -> ``short`` name and full ``citation``)
and ``claims``, one entry per claim::

    - id: lista-16-noiseless             # unique
      paper: lista_cpss                  # a key of ``papers``: the group the claim is shown in
      claim: LISTA reaches -39.15 dB NMSE after 16 layers, noiseless.
      source: Figure 5(a)                # where in the paper (or the talk) the claim is made
      task: synthetic                    # a task of dpbench.report.specs.TASKS
      dataset: synthetic_noiseless       # a name, a list of names, or "*": every dataset of the task
      where: {features: resnet50}        # optional: other summary columns the rows must match
      metric: nmse_db                    # a metric of dpbench.report.specs.HIGHER_IS_BETTER
      layers: 16                         # optional: that layer count; default: the task's own
                                         # selection (the deepest layer count for sparse coders)
      setting: {m: 250, n: 500, patience: {at_least: 4000}}   # optional: see below
      setting_models: [kmeansnet_tell]   # optional: the models whose rows must meet it (default: both)
      anchor: {model: kmeans, value: 0.7832, checked: paper, tolerance: 0.03}   # optional: see below
      floor: motion_energy               # optional (comparisons): see below
      headline: true                     # optional: one of the talk's headline claims (the README's table)
      test: {kind: published, model: lista, value: -39.15, checked: figure-digitized, tolerance: 3}

``setting`` is the setting the paper's number holds for (problem size, protocol, epochs, training
steps, features...). Each key is looked up in the rows of a cell, first as a summary column (a
record's sweep column: ``layers``, ``features``, ``protocol``...), then as the job's parameter
``param.<key>`` (:func:`dpbench.results.flatten_params`). A value is matched as a scalar (equal;
numbers to a relative 1e-9; lists element by element), ``{at_least: x}``, ``{at_most: x}`` or
``{one_of: [...]}``. A cell whose rows (of the models the claim names) do not all meet it gets
``not comparable``, its note naming each difference (``m=64 (paper: 250)``): a number made under
another setting says nothing about the paper's, so it never ``fails``. ``setting_models`` limits the
check to some of the claim's models: a setting of TELL's epochs says nothing of the k-means rows it
is compared with, which have no epochs.

``anchor`` is for a setting the paper shows only through a number: where its table gives another
model's value on the same inputs (k-means on the codes of an autoencoder whose pretraining the paper
does not state), our cell holds the paper's inputs only if that model's mean here is within
``tolerance`` of the paper's ``value`` (read as ``checked`` says). Otherwise, or when that model was
not run in the cell, the cell is ``not comparable``, the note giving both numbers.

``floor`` is for a comparison of two models on features that may not carry what the task needs: it
names a model with nothing learned (the motion-energy detector of the anomaly task) that a model has
to beat before its rank against another says anything. A cell is judged only where at least one of
the two models beats the floor's mean in the metric's direction; where both are at or below it, or
the floor was not run there, the cell is ``not comparable``, the note giving the three means. (One
model above the floor and one below is a finding, so it is judged.)

Three kinds of test, each computed from ``summary.csv`` alone (mean and sd over seeds):

- ``published``: ``value`` is the paper's number in our units, ``checked`` how it was read (one of
  ``specs.CHECKED``). With ``tolerance``, the claim holds when our mean is within it of ``value``;
  with ``sense: better``, when our mean is at least as good as ``value`` (the metric's direction).
- ``comparison``: ``model`` beats ``than`` by at least ``margin`` (default 0), mean against mean, in
  the metric's direction (for NMSE in dB: lower by ``margin`` dB).
- ``spread``: the sd over seeds of ``model`` is below that of ``than`` (two seeds at least each).

The last two set two of our models against each other, so seed noise can decide them: with two seeds
or more on each side, a cell is judged only when a test rejects, at level ``ALPHA``, that the seeds'
scatter explains the difference (comparison: Welch's t-test of A's advantage minus ``margin`` against
zero, ``scipy.stats.ttest_ind``, or against a model whose seeds all give one value, such as the
motion-energy floor, the one-sample t-test against that value; spread: the Brown-Forsythe test of
equal spreads, ``scipy.stats.levene`` centred on the median); otherwise it is ``within noise``,
whichever way the means lean. The note names the test and gives its p-value. A comparison with one
seed on a side is decided on the means, its note saying that the noise was not tested.

Each claim is checked on every cell it names (a dataset, with its feature kind for clustering); a
cell gives ``holds``, ``fails``, ``within noise``, ``not comparable`` (run, but not under the claim's
``setting``) or ``not run`` (no such rows in the summary). A model whose seeds
all failed there (diverged) makes a claim about it ``fail``, and one it is compared with ``not run``;
the note says which.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path
from typing import Any

import pandas as pd
import yaml
from scipy import stats

from dpbench.params import UserError
from dpbench.registry import parse_model
from dpbench.report.settings import Anchor, check_setting, differences, parse_anchor
from dpbench.report.specs import CHECKED, FILTERS, HIGHER_IS_BETTER, TASKS, result_label
from dpbench.report.tables import _column_label, metric_digits
from dpbench.tasks.jobs import images_split_label

CLAIMS_YAML = files("dpbench.report") / "claims.yaml"
KINDS = ("published", "comparison", "spread")
VERDICTS = ("holds", "fails", "within noise", "not comparable", "not run")
JUDGED = ("holds", "fails", "within noise")  # the verdicts of a cell run under the claim's setting
ALPHA = 0.05  # two of our models differ beyond seed noise when the test's two-sided p-value is below it
_CLAIM_KEYS = {"id", "paper", "claim", "source", "task", "dataset", "metric", "test"}
_OPTIONAL_KEYS = {"layers", "where", "setting", "setting_models", "anchor", "floor", "headline"}
_TEST_KEYS = {
    "published": ({"model", "value", "checked"}, {"tolerance", "sense"}),
    "comparison": ({"model", "than"}, {"margin"}),
    "spread": ({"model", "than"}, set()),
}


@dataclass(frozen=True)
class Paper:
    short: str
    citation: str


@dataclass(frozen=True)
class Claim:
    """One claim of ``claims.yaml`` (see the module docstring for the fields)."""

    id: str
    paper: str
    text: str
    source: str
    task: str
    datasets: tuple[str, ...]
    metric: str
    kind: str
    model: str
    than: str | None = None
    value: float | None = None
    checked: str | None = None
    tolerance: float | None = None
    margin: float = 0.0
    layers: int | None = None
    where: dict[str, str] = field(default_factory=dict)
    setting: dict[str, Any] = field(default_factory=dict)
    setting_models: tuple[str, ...] = ()  # the models whose rows must meet ``setting`` (empty: every model named)
    anchor: Anchor | None = None
    floor: str | None = None  # a comparison is judged only where one of its models beats this model's mean
    headline: bool = False  # one of the talk's headline claims: the README's table shows its verdicts

    @property
    def higher_is_better(self) -> bool:
        return HIGHER_IS_BETTER[self.metric]

    def test_text(self) -> str:
        """The test in a few words, models by their labels: ``LISTA within 3 of published``, ``LISTA beats FISTA by ≥ 20``."""
        model, than = result_label(self.model), result_label(self.than or "")
        if self.kind == "published":
            if self.tolerance is not None:
                return f"{model} within {self.tolerance:g} of published"
            return f"{model} {'≥' if self.higher_is_better else '≤'} published"
        if self.kind == "comparison" and self.margin < 0:
            return f"{model} at most {-self.margin:g} worse than {than}"
        if self.kind == "comparison":
            return f"{model} beats {than}" + (f" by ≥ {self.margin:g}" if self.margin else "")
        return f"sd({model}) < sd({than})"


@dataclass(frozen=True)
class Cell:
    """Our numbers for one model in one cell: mean and sd over the seeds that produced a value (each
    seed's value in ``values``)."""

    mean: float = math.nan
    sd: float = math.nan
    n_ok: int = 0
    n_total: int = 0
    values: tuple[float, ...] = ()

    @property
    def missing(self) -> bool:
        return self.n_total == 0

    @property
    def failed(self) -> bool:
        return self.n_total > 0 and self.n_ok == 0


@dataclass(frozen=True)
class Verdict:
    """A claim checked on one cell: the verdict, the numbers behind it, and a note."""

    claim: Claim
    cell: str
    verdict: str
    ours: Cell
    other: Cell | None  # the model compared with (comparison, spread)
    # published within a tolerance: ours - value; published ``sense: better``: our advantage over the
    # value; comparison: A's advantage over B (positive: A better); spread: sd(B) - sd(A)
    delta: float
    note: str = ""


# ----------------------------------------------------------------------------- loading, validation


def _fail(where: str, message: str) -> UserError:
    return UserError(f"{where}: {message}")


def _number(where: str, name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _fail(where, f"{name} must be a number, got {value!r}")
    return float(value)


def _check_model(where: str, model: str) -> None:
    try:
        parse_model(images_split_label(model)[0])  # an image result may be "<model>+learned_D"
    except UserError as err:
        raise _fail(where, str(err)) from err


def _anchor(where: str, entry: Any) -> Anchor:
    try:
        anchor = parse_anchor(entry)
    except UserError as err:
        raise _fail(where, str(err)) from err
    _check_model(where, anchor.model)
    return anchor


def _claim(entry: Any, papers: dict[str, Paper], where: str) -> Claim:
    if not isinstance(entry, dict):
        raise _fail(where, f"a claim must be a mapping, got {entry!r}")
    where = f"{where} ({entry.get('id', '?')})"
    missing, unknown = _CLAIM_KEYS - set(entry), set(entry) - _CLAIM_KEYS - _OPTIONAL_KEYS
    if missing or unknown:
        raise _fail(where, f"missing key(s) {sorted(missing)}" if missing else f"unknown key(s) {sorted(unknown)}")
    if entry["paper"] not in papers:
        raise _fail(where, f"unknown paper {entry['paper']!r}: expected one of {sorted(papers)}")
    if entry["task"] not in TASKS:
        raise _fail(where, f"unknown task {entry['task']!r}: expected one of {sorted(TASKS)}")
    if entry["metric"] not in HIGHER_IS_BETTER:
        raise _fail(where, f"unknown metric {entry['metric']!r}: expected one of {sorted(HIGHER_IS_BETTER)}")
    datasets = entry["dataset"] if isinstance(entry["dataset"], list) else [entry["dataset"]]
    if not datasets or not all(isinstance(d, str) and d for d in datasets):
        raise _fail(where, f"dataset must be a name, a list of names or '*', got {entry['dataset']!r}")
    layers = entry.get("layers")
    if layers is not None and (isinstance(layers, bool) or not isinstance(layers, int) or layers < 0):
        raise _fail(where, f"layers must be a non-negative integer, got {layers!r}")
    where_cols = entry.get("where") or {}
    if not isinstance(where_cols, dict):
        raise _fail(where, f"where must be a mapping of column: value, got {where_cols!r}")
    setting = entry.get("setting") or {}
    try:
        check_setting(setting)
    except UserError as err:
        raise _fail(where, str(err)) from err

    test = entry["test"]
    if not isinstance(test, dict) or test.get("kind") not in KINDS:
        raise _fail(where, f"test must be a mapping whose kind is one of {list(KINDS)}, got {test!r}")
    required, optional = _TEST_KEYS[test["kind"]]
    keys = set(test) - {"kind"}
    missing, unknown = required - keys, keys - required - optional
    if missing or unknown:
        bad = f"missing key(s) {sorted(missing)}" if missing else f"unknown key(s) {sorted(unknown)}"
        raise _fail(where, f"{test['kind']} test: {bad}")
    for role in ("model", "than"):
        if role in test:
            _check_model(where, test[role])

    fields: dict[str, Any] = {"model": test["model"], "than": test.get("than")}
    setting_models = entry.get("setting_models") or []
    named = {test["model"], test.get("than")}
    if not isinstance(setting_models, list) or not set(setting_models) <= named:
        raise _fail(where, f"setting_models must list models of the test ({sorted(m for m in named if m)}), got {setting_models!r}")
    fields["setting_models"] = tuple(setting_models)
    if not isinstance(entry.get("headline", False), bool):
        raise _fail(where, f"headline must be true or false, got {entry['headline']!r}")
    fields["headline"] = entry.get("headline", False)
    if "anchor" in entry:
        fields["anchor"] = _anchor(where, entry["anchor"])
    if "floor" in entry:
        floor = entry["floor"]
        if test["kind"] != "comparison" or not isinstance(floor, str) or floor in named:
            raise _fail(where, f"floor must name a third model of a comparison test, got {floor!r}")
        _check_model(where, floor)
        fields["floor"] = floor
    if test["kind"] == "published":
        if test["checked"] not in CHECKED:
            raise _fail(where, f"checked must be one of {list(CHECKED)}, got {test['checked']!r}")
        sense = test.get("sense", "within")
        if sense not in ("within", "better") or (sense == "within") != ("tolerance" in test):
            raise _fail(where, "a published test takes either a tolerance or sense: better")
        fields |= {"value": _number(where, "value", test["value"]), "checked": test["checked"]}
        if "tolerance" in test:
            fields["tolerance"] = _number(where, "tolerance", test["tolerance"])
            if fields["tolerance"] <= 0:
                raise _fail(where, f"tolerance must be positive, got {test['tolerance']!r}")
    if test["kind"] == "comparison":
        fields["margin"] = _number(where, "margin", test.get("margin", 0))
    if fields["than"] is not None and fields["than"] == fields["model"]:
        raise _fail(where, f"a {test['kind']} test needs two different models, got {fields['model']!r} twice")

    return Claim(
        id=str(entry["id"]), paper=entry["paper"], text=str(entry["claim"]), source=str(entry["source"]),
        task=entry["task"], datasets=tuple(datasets), metric=entry["metric"], kind=test["kind"],
        layers=layers, where={str(k): str(v) for k, v in where_cols.items()}, setting={str(k): v for k, v in setting.items()},
        **fields,
    )


def load_claims(path: str | Path | None = None) -> tuple[dict[str, Paper], list[Claim]]:
    """The papers and claims of ``path`` (default: the shipped ``claims.yaml``), validated: a claim
    naming an unknown model, metric, task or paper is refused with a message naming it."""
    path = Path(str(path or CLAIMS_YAML))
    if not path.exists():
        raise FileNotFoundError(f"missing claims file: {path}")
    try:
        doc = yaml.safe_load(path.read_text())
    except yaml.YAMLError as err:
        raise UserError(f"{path}: not valid YAML: {err}") from err
    if not isinstance(doc, dict) or set(doc) != {"papers", "claims"}:
        raise UserError(f"{path}: expected exactly the keys 'papers' and 'claims'")
    papers = {}
    for key, paper in (doc["papers"] or {}).items():
        if not isinstance(paper, dict) or set(paper) != {"short", "citation"}:
            raise UserError(f"{path}, paper {key!r}: expected the keys 'short' and 'citation'")
        papers[str(key)] = Paper(str(paper["short"]), str(paper["citation"]))
    claims = [_claim(entry, papers, f"{path}, claim {i + 1}") for i, entry in enumerate(doc["claims"] or [])]
    ids = [c.id for c in claims]
    duplicated = sorted({i for i in ids if ids.count(i) > 1})
    if duplicated:
        raise UserError(f"{path}: claim id(s) used twice: {duplicated}")
    return papers, claims


# ----------------------------------------------------------------------------- evaluation


def _labelled(summary: pd.DataFrame, task: str) -> pd.DataFrame:
    """The summary rows of ``task``, each with its cell label (the dataset, and e.g. its feature kind)."""
    frame = summary[summary["task"] == task].copy()
    frame["cell"] = frame.apply(_column_label, axis=1, columns=TASKS[task].column) if len(frame) else []
    return frame


def _rows(labelled: pd.DataFrame, claim: Claim) -> pd.DataFrame:
    """The rows of the claim's task (from :func:`_labelled`) that match its ``where`` columns."""
    frame = labelled
    for column, value in claim.where.items():
        frame = frame[frame[column].astype(str) == value] if column in frame else frame.iloc[0:0]
    return frame


def _cells(frame: pd.DataFrame, claim: Claim) -> list[str]:
    """The cells the claim is checked on: its datasets (with their feature kinds where the task has them)."""
    if claim.datasets == ("*",):
        return sorted(frame["cell"].unique())
    present = [c for d in claim.datasets for c in sorted(frame.loc[frame["dataset"] == d, "cell"].unique())]
    absent = [d for d in claim.datasets if d not in set(frame["dataset"])]
    return present + absent  # an absent dataset is its own (not run) cell


def cell_stats(frame: pd.DataFrame, claim: Claim, cell: str, model: str) -> Cell:
    """Mean and sd over seeds of ``model``'s metric in ``cell`` (at the claim's layer count)."""
    rows = frame[(frame["cell"] == cell) & (frame["model"] == model)]
    if rows.empty:
        return Cell()
    n_total = rows["seed"].nunique()
    failed_seeds = rows.loc[rows["status"].fillna("ok") != "ok", "seed"].nunique() if "status" in rows else 0
    spec = TASKS[claim.task]
    if claim.layers is not None:
        rows = rows[rows["layers"] == claim.layers] if "layers" in rows else rows.iloc[0:0]
    elif spec.select:
        rows = FILTERS[spec.select](rows)
    rows = rows[rows["metric"] == claim.metric]
    if rows.empty and not failed_seeds:
        return Cell()  # the runs are there, but not this metric or layer count: not run
    values = pd.to_numeric(rows["value"], errors="coerce").groupby(rows["seed"]).mean().dropna()
    return Cell(float(values.mean()) if len(values) else math.nan,
                float(values.std()) if len(values) > 1 else math.nan, len(values), n_total, tuple(map(float, values)))


def setting_differences(frame: pd.DataFrame, claim: Claim, cell: str) -> list[str]:
    """How the rows of ``cell`` (of the models the claim names) differ from the claim's ``setting``
    (:func:`dpbench.report.settings.differences`; empty: comparable)."""
    models = list(claim.setting_models) or [m for m in (claim.model, claim.than) if m]
    return differences(frame[(frame["cell"] == cell) & frame["model"].isin(models)], claim.setting)


def anchor_difference(frame: pd.DataFrame, claim: Claim, cell: str) -> str:
    """Why ``cell`` does not hold the paper's inputs by the claim's ``anchor`` (empty: it does)."""
    anchor = claim.anchor
    if anchor is None:
        return ""
    here = cell_stats(frame, claim, cell, anchor.model).mean
    return anchor.difference(here, result_label(anchor.model), claim.metric, metric_digits(claim.metric))


def floor_difference(frame: pd.DataFrame, claim: Claim, cell: str, ours: Cell, other: Cell | None) -> str:
    """Why ``cell`` says nothing of the claim's two models (``ours`` and ``other``, their stats there)
    by its ``floor`` (empty: one of them beats it)."""
    if claim.floor is None:
        return ""
    floor = cell_stats(frame, claim, cell, claim.floor).mean
    label = result_label(claim.floor)
    if math.isnan(floor):
        return f"no {label} here"
    assert claim.than is not None and other is not None
    means = {claim.model: ours.mean, claim.than: other.mean}
    if any(_advantage(claim, mean, floor) > 0 for mean in means.values()):
        return ""
    below = " and ".join(f"{result_label(m)} {fmt(v, claim.metric)}" for m, v in means.items())
    return f"{below} not above {label} {fmt(floor, claim.metric)}: below a model with nothing learned, their order says nothing"


def _advantage(claim: Claim, ours: float, theirs: float) -> float:
    """How much better ``ours`` is than ``theirs`` in the metric's direction (positive: better)."""
    return ours - theirs if claim.higher_is_better else theirs - ours


def noise_test(claim: Claim, ours: Cell, other: Cell) -> tuple[float, str]:
    """The two-sided p-value of the hypothesis that seed noise alone explains a comparison or spread
    test's outcome, and the test's name (module docstring); NaN with fewer than two seeds on a side,
    or no scatter at all."""
    constant = [len(set(c.values)) == 1 for c in (ours, other)]  # a model without randomness: the floor
    if ours.n_ok < 2 or other.n_ok < 2 or all(constant):
        return math.nan, ""
    if claim.kind == "spread":
        return float(stats.levene(ours.values, other.values, center="median").pvalue), "Brown-Forsythe"
    # A's advantage minus the margin against zero: shift A's values by the margin, against the metric's direction
    shifted = [v - claim.margin if claim.higher_is_better else v + claim.margin for v in ours.values]
    if any(constant):  # Welch's test with one side constant is the one-sample test against its value
        sample, value = (shifted, other.values[0]) if constant[1] else (other.values, shifted[0])
        return float(stats.ttest_1samp(sample, value).pvalue), "one-sample t"
    return float(stats.ttest_ind(shifted, other.values, equal_var=False).pvalue), "Welch"


def check(claim: Claim, frame: pd.DataFrame, cell: str) -> Verdict:
    """The verdict of ``claim`` on one cell (``frame``: the rows of :func:`_rows`)."""
    ours = cell_stats(frame, claim, cell, claim.model)
    other = cell_stats(frame, claim, cell, claim.than) if claim.than else None
    if ours.missing or (other is not None and other.missing):
        absent = claim.model if ours.missing else claim.than
        return Verdict(claim, cell, "not run", ours, other, math.nan, f"no {absent} {claim.metric} here")
    differences = setting_differences(frame, claim, cell)
    differences += [why for why in (anchor_difference(frame, claim, cell), floor_difference(frame, claim, cell, ours, other)) if why]
    if differences:  # before the failures: a run under another setting says nothing, even when it diverged
        return Verdict(claim, cell, "not comparable", ours, other, math.nan, "; ".join(differences))
    if ours.failed:
        return Verdict(claim, cell, "fails", ours, other, math.nan, f"every seed of {claim.model} failed")
    if other is not None and other.failed:
        return Verdict(claim, cell, "not run", ours, other, math.nan, f"every seed of {claim.than} failed")
    partial = [f"{m}: {c.n_ok}/{c.n_total} seeds" for m, c in ((claim.model, ours), (claim.than, other))
               if c is not None and c.n_ok < c.n_total]
    note = "; ".join(partial)
    if claim.kind == "published":
        assert claim.value is not None
        if claim.tolerance is not None:
            delta = ours.mean - claim.value
            holds = abs(delta) <= claim.tolerance
        else:
            delta = _advantage(claim, ours.mean, claim.value)
            holds = delta >= 0
        return Verdict(claim, cell, "holds" if holds else "fails", ours, other, delta, note)
    assert other is not None
    if claim.kind == "comparison":
        delta = _advantage(claim, ours.mean, other.mean)
        holds = delta >= claim.margin
    else:
        if ours.n_ok < 2 or other.n_ok < 2:
            return Verdict(claim, cell, "not run", ours, other, math.nan, "a spread needs two seeds at least")
        delta = other.sd - ours.sd
        holds = delta > 0
    p, test = noise_test(claim, ours, other)
    if math.isnan(p):
        noise = "one seed on a side: seed noise not tested" if min(ours.n_ok, other.n_ok) < 2 else "no scatter over seeds"
    else:
        noise = f"{test} p = {p:.2g}"
    verdict = "within noise" if p >= ALPHA else "holds" if holds else "fails"  # a NaN p compares False: judged
    return Verdict(claim, cell, verdict, ours, other, delta, "; ".join(filter(None, [note, noise])))


def evaluate(summary: pd.DataFrame, claims: list[Claim]) -> list[Verdict]:
    """Every claim checked on every cell it names, in the order of ``claims``."""
    labelled = {task: _labelled(summary, task) for task in {c.task for c in claims}}
    verdicts = []
    for claim in claims:
        frame = _rows(labelled[claim.task], claim)
        cells = _cells(frame, claim) or ["none run"]
        verdicts += [check(claim, frame, cell) for cell in cells]
    return verdicts


# ----------------------------------------------------------------------------- text of a verdict


def fmt(value: float, metric: str) -> str:
    return "–" if math.isnan(value) else f"{value:.{metric_digits(metric)}f}"


def verdict_tally(verdicts: list[Verdict]) -> str:
    """How many checks, then how many of each verdict there is (e.g. ``12 checks: 3 holds, 9 not run``)."""
    counts = Counter(v.verdict for v in verdicts)
    return f"{len(verdicts)} checks: " + ", ".join(f"{counts[k]} {k}" for k in VERDICTS if counts[k])


def ours_text(v: Verdict) -> str:
    """Our side: mean ± sd (or the sd alone for a spread test), with ``(k/n)`` when only k of its n
    seeds gave a value (whatever the verdict: a `not comparable` cell has no note saying so)."""
    cell, metric = v.ours, v.claim.metric
    if cell.missing:
        return "not run"
    if cell.failed:
        return "failed"
    seeds = f" ({cell.n_ok}/{cell.n_total})" if cell.n_ok < cell.n_total else ""
    if v.claim.kind == "spread":
        return f"sd {fmt(cell.sd, metric)}{seeds}"
    return fmt(cell.mean, metric) + (f" ± {fmt(cell.sd, metric)}" if cell.n_ok > 1 else "") + seeds


def reference_text(v: Verdict) -> str:
    """What we are set against: the published value (and how it was read), or the other model's numbers."""
    claim = v.claim
    if claim.kind == "published":
        return f"{claim.value:g} ({claim.checked})"  # as the paper gives it
    other = v.other
    assert other is not None
    side = Verdict(claim, v.cell, v.verdict, other, None, v.delta)
    return f"{result_label(claim.than)}: {ours_text(side)}"


def margin_text(v: Verdict) -> str:
    """The margin we got against the one the test asks for."""
    claim = v.claim
    if math.isnan(v.delta):
        return "–"
    got = f"{v.delta:+.{metric_digits(claim.metric)}f}"
    if claim.kind == "published":
        return f"{got} (within ±{claim.tolerance:g})" if claim.tolerance is not None else f"{got} (≥ 0)"
    if claim.kind == "comparison":
        return f"{got} (≥ {claim.margin:g})"
    return f"{got} (> 0)"
