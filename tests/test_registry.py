"""The model registry: the schema, the workflow and the report agree with it, and every registered model
honours the contract (dpbench.contract: the checks of ``dpbench check-model``)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import torch
import yaml

from dpbench import registry
from dpbench.params import UserError

REPO = Path(__file__).resolve().parents[1]
SCHEMA_TEXT = (REPO / "workflow/schemas/config.schema.yaml").read_text()
SCHEMA = yaml.safe_load(SCHEMA_TEXT)

pytestmark = pytest.mark.usefixtures("one_thread")


MODEL_NAME = re.compile(SCHEMA["$defs"]["model_name"]["pattern"])


def test_the_schema_checks_the_form_of_model_names_and_the_registry_their_meaning():
    for good in ("lista", "lista[tied=true]", "sc2net[a=1,b_c=soft]", "mylab.models:MyLISTA", "mylab.models:MyLISTA[p=2]"):
        assert MODEL_NAME.match(good), good
    for bad in ("lista[]", "lista[tied]", "lista[a=1,]", "mylab.models:", ":MyLISTA", "my lab:X"):
        assert not MODEL_NAME.match(bad), bad
    # no list of names in the schema: the registry says which exist (dpbench.registry.check_config_models)
    patterns = [line for line in SCHEMA_TEXT.splitlines() if "pattern:" in line]
    assert not [p for p in patterns for name in registry.MODELS if f"{name}|" in p or f"|{name})" in p]
    registry.check_config_models({"synthetic": {"models": registry.model_names(task="synthetic")},
                                  "clustering": {"models": registry.model_names("cluster"), "params": {"kmeans": {}}}})
    for config, culprit in [
        ({"clustering": {"models": ["kmeanz"]}}, "clustering.models: unknown model 'kmeanz'"),
        ({"synthetic": {"models": ["kmeans"]}}, "synthetic.models: model 'kmeans' cannot run here"),
        ({"images": {"params": {"listaa": {}}}}, "images.params: unknown model 'listaa'"),
        ({"anomaly": {"models": ["nosuchpackage.models:X"]}}, "cannot import module 'nosuchpackage.models'"),
        ({"models": {"nosuchpackage.models:Y": {}}}, "config models: model 'nosuchpackage.models:Y': cannot import"),
    ]:
        with pytest.raises(UserError, match=re.escape(culprit)):
            registry.check_config_models(config)


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


@pytest.mark.parametrize("name", registry.model_names())
def test_every_registered_model_meets_the_contract(name):
    """The checks of ``dpbench check-model`` (dpbench.contract), which a model class of your own runs too:
    constructor, layers, per-layer or shared parameters, gradients, state, ISTA at initialisation where
    claimed, and a few steps of every training the tasks use."""
    from dpbench.contract import check_model

    checks = check_model(name)
    failed = [c.line() for c in checks if c.ok is False]
    assert not failed, "\n".join(failed)
    ran = {c.name for c in checks if c.ok}
    spec = registry.MODELS[name]
    if spec.family == "sparse":
        assert {"constructor", "layers", "parameters", "state", "supervised training"} <= ran
        assert ("ista at initialisation" in ran) == (spec.ista_at_init is not None)
        assert ("staged training" in ran) == spec.learned
    elif spec.family == "detector":
        assert ran == {"constructor", "score"}
    else:
        assert ran == {"constructor", "fit_predict"}


def _problem(m: int = 12, n: int = 24, batch: int = 5):
    gen = torch.Generator().manual_seed(0)
    D = torch.randn(m, n, generator=gen, dtype=torch.float64)
    return D / D.norm(dim=0), torch.randn(batch, m, generator=gen, dtype=torch.float64)


def test_a_variant_builds_with_its_options():
    from dpbench.sparse import build_model

    D, _ = _problem()
    assert build_model("lista[tied=true]", D, 0.1, 3, tied=False).tied is True
    with pytest.raises(ValueError, match="nonsense"):
        build_model("lista[nonsense=1]", D, 0.1, 3)
