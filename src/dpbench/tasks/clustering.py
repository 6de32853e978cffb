"""The clustering task: fit a clustering model on a feature file, then score its labels.

``cluster-fit`` writes the predicted labels (and the run's metadata); ``cluster-evaluate`` turns them
into ACC (Hungarian matching), NMI and ARI in a per-job result file. Each record names its starts
setting (``1 start`` or ``best of n``, from the model's ``n_init``), so single-start and restarted
runs of a model stay apart in the table and figures.
"""

from __future__ import annotations

import argparse
import inspect
import json
import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from dpbench.params import DivergenceError, UserError, parse_params
from dpbench.registry import ModelSpec, check_model, parse_model

if TYPE_CHECKING:
    import torch

log = logging.getLogger(__name__)


def _kmeans(k: int, seed: int, device: torch.device, **p: Any) -> Any:
    from dpbench.cluster.kmeans import KMeans

    return KMeans(k, seed=seed, device=device, **p)


def _kmeansnet(k: int, seed: int, device: torch.device, **p: Any) -> Any:
    from dpbench.cluster.kmeansnet import KMeansNet

    return KMeansNet(k, random_state=seed, device=device, **p)


def _kmeansnet_tell(k: int, seed: int, device: torch.device, **p: Any) -> Any:
    from dpbench.cluster.kmeansnet_tell import KMeansNetTELL

    return KMeansNetTELL(k, random_state=seed, device=str(device), **p)


def _sklearn_kmeans(k: int, seed: int, device: torch.device, **p: Any) -> Any:
    from sklearn.cluster import KMeans as SklearnKMeans

    return SklearnKMeans(k, random_state=seed, **p)


# model name -> (factory(n_clusters, seed, device, **params), allowed hyperparameters); each factory
# imports its model's module only when it builds one
MODELS: dict[str, tuple[Callable[..., Any], set[str]]] = {
    "kmeans": (_kmeans, {"n_init", "max_iter", "tol"}),
    "kmeansnet": (_kmeansnet, {"tau", "tau_final", "epochs", "batch_size", "lr", "n_init"}),
    "kmeansnet_tell": (_kmeansnet_tell, {"epochs", "batch_size", "alpha", "encoder", "log_every", "checkpoint_every"}),
    "sklearn_kmeans": (_sklearn_kmeans, {"n_init", "max_iter", "tol"}),
}
# the models that cluster NumPy arrays (scikit-learn's); the others take tensors on their device
NUMPY_MODELS = {"sklearn_kmeans"}


def _own_class(spec: ModelSpec) -> tuple[Callable[..., Any], set[str] | None]:
    """The factory of a clustering class of the user's own (scikit-learn's constructor convention):
    ``Class(n_clusters, random_state=seed, [device=device,] **params)``; any hyperparameter its
    constructor takes is allowed."""
    cls = spec.load()
    arguments = inspect.signature(cls).parameters
    takes_any = any(a.kind is inspect.Parameter.VAR_KEYWORD for a in arguments.values())
    missing = [a for a in ("n_clusters", "random_state") if a not in arguments and not takes_any]
    if missing:
        raise UserError(f"clustering model {spec.name!r}: its constructor lacks {missing}; a clustering class is built as "
                        "Class(n_clusters, random_state=seed, **params), as scikit-learn's (docs/adding-a-model.md)")

    def factory(k: int, seed: int, device: torch.device, **p: Any) -> Any:
        extra = {"device": str(device)} if "device" in arguments else {}
        return cls(n_clusters=k, random_state=seed, **extra, **p)

    allowed = None if takes_any else set(arguments) - {"n_clusters", "random_state", "device"}
    return factory, allowed


def build_model(name: str, n_clusters: int, seed: int, device: torch.device, params: dict[str, Any]) -> Any:
    """Instantiate clustering model ``name`` (or a variant, ``kmeansnet[n_init=1]``, whose options
    override ``params``; or a class of the user's own, ``package.module:Class``); unknown names or
    hyperparameters are named in the error."""
    spec = check_model(name, family="cluster")
    params = {**params, **parse_model(name)[1]}
    factory, allowed = MODELS[spec.name] if spec.name in MODELS else _own_class(spec)
    unknown = set(params) - allowed if allowed is not None else set()
    if unknown:
        raise UserError(f"unknown hyperparameter(s) {sorted(unknown)} for model {name!r}; allowed: {sorted(allowed)}")
    return factory(n_clusters, seed, device, **params)


