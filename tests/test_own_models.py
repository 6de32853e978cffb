"""A model of your own, named by its class (package.module:Class): what the registry infers from it, what
the config may override, the contract checks on it (dpbench check-model), and its cells run by hand
(dpbench run). The workflow runs it end to end in tests/test_workflow.py (examples/mylab/benchmark.yaml)."""

from __future__ import annotations

import os
import sys
import textwrap
from pathlib import Path

import pytest
import torch

from dpbench import registry
from dpbench.cli import main
from dpbench.params import UserError

REPO = Path(__file__).resolve().parents[1]
MYLAB = REPO / "examples" / "mylab"
TIED = "mylab.models:LISTACPTied"
MINIBATCH = "sklearn.cluster:MiniBatchKMeans"

pytestmark = pytest.mark.usefixtures("one_thread")

# the first try of issue 28: every layer uses W, but shared_parameters() does not say so
BROKEN = '''
from dpbench.sparse import SparseEncoder, soft_threshold, spectral_norm_sq
from torch import nn


class LISTACPTied(SparseEncoder):
    def __init__(self, D, lam, n_layers):
        super().__init__(D, lam, n_layers)
        L = spectral_norm_sq(self.D)
        self.W = nn.Parameter((self.D / L).clone())
        self.theta = nn.Parameter(self.D.new_full((n_layers,), float(lam / L)))

    def _iterates(self, x, n_layers):
        z = None
        for t in range(n_layers):
            z = soft_threshold(x @ self.W if z is None else z + (x - z @ self.D.T) @ self.W, self.theta[t])
            yield z


class NotAModel:
    pass
'''


@pytest.fixture
def mylab(monkeypatch, tmp_path):
    """examples/mylab importable (as after ``pip install -e examples/mylab``), and a broken lab beside it."""
    (tmp_path / "brokenlab").mkdir()
    (tmp_path / "brokenlab" / "__init__.py").write_text("")
    (tmp_path / "brokenlab" / "models.py").write_text(textwrap.dedent(BROKEN))
    monkeypatch.syspath_prepend(str(MYLAB))
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(MYLAB), str(tmp_path), os.environ.get("PYTHONPATH", "")]))
    monkeypatch.delenv("DPBENCH_MODELS", raising=False)
    registry.set_model_overrides(None)
    yield tmp_path
    registry.set_model_overrides(None)


def test_the_registry_entry_is_read_off_the_class(mylab):
    spec = registry.model_spec(TIED)
    assert (spec.family, spec.learned, spec.needs_gpu, spec.tasks) == ("sparse", True, True, registry.SPARSE_TASKS)
    assert spec.label == "LISTA-CP (tied W)" and spec.ista_at_init == {} and registry.model_label(f"{TIED}[p=2]") == "LISTA-CP (tied W) [p=2]"
    clusterer = registry.model_spec(MINIBATCH)
    assert (clusterer.family, clusterer.restarts, clusterer.needs_gpu, clusterer.tasks) == ("cluster", True, False, ("clustering",))
    assert clusterer.label == "MiniBatchKMeans"  # no label attribute: the class name


def test_the_config_overrides_what_the_class_says(mylab):
    registry.set_model_overrides({TIED: {"label": "tied", "tasks": ["synthetic"], "needs_gpu": False}})
    spec = registry.model_spec(TIED)
    assert (spec.label, spec.tasks, spec.needs_gpu) == ("tied", ("synthetic",), False)
    with pytest.raises(UserError, match="cannot run here"):
        registry.check_model(TIED, task="images")
    registry.set_model_overrides({TIED: {"tasks": ["clustering"]}})
    with pytest.raises(UserError, match=r"cannot declare task\(s\) \['clustering'\]"):
        registry.model_spec(TIED)
    with pytest.raises(UserError, match="unknown setting"):
        registry.set_model_overrides({TIED: {"colour": "red"}})
    with pytest.raises(UserError, match="not a class path"):
        registry.set_model_overrides({"lista": {"label": "L"}})


def test_names_that_do_not_resolve_say_what_to_do(mylab):
    with pytest.raises(UserError, match="cannot import module 'nolab.models'.*PYTHONPATH"):
        registry.parse_model("nolab.models:X")
    with pytest.raises(UserError, match=r"has no class 'LISTACPTie' \(its classes: \['LISTACPTied'\]\)"):
        registry.parse_model("mylab.models:LISTACPTie")
    with pytest.raises(UserError, match="neither a sparse coder .* nor a clustering estimator"):
        registry.parse_model("brokenlab.models:NotAModel")


def test_declared_models_join_every_task_they_run_in(mylab):
    from dpbench.tasks.jobs import load_config

    config = load_config([REPO / "config.yaml", REPO / "workflow/presets/quick.yaml", MYLAB / "benchmark.yaml"],
                         schema=REPO / "workflow/schemas/config.schema.yaml")
    for section in ("synthetic", "images", "anomaly"):
        assert config[section]["models"][-1] == TIED and MINIBATCH not in config[section]["models"]
    assert config["clustering"]["models"][-1] == MINIBATCH and TIED not in config["clustering"]["models"]
    assert os.environ["DPBENCH_MODELS"] and registry.model_label(MINIBATCH) == "k-means (mini-batch, scikit-learn)"


def test_check_model_passes_the_worked_example(mylab, capsys):
    assert main(["check-model", TIED]) == 0
    out = capsys.readouterr().out
    assert "per layer (dim 0 = n_layers): ['theta']; shared: ['W']" in out and "FAIL" not in out
    assert "ista at initialisation: with options {}" in out and "meets the contract" in out
    assert main(["check-model", MINIBATCH]) == 0


