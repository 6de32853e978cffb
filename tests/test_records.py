"""Run records (dpbench record), the results page made from them (dpbench results-doc) and the
configuration reference made from the schema (dpbench config-doc)."""

import json
import sys
from pathlib import Path

import pandas as pd
import pytest

from dpbench.cli import main
from dpbench.params import UserError
from dpbench.report.config_doc import config_page
from dpbench.report.records import make_record
from dpbench.report.results_doc import HEADLINE_END, HEADLINE_START, write_docs
from dpbench.results import write_result

ROOT = Path(__file__).resolve().parents[1]
HEADER = "output_file\tdate\trule\tlog-file(s)\tinput-file(s)\tshellcmd\tstatus\tplan"


def fake_snakemake(tmp_path, statuses):
    """A stand-in for snakemake: `--detailed-summary` prints each result's status (the aggregate job's inputs
    unknown, as before it ran), `--dry-run` the aggregate job with its inputs."""
    lines = [HEADER, "\t".join([str(tmp_path / "summary.csv"), "-", "aggregate", "-", "-", "-", "missing", "-"])]
    lines += ["\t".join([path, "-", "synthetic", "-", "-", "-", status, "-"]) for path, status in statuses.items()]
    dry = ["[Fri Dec  4 15:00:00 2026]", "localrule aggregate:", f"    input: {', '.join(statuses)}",
           f"    output: {tmp_path / 'summary.csv'}", "    jobid: 0"]
    script = tmp_path / "fake_snakemake.py"
    script.write_text(f"import sys\nprint({chr(10).join(dry)!r} if '--dry-run' in sys.argv else {chr(10).join(lines)!r})\n")
    return [sys.executable, str(script)]


# the synthetic protocol of the LISTA-CPSS paper (claims.yaml's setting of its claims)
PAPER = {"m": 250, "n": 500, "p": 0.1, "n_layers": 16, "schedule": "staged", "lr_decays": [0.2, 0.02], "patience": 4000,
         "max_steps": 200000}


def result(tmp_path, model, seed, value):
    path = tmp_path / "results" / f"{model}_seed{seed}.json"
    write_result(path, task="synthetic", dataset="synthetic_noiseless", model=model, seed=seed,
                 records=[{"metric": "nmse_db", "value": value, "layers": 16}], params=PAPER, meta={})
    return str(path)


@pytest.fixture
def run(tmp_path, monkeypatch):
    """A finished two-job run: its config, its result files and a results folder with benchmark files."""
    monkeypatch.chdir(tmp_path)
    config = tmp_path / "preset.yaml"
    config.write_text(f"# A tiny run: LISTA against FISTA.\n# Second line.\nresults_dir: {tmp_path / 'results'}\n")
    files = [result(tmp_path, "lista", 0, -40.0), result(tmp_path, "fista", 0, -5.0)]
    bench = tmp_path / "results" / "benchmarks" / "synthetic" / "lista.tsv"
    bench.parent.mkdir(parents=True)
    bench.write_text("s\th:m:s\n12.5\t0:00:12\n")
    return config, files


def test_a_record_keeps_the_summary_and_where_it_came_from(tmp_path, run):
    config, files = run
    missing = str(tmp_path / "results" / "alista_seed0.json")
    folder = make_record("tiny", [config], runs_dir=tmp_path / "runs", wall_seconds=61.0, note="resumed once",
                         snakemake=fake_snakemake(tmp_path, {files[0]: "ok", files[1]: "ok", missing: "missing"}))
    record = json.loads((folder / "run.json").read_text())
    assert record["description"] == "A tiny run: LISTA against FISTA. Second line."
    assert record["jobs"] == {"expected": 3, "run": 2, "missing": ["alista_seed0.json"]}
    assert record["configfiles"][0]["path"] == str(config) and len(record["configfiles"][0]["sha256"]) == 64
    assert record["job_seconds"] == {"synthetic": {"jobs": 1, "seconds": 12.5, "longest": 12.5}}
    assert record["wall_seconds"] == 61.0 and record["note"] == "resumed once" and record["machine"]["cores"] >= 1 and record["versions"]["pandas"]
    summary = pd.read_csv(folder / "summary.csv")
    assert sorted(summary["model"]) == ["fista", "lista"] and set(summary["param.m"]) == {250}


