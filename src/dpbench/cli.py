"""Command-line interface: ``python -m dpbench <command> ...``.

The Snakemake rules call these commands; each command lives in the module that owns the logic
and registers itself through a ``register(subparsers)`` function listed in ``COMMAND_MODULES``.
"""

from __future__ import annotations

import argparse
import importlib
import json
import logging
import sys
from typing import Any

COMMAND_MODULES = [
    "dpbench.data.commands",
    "dpbench.tasks.clustering",
    "dpbench.tasks.anomaly",
    "dpbench.tasks.synthetic",
    "dpbench.tasks.images",
    "dpbench.report.commands",
]


class UserError(Exception):
    """An error caused by the user's input: printed as one clear line, no traceback."""


def parse_params(text: str) -> dict[str, Any]:
    """Parse a ``--params`` JSON object (hyperparameters passed by the workflow)."""
    try:
        params = json.loads(text)
    except json.JSONDecodeError as err:
        raise UserError(f"--params is not valid JSON: {err}") from err
    if not isinstance(params, dict):
        raise UserError(f"--params must be a JSON object, got {type(params).__name__}")
    return params


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="dpbench", description=__doc__)
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True)
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    from dpbench.gpu_slots import slot_for_args

    try:
        with slot_for_args(args):  # several GPUs, no SLURM: this job takes one (dpbench/gpu_slots.py)
            args.func(args)
    except (UserError, FileNotFoundError, ValueError) as err:
        print(f"dpbench {args.command}: error: {err}", file=sys.stderr)
        return 1
    return 0
