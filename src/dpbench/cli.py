"""Command-line interface: ``python -m dpbench <command> ...``.

The Snakemake rules call these commands; each command lives in the module that owns the logic
and registers itself through that module's ``register(subparsers)`` function. ``COMMANDS`` maps
each command to its module, so a job imports only the module it runs (a training job need not
import the plotting stack, nor a plotting job PyTorch): start-up time counts, once per job.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys

from dpbench.params import COMPILE_ENV, GRAPHS_ENV, TF32_ENV

_DATA, _REPORT = "dpbench.data.commands", "dpbench.report.commands"
_ANOMALY, _IMAGES = "dpbench.tasks.anomaly", "dpbench.tasks.images"
COMMANDS: dict[str, str] = {
    "download": _DATA,
    "prepare": _DATA,
    "features": _DATA,
    "cluster-fit": "dpbench.tasks.clustering",
    "cluster-evaluate": "dpbench.tasks.clustering",
    "synthetic": "dpbench.tasks.synthetic",
    "images-dictionary": _IMAGES,
    "images-run": _IMAGES,
    "images-cnn-features": _IMAGES,
    "images-error-figure": "dpbench.report.image_figures",
    "anomaly-synth": _ANOMALY,
    "anomaly-download": _ANOMALY,
    "anomaly-prepare": _ANOMALY,
    "anomaly-features": _ANOMALY,
    "anomaly-dictionary": _ANOMALY,
    "anomaly-run": _ANOMALY,
    "aggregate": _REPORT,
    "table": _REPORT,
    "paper-table": _REPORT,
    "figure": _REPORT,
    "anomaly-figures": _REPORT,
    "claims": "dpbench.report.scorecard",
    "record": "dpbench.report.records",
    "results-doc": "dpbench.report.results_doc",
    "config-doc": "dpbench.report.config_doc",
    "estimate": "dpbench.estimate",
    "run": "dpbench.run_cell",
}



def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The parser with every command, or only the commands of ``command``'s module."""
    parser = argparse.ArgumentParser(prog="dpbench", description=__doc__)
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    parser.add_argument("--tf32", action="store_true", help="TF32 matmuls and convolutions on CUDA (config: tf32)")
    parser.add_argument("--compile", action="store_true", help="torch.compile the training steps (config: compile)")
    parser.add_argument("--cuda-graphs", action="store_true",
                        help="replay the training steps as CUDA graphs on a GPU; eager on the CPU (config: cuda_graphs)")
    sub = parser.add_subparsers(dest="command", required=True)
    modules = [COMMANDS[command]] if command in COMMANDS else dict.fromkeys(COMMANDS.values())
    for name in modules:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    command = next((a for a in argv if not a.startswith("-")), None)
    args = build_parser(command).parse_args(argv)
    # the command line decides, never a variable left in the caller's environment
    os.environ[TF32_ENV] = "1" if args.tf32 else "0"
    os.environ[COMPILE_ENV] = "1" if args.compile else "0"
    os.environ[GRAPHS_ENV] = "1" if args.cuda_graphs else "0"
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    from dpbench.gpu_slots import slot_for_args

    try:
        with slot_for_args(args):  # several GPUs, no SLURM: this job takes one (dpbench/gpu_slots.py)
            args.func(args)
    except (FileNotFoundError, ValueError) as err:  # UserError is a ValueError
        print(f"dpbench {args.command}: error: {err}", file=sys.stderr)
        return 1
    return 0