def test_a_run_whose_results_do_not_match_its_config_is_refused(tmp_path, run):
    config, files = run
    with pytest.raises(UserError, match=r"(?s)1 result file\(s\) do not match the config.*lista_seed0.json \(params changed\)"):
        make_record("tiny", [config], runs_dir=tmp_path / "runs",
                    snakemake=fake_snakemake(tmp_path, {files[0]: "params changed", files[1]: "ok"}))
    with pytest.raises(UserError, match="missing"):
        make_record("tiny", [config], runs_dir=tmp_path / "runs", complete=True,
                    snakemake=fake_snakemake(tmp_path, {files[0]: "ok", files[1]: "missing"}))
    with pytest.raises(UserError, match="record name"):
        make_record("../x", [config], runs_dir=tmp_path / "runs", snakemake=fake_snakemake(tmp_path, {files[0]: "ok"}))
    assert not (tmp_path / "runs" / "tiny").exists()


def test_the_results_page_is_generated_from_the_records_and_checked_for_drift(tmp_path, run):
    config, files = run
    make_record("tiny", [config], runs_dir=tmp_path / "runs", snakemake=fake_snakemake(tmp_path, dict.fromkeys(files, "ok")))
    readme = tmp_path / "README.md"
    readme.write_text(f"# dpbench\n\n{HEADLINE_START}\nOLD TABLE\n{HEADLINE_END}\n\nmore text\n"
                      "<!-- results:presets -->\n<!-- /results:presets -->\n")
    presets = tmp_path / "presets"
    presets.mkdir()
    (presets / "tiny.yaml").write_text("# A tiny run.\n# Data: none (generated).\n#   snakemake --configfile tiny.yaml\nseeds: [0]\n")
    (presets / "other.yaml").write_text("# Another preset, not recorded.\nseeds: [0]\n")
    output, figures = tmp_path / "docs" / "results.md", tmp_path / "docs" / "figures"
    running = tmp_path / "running.md"
    running.write_text("# Running\n<!-- results:preset-commands -->\nOLD\n<!-- /results:preset-commands -->\n")
    assert write_docs(tmp_path / "runs", output, figures, readme, True, presets, running) == [str(output), str(readme), str(running)]
    write_docs(tmp_path / "runs", output, figures, readme, False, presets, running)
    commands = running.read_text()
    rows = {cells[0]: cells[1:] for line in commands.splitlines() if line.startswith("| `")
            for cells in [[c.strip() for c in line.strip("|").split("|")]]}
    assert "OLD" not in commands and rows["`tiny`"] == ["none (generated).", "`snakemake --configfile tiny.yaml`"]
    assert rows["`other`"] == ["(not stated)", "(no command in its header)"]
    page = output.read_text()
    assert "## tiny" in page and "A tiny run: LISTA against FISTA." in page
    assert "-40.0" in page and "-5.0" in page  # our numbers, read from the record's summary
    assert "lista-beats-fista" in page  # the scorecard of the claims on the run's tasks
    card = page[page.index("### Scorecard"):page.index("###", page.index("### Scorecard") + 3)]
    rows = [line for line in card.splitlines() if line.startswith("| ")]
    assert any("lista-beats-fista" in row for row in rows)  # judged: a row
    assert not any(" not run " in row.split("|")[3] for row in rows[2:])  # no row for a model the run lacks...
    assert "Not run, for want of the models they compare in this run: " in card and "`alista-" in card  # ...named instead
    assert (figures / "tiny" / "synthetic_nmse_vs_layers.png").stat().st_size > 0
    assert "(figures/tiny/synthetic_nmse_vs_layers.png)" in page
    text = readme.read_text()
    assert "OLD TABLE" not in text and "more text" in text and "lista-beats-fista" not in text
    assert "LISTA beats 16 iterations of FISTA" in text  # judged under the paper's problem size: in the headline
    presets_rows = {cells[0]: cells[1:] for line in text.splitlines() if line.startswith("| `")
                    for cells in [[c.strip() for c in line.strip("|").split("|")]]}
    assert "Every claim, by run: [tiny](docs/results.md#tiny): " in text  # then every run's count of verdicts
    assert presets_rows["`tiny`"][0] == "A tiny run."  # the presets table, from the headers' first sentences
    assert presets_rows["`tiny`"][1].startswith("not measured on") and "(docs/results.md#tiny)" in presets_rows["`tiny`"][1]
    assert presets_rows["`other`"] == ["Another preset, not recorded.", "no record yet"]
    assert write_docs(tmp_path / "runs", output, figures, readme, True, presets) == []
    output.write_text(page.replace("-40.0", "-45.0"))  # a number typed by hand
    assert write_docs(tmp_path / "runs", output, figures, readme, True, presets) == [str(output)]
    assert main(["results-doc", "--runs-dir", str(tmp_path / "runs"), "--output", str(output), "--figures-dir", str(figures),
                 "--readme", str(readme), "--presets-dir", str(presets), "--check"]) == 1


