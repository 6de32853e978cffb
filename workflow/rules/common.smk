import json
import os
import sys
from importlib.resources import files

from snakemake.utils import validate

from dpbench.workflow_locks import release_stale_lock


validate(config, schema="../schemas/config.schema.yaml")

# a run killed hard leaves Snakemake's lock behind: rerunning the same command must just resume
release_stale_lock(os.getcwd())

# speed switches for every job, read by dpbench.runtime (TF32_ENV, COMPILE_ENV); recorded with each result
os.environ["DPBENCH_TF32"] = "1" if config.get("tf32", False) else "0"
os.environ["DPBENCH_COMPILE"] = "1" if config.get("compile", False) else "0"

# every rule calls the package's CLI with the interpreter that runs Snakemake
DPBENCH = f"{sys.executable} -m dpbench"
DATA = config["data_dir"]
RESULTS = config["results_dir"]
SEEDS = config["seeds"]
SUMMARY_CSV = f"{RESULTS}/summary.csv"
SUMMARY_PARQUET = f"{RESULTS}/summary.parquet"
# the published numbers set against ours (a file of the installed package)
REPORTED_CSV = str(files("dpbench.report") / "reported_results.csv")


def enabled(task):
    """Whether a task is switched on: its TASK_ENABLED hook, else its own config section's ``enabled``."""
    if task in TASK_ENABLED:
        return TASK_ENABLED[task]()
    return config.get(task, {}).get("enabled", False)


def task_seeds(task):
    """The seeds of a task: its own ``seeds`` list, or the global one."""
    return config[task].get("seeds", SEEDS)


def hyperparameters(task, model):
    """A model's hyperparameters as a JSON string (a params change reruns the job)."""
    return json.dumps(config[task].get("params", {}).get(model, {}), sort_keys=True)


def raw_dir(dataset):
    """Where a dataset's raw files live: mnist_test reads a local folder, the rest download."""
    if dataset == "mnist_test":
        return config["mnist_test_dir"]
    return f"{DATA}/raw/{dataset}"


# task name -> function listing that task's per-job result files; each rules file registers its own
TASK_RESULTS = {}
# optional hooks per task: whether it is on (tasks configured inside another section, e.g. images:),
# and outputs beyond the summary-based tables/figures (e.g. figures drawn from saved samples)
TASK_ENABLED = {}
TASK_EXTRA_OUTPUTS = {}


def enabled_tasks():
    return [task for task in TASK_RESULTS if enabled(task)]


def result_files():
    """Every per-job result file the enabled tasks produce."""
    return [path for task in enabled_tasks() for path in TASK_RESULTS[task]()]


def summary_figure_names():
    """Names of the figures drawn from summary.csv alone (dpbench.report.figures.FIGURES)."""
    from dpbench.report.figures import FIGURES

    return [name for figures in FIGURES.values() for name in figures]


def report_outputs():
    """The table and figures of every enabled task, the table of published numbers and the claims scorecard."""
    from dpbench.report.figures import FIGURES

    tables = [f"{RESULTS}/tables/{task}.tex" for task in enabled_tasks()]
    tables += [f"{RESULTS}/tables/{name}" for name in ("paper_comparison.tex", "claims.tex", "claims.html")] if tables else []
    figures = [
        f"{RESULTS}/figures/{name}.{ext}"
        for task in enabled_tasks()
        for name in FIGURES[task]
        for ext in ("pdf", "png")
    ]
    extra = [path for task in enabled_tasks() for path in TASK_EXTRA_OUTPUTS.get(task, list)()]
    return tables + figures + extra
