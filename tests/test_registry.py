"""The model registry: the schema, the workflow and the report agree with it, and every registered model
honours the contract (builds, runs forward and backward, equals ISTA at init where it says so)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

from dpbench import registry
from dpbench.params import UserError

REPO = Path(__file__).resolve().parents[1]
SCHEMA = yaml.safe_load((REPO / "workflow/schemas/config.schema.yaml").read_text())

pytestmark = pytest.mark.usefixtures("one_thread")


def _pattern_names(definition: str) -> list[str]:
    """The model names listed in a schema definition's pattern ``^(a|b|c)(...)?$``."""
    pattern = SCHEMA["$defs"][definition]["pattern"]
    return re.match(r"\^\(([^)]*)\)", pattern).group(1).split("|")


@pytest.mark.parametrize("definition, family", [("sparse_model", "sparse"), ("cluster_model", "cluster"), ("detector_model", "detector")])
def test_the_schema_lists_the_registered_models(definition, family):
    assert sorted(_pattern_names(definition)) == sorted(registry.model_names(family))


@pytest.mark.parametrize("section, key, task", [
    ("clustering", "datasets", "clustering"),
    ("images", "datasets", "images"),
    ("anomaly", "datasets", "anomaly"),
])
def test_the_schema_lists_the_registered_datasets(section, key, task):
    enum = SCHEMA["properties"][section]["properties"][key]["items"]["enum"]
    assert sorted(enum) == sorted(registry.dataset_names(task))


def test_the_schema_lists_the_datasets_with_cnn_features():
    enum = SCHEMA["properties"]["clustering"]["properties"]["cnn_features"]["items"]["enum"]
    assert sorted(enum) == sorted(name for name, spec in registry.DATASETS.items() if spec.cnn_features)


@pytest.mark.parametrize("definition", ["sparse_model", "cluster_model"])
def test_variant_names_pass_the_schema_and_typos_do_not(definition):
    pattern = re.compile(SCHEMA["$defs"][definition]["pattern"])
    base = _pattern_names(definition)[-1]
    assert pattern.match(base) and pattern.match(f"{base}[tied=true]") and pattern.match(f"{base}[a=1,b_c=soft]")
    for bad in (f"{base}x", f"{base}[]", f"{base}[tied]", f"{base}[a=1,]"):
        assert not pattern.match(bad), bad


def test_report_order_and_task_tables_come_from_the_registry():
    from dpbench.report.specs import MODEL_ORDER
    from dpbench.tasks.clustering import MODELS as CLUSTER_FACTORIES

    assert MODEL_ORDER == list(registry.MODELS)
    assert sorted(CLUSTER_FACTORIES) == sorted(registry.model_names("cluster"))


def test_figure_names_known_to_the_workflow_are_drawn_by_the_report():
    from dpbench.report.figures import FIGURES
    from dpbench.report.specs import TASKS

    assert {task: spec.figures for task, spec in TASKS.items()} == {task: list(f) for task, f in FIGURES.items()}


def test_parse_model_variants_and_errors():
    spec, options = registry.parse_model("sc2net[fixed_gates=true,activation=soft,gate_bias=2.5]")
    assert spec.name == "sc2net" and options == {"fixed_gates": True, "activation": "soft", "gate_bias": 2.5}
    assert registry.parse_model("lista") == (registry.MODELS["lista"], {})
    with pytest.raises(UserError, match="listaa"):
        registry.parse_model("listaa[tied=true]")
    with pytest.raises(UserError, match="'tied'"):
        registry.parse_model("lista[tied]")
    with pytest.raises(UserError, match="cannot run here"):
        registry.check_model("kmeans", family="sparse")
    assert registry.options_for({"lista": {"tied": False, "p": 1}, "lista[tied=true]": {"p": 2}}, "lista[tied=true]") == {"tied": False, "p": 2}
    assert registry.model_rank("lista[tied=true]") == registry.model_rank("lista") < registry.model_rank("nosuch")
    assert registry.model_label("lista[tied=true]") == "LISTA [tied=true]"


def _problem(m: int = 12, n: int = 24, batch: int = 5):
    gen = torch.Generator().manual_seed(0)
    D = torch.randn(m, n, generator=gen, dtype=torch.float64)
    return D / D.norm(dim=0), torch.randn(batch, m, generator=gen, dtype=torch.float64)


@pytest.mark.parametrize("name", registry.model_names("sparse"))
def test_every_sparse_model_builds_and_runs_forward_and_backward(name):
    from dpbench.sparse import build_model, lasso_objective

    spec = registry.MODELS[name]
    D, x = _problem()
    model = build_model(name, D, 0.1, 3)
    zs = model(x, return_all=True)
    assert len(zs) == 3 and zs[-1].shape == (5, 24) and torch.isfinite(zs[-1]).all()
    assert model.trainable == spec.learned == bool(list(model.parameters()))
    if spec.learned:
        lasso_objective(x, zs[-1], D, 0.1).backward()
        assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in model.parameters())


@pytest.mark.parametrize("name", [n for n in registry.model_names("sparse") if registry.MODELS[n].ista_at_init is not None])
def test_models_that_claim_it_are_ista_at_init(name):
    from dpbench.sparse import build_model

    D, x = _problem()
    ista = build_model("ista", D, 0.2, 5)(x, return_all=True)
    model = build_model(name, D, 0.2, 5, **registry.MODELS[name].ista_at_init)
    with torch.no_grad():
        for a, b in zip(ista, model(x, return_all=True)):
            torch.testing.assert_close(a, b, atol=1e-12, rtol=0)


def test_a_variant_builds_with_its_options():
    from dpbench.sparse import build_model

    D, _ = _problem()
    assert build_model("lista[tied=true]", D, 0.1, 3, tied=False).tied is True
    with pytest.raises(ValueError, match="nonsense"):
        build_model("lista[nonsense=1]", D, 0.1, 3)


@pytest.mark.parametrize("name", registry.model_names("cluster"))
def test_every_cluster_model_builds_and_clusters(name):
    from dpbench.tasks.clustering import build_model

    rng = np.random.default_rng(0)
    centres = np.array([[0.0, 0.0], [6.0, 6.0]])
    x = np.concatenate([c + rng.normal(size=(40, 2)) for c in centres]).astype(np.float32)
    small = {"kmeansnet": {"epochs": 2}, "kmeansnet_tell": {"epochs": 2}}.get(name, {})
    variant = f"{name}[n_init=1]" if registry.MODELS[name].restarts else name
    model = build_model(variant, 2, 0, torch.device("cpu"), small)
    pred = np.asarray(model.fit_predict(x if name == "sklearn_kmeans" else torch.from_numpy(x)))
    assert pred.shape == (80,) and set(pred.tolist()) <= {0, 1}  # quality is each model's own test
