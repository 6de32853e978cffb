"""Which part of a cuboid's score detects the anomalies? (a diagnostic script, not a test)

For one finished classical anomaly job (ISTA or FISTA: its encoder needs no training, so it is
rebuilt exactly from the job's dictionary and parameters), recomputes the frame scores four ways,
each pooled (max over a frame's cuboids) and smoothed as the job does, and prints the frame AUC of
each, raw and per-video normalised:

* ``projected``: the Lasso cost of the projected, normalised cuboid (``score_space: projected``);
* ``original``: that plus the energy the PCA drops (``score_space: original``);
* ``dropped``: the energy the PCA drops alone (no sparse code at all);
* ``motion``: the energy of the cuboid's time derivative (``gradients3d`` only; no model at all).

    python benchmarks/anomaly_score_probe.py --result results/anomaly/ucsd_ped2_frames/ista/seed0.json \\
        --prepared data/prepared/anomaly/ucsd_ped2_frames --dictionary results/anomaly/ucsd_ped2_frames/dictionary/seed0.pt
"""

from __future__ import annotations

import argparse
import json

import numpy as np
import torch

from dpbench.anomaly.datasets import load_prepared
from dpbench.anomaly.features import centre_offset, pad_frames
from dpbench.anomaly.scoring import _features, _training_set, minmax, moving_average, resolve_params
from dpbench.io import load_tensors
from dpbench.metrics import roc_auc
from dpbench.runtime import seed_everything
from dpbench.sparse import build_model
from dpbench.sparse.base import lasso_cost

WAYS = ("projected", "original", "dropped", "motion")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--result", required=True, help="the job's result JSON (its parameters, model and seed)")
    parser.add_argument("--prepared", required=True, help="the prepared dataset folder the job read")
    parser.add_argument("--dictionary", required=True, help="the job's dictionary file")
    args = parser.parse_args()

    job = json.loads(open(args.result).read())
    if job["model"] not in ("ista", "fista"):
        raise SystemExit(f"{args.result}: model {job['model']!r} is trained; this probe rebuilds only ISTA or FISTA")
    p = resolve_params(job["params"])
    data = load_prepared(args.prepared)
    train = _training_set(data, p, seed_everything(job["seed"]))  # the cuboids the job drew, hence its PCA
    D = load_tensors(args.dictionary)["D"]
    model = build_model(job["model"], D, p["lam"], p["n_layers"]).eval()
    motion_dims = p["depth"] * p["patch"] ** 2  # the d/dt block leads a gradients3d cuboid
    offset = centre_offset(p["feature"], p["depth"])

    scores: dict[str, list[np.ndarray]] = {way: [] for way in WAYS}
    with torch.no_grad():
        for clip in data.test:
            parts: dict[str, list[torch.Tensor]] = {way: [] for way in WAYS}
            for raw in _features(clip, p):
                x = train.transform(raw)
                flat = x.reshape(-1, x.shape[-1])
                cost = lasso_cost(flat, model(flat), D, p["lam"]).reshape(x.shape[:2])
                dropped = train.discarded(raw)
                per_cuboid = {"projected": cost, "original": cost + dropped, "dropped": dropped,
                              "motion": raw[..., :motion_dims].pow(2).sum(-1)}
                for way, values in per_cuboid.items():
                    parts[way].append(values.max(dim=1).values)
            for way in WAYS:
                frame = pad_frames(torch.cat(parts[way]).double().numpy(), offset, clip.shape[0])
                scores[way].append(moving_average(frame, p["smooth"]))
    labels = np.concatenate([np.asarray(lab) for lab in data.labels])
    print(f"{job['dataset']}, {job['model']}, seed {job['seed']}: frame AUC (raw / per-video normalised)")
    for way in WAYS:
        if way == "motion" and p["feature"] != "gradients3d":
            continue
        raw_auc = roc_auc(labels, np.concatenate(scores[way]))
        norm_auc = roc_auc(labels, np.concatenate([minmax(s) for s in scores[way]]))
        print(f"  {way:10s} {raw_auc:.3f} / {norm_auc:.3f}")


if __name__ == "__main__":
    main()
