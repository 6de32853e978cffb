"""benchmarks/tell_speed.py: TELL's seconds per epoch, kept as records, and docs/clustering.md's table made from them."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))  # tell_speed imports demo_timing as its sibling, as when run as a script
spec = importlib.util.spec_from_file_location("tell_speed", REPO / "benchmarks" / "tell_speed.py")
tell_speed = importlib.util.module_from_spec(spec)
spec.loader.exec_module(tell_speed)


def test_a_kept_measurement_renders_between_the_markers(tmp_path):
    ns = tell_speed.make_parser().parse_args(["--encoders", "mlp", "--threads", "1", "--settings", "eager", "tuned",
                                              "--steps", "1", "--rounds", "2", "--eval-batches", "35000", "--record", "toy"])
    table = tell_speed.measure(ns)
    assert set(table["setting"]) == {"eager", "tuned", "eval pass, batch 35000"}
    assert (table.loc[table["setting"] != "eval pass, batch 35000", "s_per_epoch"] > 0).all()
    path = tell_speed.write_record("toy", table, ns, [0.5], "a test", folder=tmp_path / "tell")
    record = json.loads(path.read_text())
    assert record["options"]["encoders"] == ["mlp"] and "record" not in record["options"] and len(record["rows"]) == 3
    page = tmp_path / "clustering.md"
    page.write_text(f"# TELL\n\nprose kept\n\n{tell_speed.BEGIN}\nold\n{tell_speed.END}\n\nafter\n")
    tell_speed.render(page, tmp_path / "tell")
    text = page.read_text()
    assert "prose kept" in text and text.endswith("after\n") and "\nold\n" not in text and "a test" in text
    row = next(line for line in text.splitlines() if line.startswith("| mlp") and "tuned" in line)
    cells = [c.strip() for c in row.strip("|").split("|")]
    eager = table.set_index("setting").loc["eager", "s_per_epoch"]
    tuned = table.set_index("setting").loc["tuned", "s_per_epoch"]
    assert float(cells[5]) == pytest.approx(eager / tuned, rel=5e-3)  # the gain over eager, computed from the record
    page.write_text("no markers")
    with pytest.raises(SystemExit, match="lacks the markers"):
        tell_speed.render(page, tmp_path / "tell")


def test_the_committed_table_is_the_one_the_records_give(tmp_path):
    page = tmp_path / "clustering.md"
    committed = (REPO / "docs" / "clustering.md").read_text()
    page.write_text(committed)
    tell_speed.render(page)
    assert page.read_text() == committed, "run `python benchmarks/tell_speed.py --render` and commit docs/clustering.md"
