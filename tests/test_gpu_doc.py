"""docs/gpu.md from kept GPU checks: each check's table, the NMSE per finished layer, and the
comparison of the protocol jobs two checks both ran."""

from __future__ import annotations

import json
from pathlib import Path

from dpbench.report.gpu_doc import comparison, gpu_page, layer_table

LINE = "2026-12-04 18:{m:02d}:{s:02d},000 INFO dpbench.sparse.staged: LISTA layer {layer} lr {lr}: {steps} steps, best validation NMSE {nmse:.2f} dB\n"


def _check(folder: Path, stages: list[tuple[int, float, int, float]], seconds_per_stage: int) -> Path:
    (folder / "protocol").mkdir(parents=True)
    sizes = {"m": 250, "n": 500, "layers": 16, "batch": 64, "seconds": 2.0, "levels": [1, 4, 8], "patience": 200,
             "max_steps": 3000, "protocol": {}}
    rows = [{"part": "protocol", "model": "lista", "tf32": False, "error": "out of time"}]
    (folder / "gpu_check.json").write_text(json.dumps({"device": "a GPU", "sizes": sizes, "rows": rows}))
    text = "".join(LINE.format(m=(k * seconds_per_stage) // 60, s=(k * seconds_per_stage) % 60, layer=layer, lr=lr, steps=steps, nmse=nmse)
                   for k, (layer, lr, steps, nmse) in enumerate(stages))
    (folder / "protocol" / "lista.log").write_text("a warning line\n" + text)
    return folder


STAGES = [(1, 5e-4, 3001, -6.14), (1, 1e-4, 3001, -6.28), (1, 1e-5, 3001, -6.29), (2, 5e-4, 3001, -10.37)]


def test_a_layer_counts_once_all_its_sub_stages_finished(tmp_path):
    table = layer_table(_check(tmp_path / "a", STAGES, 10))
    assert "| lista | -6.29 |" in table and "layer 2" not in table  # layer 2 ran one of its three sub-stages


def test_two_checks_of_the_same_job_are_compared_stage_by_stage(tmp_path):
    a = _check(tmp_path / "a", STAGES, 10)
    b = _check(tmp_path / "b", [*STAGES[:3], (2, 5e-4, 2001, -10.37)], 5)
    assert comparison(("a", a), ("b", b)).splitlines()[-1] == "| lista | 4 | 3 | 30 | 15 | 2.00 |"


def test_the_page_shows_each_check_with_its_progress(tmp_path):
    _check(tmp_path / "one", STAGES, 10)
    (tmp_path / "one" / "check.json").write_text(json.dumps({"date": "today", "note": "a note"}))
    page = gpu_page(tmp_path)
    assert "## one" in page and "| note | a note |" in page and "stopped at layer 2: -10.37 (9003, 30)" in page
