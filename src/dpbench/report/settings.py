"""Settings: the conditions a published number holds under, checked against the rows of a summary.

A setting is a mapping ``{key: wanted}`` (``claims.yaml``'s ``setting:``, ``reported_results.csv``'s
``requires``). Each key is looked up in a summary row first as a column of its own (a record's sweep
column: ``layers``, ``features``, ``protocol``...), then as the job's parameter ``param.<key>``
(:func:`dpbench.results.flatten_params`; nested keys joined by ``.``). ``wanted`` is a scalar (equal:
numbers to a relative 1e-9, booleans and null as such, lists element by element), ``{at_least: x}``,
``{at_most: x}`` or ``{one_of: [...]}``. Rows that do not meet a setting were run under another one:
their numbers are not comparable with the paper's, and :func:`differences` says how they differ.

Some of a setting shows only through a number: an :class:`Anchor` is the paper's value of another
model on the same inputs (k-means on the codes of an autoencoder whose pretraining the paper does not
state); a cell where our model is not within its tolerance of it ran on other inputs.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

import pandas as pd

from dpbench.params import PARAM_PREFIX, UserError
from dpbench.report.specs import CHECKED

BOUNDS = ("at_least", "at_most", "one_of")
ANCHOR_KEYS = ("model", "value", "checked", "tolerance")


@dataclass(frozen=True)
class Anchor:
    """The paper's ``value`` of ``model`` on the inputs of a published number (read as ``checked``
    says): our cell holds the paper's inputs only where our ``model`` is within ``tolerance`` of it."""

    model: str
    value: float
    checked: str
    tolerance: float

    def difference(self, here: float, label: str, metric: str, digits: int) -> str:
        """Why a cell where our model (shown as ``label``) scored ``here`` (NaN: not run) does not hold
        the paper's inputs; empty when it does."""
        how = "" if self.checked == "paper" else f", {self.checked}"  # as a published value is marked
        paper = f"paper{how}: {self.value:.{digits}f} ± {self.tolerance:g}"
        if math.isnan(here):
            return f"no {self.model} {metric} here to set against the paper's ({paper})"
        if abs(here - self.value) > self.tolerance:
            return f"{label} here {here:.{digits}f} ({paper}): not the paper's inputs"
        return ""


def parse_anchor(entry: Any) -> Anchor:
    """An :class:`Anchor` from its mapping, refused (UserError naming the fault) when malformed. The
    model's name is the caller's to check."""
    if not isinstance(entry, dict) or set(entry) != set(ANCHOR_KEYS):
        raise UserError(f"anchor must be a mapping with exactly the keys {sorted(ANCHOR_KEYS)}, got {entry!r}")
    if entry["checked"] not in CHECKED:
        raise UserError(f"anchor: checked must be one of {list(CHECKED)}, got {entry['checked']!r}")
    for key in ("value", "tolerance"):
        if isinstance(entry[key], bool) or not isinstance(entry[key], (int, float)):
            raise UserError(f"anchor {key} must be a number, got {entry[key]!r}")
    if entry["tolerance"] <= 0:
        raise UserError(f"anchor tolerance must be positive, got {entry['tolerance']!r}")
    return Anchor(str(entry["model"]), float(entry["value"]), entry["checked"], float(entry["tolerance"]))


def check_setting(setting: Any) -> None:
    """Refuse (UserError naming the key) a malformed setting."""
    if not isinstance(setting, dict):
        raise UserError(f"setting must be a mapping of parameter: value, got {setting!r}")
    for key, spec in setting.items():
        if not isinstance(spec, dict):
            continue
        if len(spec) != 1 or next(iter(spec)) not in BOUNDS:
            raise UserError(f"setting {key!r}: a mapping must be one of {{at_least: x}}, {{at_most: x}}, {{one_of: [...]}}, got {spec!r}")
        ((bound, value),) = spec.items()
        if bound == "one_of" and not isinstance(value, list):
            raise UserError(f"setting {key!r}: one_of takes a list, got {value!r}")
        if bound != "one_of" and (isinstance(value, bool) or not isinstance(value, (int, float))):
            raise UserError(f"setting {key!r}: {bound} takes a number, got {value!r}")


def _equal(actual: Any, wanted: Any) -> bool:
    """Whether a summary value (as pandas read it from the CSV) equals a setting's value."""
    if isinstance(actual, str) and isinstance(wanted, (list, bool, type(None))):
        try:
            actual = json.loads(actual)
        except json.JSONDecodeError:
            return False
    if wanted is None:
        return actual is None or (isinstance(actual, float) and math.isnan(actual))
    if isinstance(wanted, list):
        return isinstance(actual, list) and len(actual) == len(wanted) and all(map(_equal, actual, wanted))
    if isinstance(wanted, bool):
        return str(actual).lower() in (("true", "1", "1.0") if wanted else ("false", "0", "0.0"))
    if isinstance(wanted, (int, float)):
        try:
            return math.isclose(float(actual), float(wanted), rel_tol=1e-9)
        except (TypeError, ValueError):
            return False
    return str(actual) == str(wanted)


def meets(actual: Any, spec: Any) -> bool:
    """Whether ``actual`` meets one setting value: a scalar, ``{at_least: x}``, ``{at_most: x}``, ``{one_of: [...]}``."""
    if not isinstance(spec, dict):
        return _equal(actual, spec)
    ((bound, value),) = spec.items()
    if bound == "one_of":
        return any(_equal(actual, v) for v in value)
    try:
        number = float(actual)
    except (TypeError, ValueError):
        return False
    return not math.isnan(number) and (number >= value if bound == "at_least" else number <= value)


def spec_text(spec: Any) -> str:
    """A setting value in a few characters: ``250``, ``≥ 3000``, ``one of [32, 64]``, ``[0.2, 0.02]``."""
    if isinstance(spec, dict):
        ((bound, value),) = spec.items()
        return f"one of {value}" if bound == "one_of" else f"{'≥' if bound == 'at_least' else '≤'} {value:g}"
    if isinstance(spec, (list, bool)) or spec is None:
        return json.dumps(spec)
    return f"{spec:g}" if isinstance(spec, float) else str(spec)


def _value_text(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "not recorded"
    return f"{value:g}" if isinstance(value, float) else str(value)


def column(frame: pd.DataFrame, key: str) -> str | None:
    """The summary column holding ``key``: its own column, else ``param.<key>``, else None."""
    return key if key in frame else f"{PARAM_PREFIX}{key}" if f"{PARAM_PREFIX}{key}" in frame else None


def matching(frame: pd.DataFrame, setting: dict[str, Any]) -> pd.Series:
    """Which rows of ``frame`` meet every key of ``setting`` (a key no column holds is not met)."""
    mask = pd.Series(True, index=frame.index)
    for key, spec in setting.items():
        col = column(frame, key)
        mask &= frame[col].map(lambda v, spec=spec: meets(v, spec)) if col else False
    return mask


def differences(rows: pd.DataFrame, setting: dict[str, Any]) -> list[str]:
    """How ``rows`` differ from ``setting``: one ``key=ours (paper: wanted)`` per key some row does
    not meet (``not recorded`` when no column holds it); empty when every row meets it."""
    found = []
    for key, spec in setting.items():
        col = column(rows, key)
        values = list(dict.fromkeys(rows[col].tolist())) if col else [None]
        bad = [v for v in values if not meets(v, spec)]
        if bad:
            found.append(f"{key}={', '.join(_value_text(v) for v in bad)} (paper: {spec_text(spec)})")
    return found
