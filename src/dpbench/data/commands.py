"""CLI commands for data: ``download``, ``prepare`` and ``features``."""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

from dpbench.data.datasets import DATASETS, copy_local_mnist, load_prepared, prepare_dataset
from dpbench.data.features import FEATURES, TRAINED_FEATURES, WeightsUnavailableError, extract_features
from dpbench.io import save_tensors
from dpbench.params import UserError, parse_params
from dpbench.runtime import resolve_device

log = logging.getLogger(__name__)


def _download(args: argparse.Namespace) -> None:
    """Fetch the raw files into their folder (torchvision verifies their checksums)."""
    raw = Path(args.raw_dir)
    raw.mkdir(parents=True, exist_ok=True)  # the workflow's output, also for datasets that ship with a package
    if args.local_dir and args.dataset == "mnist":
        copy_local_mnist(args.local_dir, raw)
    try:
        DATASETS[args.dataset](raw, True)
    except (FileNotFoundError, ValueError):
        raise
    except Exception as err:  # URLError, checksum RuntimeError from torchvision, ...
        raise UserError(
            f"could not download dataset {args.dataset!r} into {raw}: {type(err).__name__}: {err}. "
            "Without network, copy the dataset's files into that folder and rerun."
        ) from err


def _prepare(args: argparse.Namespace) -> None:
    prepare_dataset(args.dataset, args.raw_dir, args.output, download=False)


def _features(args: argparse.Namespace) -> None:
    data = load_prepared(args.input)
    params = parse_params(args.params)
    # a trained kind keeps its training state next to its output: a longer pretraining continues it
    checkpoint = f"{args.output}.ae.ckpt" if args.kind in TRAINED_FEATURES else None
    try:
        feats, meta = extract_features(data, args.kind, resolve_device(args.device), pretrained=not args.random_weights,
                                       params=params, checkpoint=checkpoint)
    except WeightsUnavailableError as err:
        raise UserError(str(err)) from err
    except ValueError as err:
        raise UserError(f"features {args.kind!r} of {args.input}: {err}") from err
    out = {"features": feats, "labels": data.labels, "meta_json": json.dumps(meta)}
    if data.groups is not None:  # clustered group by group (cifar100_per_superclass)
        out["groups"] = data.groups
    save_tensors(args.output, out)
    log.info("wrote %s: %d x %d %s features", args.output, *feats.shape, args.kind)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("download", help="download a dataset's raw files (checksummed)")
    p.add_argument("--dataset", required=True, choices=sorted(DATASETS))
    p.add_argument("--raw-dir", required=True)
    p.add_argument("--local-dir", help="mnist: a folder with the official files, used instead of the network when complete")
    p.set_defaults(func=_download)

    p = sub.add_parser("prepare", help="cache a downloaded dataset as one tensor file")
    p.add_argument("--dataset", required=True, choices=sorted(DATASETS))
    p.add_argument("--raw-dir", required=True)
    p.add_argument("--output", required=True)
    p.set_defaults(func=_prepare)

    p = sub.add_parser("features", help="extract features (pixels or CNN) from a prepared dataset")
    p.add_argument("--input", required=True, help="prepared dataset file")
    p.add_argument("--kind", required=True, choices=FEATURES)
    p.add_argument("--device", default="auto")
    p.add_argument("--random-weights", action="store_true", help="random CNN weights (tests only)")
    p.add_argument("--params", default="{}", help="ae_mlp / ae_conv: the pretraining's epochs, batch_size, seed, checkpoint_every (JSON)")
    p.add_argument("--output", required=True)
    p.set_defaults(func=_features)