def test_the_configuration_reference_lists_every_key_of_the_schema():
    import yaml

    page = config_page(ROOT / "workflow/schemas/config.schema.yaml", ROOT / "config.yaml")
    schema = yaml.safe_load((ROOT / "workflow/schemas/config.schema.yaml").read_text())
    for key, node in schema["properties"].items():
        assert f"`{key}`" in page
        for sub in node.get("properties", {}):
            assert f"`{key}.{sub}`" in page
    assert "`synthetic.problem.m`" in page and "integer ≥ 1" in page


def _schema_keys(node, path):
    """(dotted path, schema) of every key under ``node``: the properties, pattern properties and definitions
    (``$defs.<name>``) at every depth, and the schema of a mapping's other names (``<name>``); a bare
    ``$ref`` is no key of its own (its definition, under ``$defs``, is)."""
    if isinstance(node, list):
        for item in node:
            yield from _schema_keys(item, path)
        return
    if not isinstance(node, dict):
        return
    for container in ("$defs", "properties", "patternProperties"):
        for key, child in node.get(container, {}).items():
            here = ".".join(filter(None, [path, "$defs" if container == "$defs" else "", key]))
            if isinstance(child, dict) and set(child) != {"$ref"}:
                yield here, child
            yield from _schema_keys(child, here)
    extra = node.get("additionalProperties")
    if isinstance(extra, dict) and set(extra) != {"$ref"}:
        yield f"{path}.<name>", extra
    for container in ("additionalProperties", "items", "allOf", "anyOf", "oneOf"):
        yield from _schema_keys(node.get(container), f"{path}.<name>" if container == "additionalProperties" else path)


def test_every_key_of_the_schema_has_a_description():
    import yaml

    schema = yaml.safe_load((ROOT / "workflow/schemas/config.schema.yaml").read_text())
    keys = dict(_schema_keys(schema, ""))
    # the walk reaches every depth: definitions, nested mappings, a mapping's other names, pattern properties
    assert {"$defs.anomaly_params.anomalynet.ae.channels", "synthetic.problem.m", "images.data.<name>.crop",
            "models.<name>.label", "clustering.params.:"} <= set(keys)
    assert "anomaly.params" not in keys  # a bare $ref: $defs.anomaly_params carries the description
    missing = sorted(path for path, node in keys.items() if not str(node.get("description") or "").strip())
    assert not missing, f"{len(missing)} keys of the schema without a description: {missing}"
    # docs/configuration.md is made of Markdown tables: a '|' would split a description's cell
    piped = sorted(path for path, node in keys.items() if "|" in str(node.get("description", "")))
    assert not piped, f"descriptions with a '|', which breaks the tables of docs/configuration.md: {piped}"


def test_the_committed_configuration_reference_is_current(monkeypatch):
    monkeypatch.chdir(ROOT)  # config-doc reads the schema and config.yaml, and compares the page, at the repository root
    assert main(["config-doc", "--check"]) == 0, "docs/configuration.md is stale: run `dpbench config-doc` and commit it"


def test_record_takes_several_config_files_as_snakemake_does():
    from dpbench.cli import build_parser

    parser = build_parser("record")
    for argv in (["record", "x", "--configfile", "a.yaml", "b.yaml"], ["record", "x", "--configfile", "a.yaml", "--configfile", "b.yaml"]):
        assert parser.parse_args(argv).configfile == ["a.yaml", "b.yaml"]


def test_every_config_file_reaches_snakemake_under_one_option():
    """Snakemake keeps only the last of repeated --configfile options: a layered preset given as two
    options was checked against the last file alone, and every result looked stale."""
    import ast

    from dpbench.report.records import _snakemake

    echo = [sys.executable, "-c", "import sys; print(sys.argv[1:])"]
    argv = ast.literal_eval(_snakemake(["--detailed-summary"], [Path("config.yaml"), Path("a.yaml"), Path("b.yaml")], echo))
    assert argv.count("--configfile") == 1 and argv[argv.index("--configfile"):] == ["--configfile", "config.yaml", "a.yaml", "b.yaml"]
