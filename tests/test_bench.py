"""The speed benchmark runs and prints one row per method (its figures are measured, not asserted)."""

from dpbench.bench import main


def test_bench_prints_a_row_per_method(capsys, one_thread):
    small = ["--layers", "2", "--n-features", "16", "--n-atoms", "8", "--batch", "32", "--repeats", "1", "--sklearn-samples", "8",
             "--synthetic-m", "8", "--synthetic-n", "16", "--synthetic-steps", "2"]
    assert main(["--models", "ista", "lista", "sc2net", *small]) == 0
    rows = [line for line in capsys.readouterr().out.splitlines() if line.startswith("| ") and "method" not in line]
    assert [row.split("|")[1].strip() for row in rows] == [
        "ista", "lista", "sc2net", "sklearn SparseCoder (lasso_cd)", "sklearn SparseCoder (lasso_lars)"]
    for row in rows:
        assert float(row.split("|")[4]) > 0  # inference samples per second
    assert float(rows[1].split("|")[5]) > 0 and rows[0].split("|")[5].strip() in ("", "nan")  # synthetic steps/s: learned only