def test_check_model_explains_a_broken_contract(mylab, capsys):
    """The issue's first try: W is used by every layer but not named by shared_parameters()."""
    assert main(["check-model", "brokenlab.models:LISTACPTied"]) == 1
    captured = capsys.readouterr()
    failed = [line for line in captured.out.splitlines() if "FAIL" in line]
    assert len(failed) == 2 and "parameters" in failed[0] and "staged training" in failed[1]
    for line in failed:
        assert "LISTACPTied.W has shape (12, 24)" in line and "n_layers = 3" in line
        assert "def shared_parameters(self): return {'W'}" in line and "docs/adding-a-model.md" in line
    assert "does not meet the contract" in captured.err


def test_the_staged_training_names_the_fix(mylab):
    from dpbench.sparse import build_model
    from dpbench.sparse.staged import gradient_scales

    model = build_model("brokenlab.models:LISTACPTied", torch.randn(64, 128, dtype=torch.float64), 0.1, 16)
    with pytest.raises(ValueError, match=r"LISTACPTied.W has shape \(64, 128\).*n_layers = 16.*shared_parameters"):
        gradient_scales(model, 0, True, 0.3)


def test_dpbench_run_takes_a_model_of_your_own(mylab, tmp_path, capsys):
    preset = tmp_path / "tiny.yaml"
    preset.write_text(textwrap.dedent("""\
        synthetic:
          snr_db: [null]
          problem: {m: 8, n: 16, n_layers: 3, n_test: 50, fista_iters: 50}
          train: {schedule: joint, n_steps: 20}
        """))
    assert main(["run", "synthetic", "--model", TIED, "--preset", str(preset), "--root", str(REPO), "--device", "cpu"]) == 0
    out = capsys.readouterr().out
    assert f"synthetic | synthetic_noiseless | {TIED} | seed 0" in out
    per_layer = [line for line in out.splitlines() if line.startswith("| synthetic |") and line.count("|") == 5]
    assert [line.split("|")[2].strip() for line in per_layer] == ["1", "2", "3"]  # NMSE and objective gap per layer


def test_a_clustering_class_of_your_own_is_built_the_scikit_learn_way(mylab):
    import numpy as np

    from dpbench.tasks.clustering import build_model, takes_numpy

    model = build_model(f"{MINIBATCH}[n_init=1]", 3, 0, torch.device("cpu"), {"max_iter": 5})
    assert (model.n_clusters, model.random_state, model.n_init, model.max_iter) == (3, 0, 1, 5) and takes_numpy(MINIBATCH)
    with pytest.raises(UserError, match="unknown hyperparameter.*'colour'"):
        build_model(MINIBATCH, 3, 0, torch.device("cpu"), {"colour": 1})
    x = np.random.default_rng(0).normal(size=(30, 2)).astype(np.float32)
    assert len(model.fit_predict(x)) == 30


def test_the_public_api_reads_like_the_field(mylab):
    import dpbench.anomaly as anomaly
    import dpbench.cluster as cluster
    import dpbench.sparse as sparse

    for name, spec in registry.MODELS.items():
        if not spec.class_path.startswith("dpbench."):
            continue  # scikit-learn's KMeans
        module = {"sparse": sparse, "detector": anomaly}.get(spec.family, cluster)
        cls = spec.load()
        assert getattr(module, cls.__name__, None) is cls and cls.__name__ in module.__all__, f"{name}: export {cls.__name__}"
        assert cls.__doc__, f"{cls.__name__} has no docstring"
    from dpbench.sparse import FISTA, ISTA, LISTA  # noqa: F401  (the issue's line)


def test_parsing_a_config_with_a_class_of_your_own_imports_it(mylab, tmp_path):
    """The workflow infers the entry at parse time (it imports the class); the jobs get the models: section."""
    import subprocess

    config = tmp_path / "own.yaml"
    config.write_text(textwrap.dedent(f"""\
        seeds: [0]
        results_dir: {tmp_path / 'results'}
        data_dir: {tmp_path / 'data'}
        clustering: {{enabled: false}}
        images: {{enabled: false}}
        anomaly: {{enabled: false}}
        models: {{"{TIED}": {{label: "tied W"}}}}
        synthetic:
          enabled: true
          snr_db: [null]
          models: [ista]
          problem: {{m: 8, n: 16, n_layers: 2, n_test: 20, fista_iters: 20}}
        """))
    cmd = [sys.executable, "-m", "snakemake", "-n", "-p", "--cores", "1", "--configfile", str(REPO / "config.yaml"), str(config),
           "-s", str(REPO / "Snakefile"), "-d", str(tmp_path)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert f"synthetic_noiseless/{TIED}/seed0.json" in proc.stdout and "--device auto" in proc.stdout
    bad = config.read_text().replace(TIED, "mylab.models:NoSuch")
    config.write_text(bad)
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert proc.returncode != 0 and "has no class 'NoSuch'" in proc.stdout + proc.stderr and "rule synthetic" not in proc.stdout


def test_the_documented_example_is_the_example_package():
    """docs/adding-a-model.md shows examples/mylab's class as it is."""
    page = (REPO / "docs/adding-a-model.md").read_text()
    shown = page.split("```python\n", 1)[1].split("```", 1)[0]
    source = (MYLAB / "mylab/models.py").read_text()
    assert shown.strip() in source and "class LISTACPTied(SparseEncoder):" in shown