def takes_numpy(name: str) -> bool:
    """Whether model ``name`` clusters a NumPy array (scikit-learn's and every class of the user's own)
    rather than a tensor on its device."""
    spec = parse_model(name)[0]
    return spec.name in NUMPY_MODELS or spec.name not in MODELS


def tell_checkpoint_path(output: str) -> str:
    """Where a TELL run keeps its training state: next to its predictions, kept after the run so that a
    rerun with more epochs continues it (``pred.pt`` -> ``pred.pt.tell.ckpt``)."""
    return f"{output}.tell.ckpt"


def _fit_predict(
    model_name: str, x: torch.Tensor, labels: torch.Tensor, seed: int, device: torch.device, params: dict[str, Any],
    output: str, meta: dict[str, Any], group: int | None = None,
) -> torch.Tensor:
    """Fit ``model_name`` with as many clusters as ``x`` has classes and return its labels. TELL
    trains resumably (its state next to ``output``, one per group), and its history (losses and
    ACC/NMI/ARI every ``log_every`` epochs, the true labels used for monitoring only) and final losses
    go into ``meta``."""
    import torch

    n_clusters = int(labels.max()) + 1 if group is None else len(torch.unique(labels))
    model = build_model(model_name, n_clusters, seed, device, params)
    if parse_model(model_name)[0].name != "kmeansnet_tell":
        return torch.as_tensor(model.fit_predict(x.numpy() if takes_numpy(model_name) else x), dtype=torch.int64)
    model.fit(x, labels=labels.numpy(), checkpoint=tell_checkpoint_path(output if group is None else f"{output}.group{group}"))
    meta["params"]["encoder"] = model.encoder_  # the encoder that ran ('auto' resolved)
    meta.setdefault("history", []).extend(h | ({} if group is None else {"group": group}) for h in model.history_)
    meta.setdefault("final_losses", []).append(model.loss_history_[-1])
    return torch.as_tensor(model.labels_, dtype=torch.int64)


def fit(features_path: str, model_name: str, seed: int, params: dict[str, Any], device_name: str, output: str) -> None:
    """Cluster the features in ``features_path`` and save the predicted labels to ``output``.

    The run's metadata records the parameters it ran with: ``params`` updated with a variant's options
    (``kmeansnet_tell[encoder=mlp]``), so that each is a visible job parameter. A feature file with
    ``groups`` (``cifar100_per_superclass``) is clustered group by group, each group into as many
    clusters as it has classes (TELL's CIFAR-100 protocol); the final losses are then means over groups."""
    import torch

    from dpbench.io import load_tensors, save_tensors
    from dpbench.runtime import resolve_device, run_metadata, seed_everything, synchronize

    data = load_tensors(features_path)
    x, labels, groups = data["features"], data["labels"], data.get("groups")
    device = resolve_device(device_name)
    seed_everything(seed, device)
    log.info("fitting %s on %s: %d x %d, seed %d, %s", model_name, features_path, *x.shape, seed, device)
    build_model(model_name, 2, seed, device, params)  # unknown names and hyperparameters fail before any work
    meta = run_metadata(device, seed) | {"params": {**params, **parse_model(model_name)[1]}, "status": "ok"}
    start = time.perf_counter()
    try:
        if groups is None:
            pred = _fit_predict(model_name, x, labels, seed, device, params, output, meta)
        else:
            pred = torch.empty(len(x), dtype=torch.int64)
            for g in torch.unique(groups).tolist():
                idx = torch.nonzero(groups == g).squeeze(1)
                log.info("group %d: %d samples, %d classes", g, len(idx), len(torch.unique(labels[idx])))
                pred[idx] = _fit_predict(model_name, x[idx], labels[idx], seed, device, params, output, meta, group=g)
        if "final_losses" in meta:
            meta["loss_clu"], meta["loss_rec"] = (float(v) for v in torch.tensor(meta.pop("final_losses")).double().mean(0))
    except DivergenceError as err:
        # recorded, not raised: the grid goes on and the table marks this cell as failed
        log.error("%s on %s, seed %d: %s", model_name, features_path, seed, err)
        pred, meta["status"], meta["message"] = torch.empty(0, dtype=torch.int64), "diverged", str(err)
    synchronize(device)
    meta["fit_seconds"] = time.perf_counter() - start
    log.info("%s done in %.2f s", model_name, meta["fit_seconds"])
    save_tensors(output, {"pred": pred, "meta_json": json.dumps(meta)})


def starts_label(params: dict[str, Any]) -> str:
    """The starts setting of a run: ``1 start`` or ``best of n`` (models without ``n_init`` start once)."""
    n_init = int(params.get("n_init", 1))
    return "1 start" if n_init == 1 else f"best of {n_init}"


