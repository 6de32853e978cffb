"""The committed results page and the README's generated tables are what the committed run records
give (``dpbench results-doc --check``): a number of ours typed by hand, or a record, claim or preset
header changed without regenerating the docs, fails here and names the file."""

from __future__ import annotations

from pathlib import Path

from dpbench.cli import main

ROOT = Path(__file__).resolve().parents[1]


def test_the_committed_results_page_and_readme_match_the_records(monkeypatch, capsys):
    monkeypatch.chdir(ROOT)
    assert main(["results-doc", "--check"]) == 0, capsys.readouterr()