def evaluate(pred_path: str, features_path: str, dataset: str, features: str, model: str, seed: int, output: str) -> None:
    """Score saved predictions against the true labels and write the per-job result file."""
    import torch

    from dpbench.io import load_tensors
    from dpbench.metrics import clustering_scores
    from dpbench.results import write_result

    pred = load_tensors(pred_path)
    feature_file = load_tensors(features_path)
    labels = feature_file["labels"]
    meta = json.loads(pred["meta_json"])
    made = json.loads(feature_file.get("meta_json", "{}"))
    if "params" in made:  # learned features (ae_*): how they were pretrained, as job parameters param.pretrain.<key>
        meta["params"]["pretrain"] = made["params"]
        meta["pretrain_final_loss"] = made["reconstruction_loss"][-1]
    ident = {"task": "clustering", "dataset": dataset, "model": model, "seed": seed}
    if meta.pop("status") != "ok":
        write_result(output, **ident, records=[], params=meta.pop("params"), meta=meta, status="diverged", message=meta["message"])
        return
    sweep = {"features": features, "starts": starts_label(meta["params"])}
    groups = feature_file.get("groups")
    if groups is None:
        scores, records = clustering_scores(labels.numpy(), pred["pred"].numpy()), []
    else:  # TELL's CIFAR-100 protocol: each group scored apart (group_* records), the cell is their mean
        per_group = {g: clustering_scores(labels[groups == g].numpy(), pred["pred"][groups == g].numpy()) for g in torch.unique(groups).tolist()}
        scores = {m: sum(s[m] for s in per_group.values()) / len(per_group) for m in next(iter(per_group.values()))}
        records = [{"metric": f"group_{m}", "value": v, "group": g} | sweep for g, s in per_group.items() for m, v in s.items()]
    log.info("%s %s/%s seed %d: %s", model, dataset, features, seed, scores)
    records += [{"metric": m, "value": v} | sweep for m, v in scores.items()]
    records.append({"metric": "fit_seconds", "value": meta["fit_seconds"]} | sweep)
    records += [{"metric": m, "value": meta.pop(m)} | sweep for m in ("loss_clu", "loss_rec") if m in meta]
    records += history_records(meta.pop("history", []), sweep)
    write_result(output, **ident, records=records, params=meta.pop("params"), meta=meta)


# history entry key -> metric name of its records (each with an ``epoch`` column): kept apart from the
# final ``acc``/``nmi``/``ari`` so that tables and claims read the end of the run, figures the curve
HISTORY_METRICS = {"acc": "epoch_acc", "nmi": "epoch_nmi", "ari": "epoch_ari", "loss_clu": "epoch_loss_clu",
                   "loss_rec": "epoch_loss_rec", "loss_clu_eval": "epoch_loss_clu_eval", "seconds": "epoch_seconds"}


def history_records(history: list[dict[str, float]], sweep: dict[str, Any]) -> list[dict[str, Any]]:
    """A training history (:attr:`KMeansNetTELL.history_`) as result records: metric ``epoch_<key>``
    and an ``epoch`` column (epochs trained) for every logged quantity."""
    return [
        {"metric": HISTORY_METRICS[key], "value": value, "epoch": int(entry["epoch"])} | sweep
        | ({"group": entry["group"]} if "group" in entry else {})
        for entry in history
        for key, value in entry.items()
        if key in HISTORY_METRICS
    ]


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("cluster-fit", help="fit a clustering model and save its labels")
    p.add_argument("--features", required=True, help="feature file from 'dpbench features'")
    p.add_argument("--model", required=True)
    p.add_argument("--seed", type=int, required=True)
    p.add_argument("--params", default="{}", help="hyperparameters as a JSON object")
    p.add_argument("--device", default="auto")
    p.add_argument("--output", required=True)
    p.set_defaults(func=lambda a: fit(a.features, a.model, a.seed, parse_params(a.params), a.device, a.output))

    p = sub.add_parser("cluster-evaluate", help="score saved cluster labels (ACC, NMI, ARI)")
    p.add_argument("--pred", required=True)
    p.add_argument("--features", required=True)
    p.add_argument("--dataset", required=True)
    p.add_argument("--feature-kind", required=True)
    p.add_argument("--model", required=True)
    p.add_argument("--seed", type=int, required=True)
    p.add_argument("--output", required=True)
    p.set_defaults(func=lambda a: evaluate(a.pred, a.features, a.dataset, a.feature_kind, a.model, a.seed, a.output))
