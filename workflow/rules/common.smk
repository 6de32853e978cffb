import json
import os
import shlex
import sys
from importlib.resources import files

from snakemake.exceptions import WorkflowError
from snakemake.settings.types import DeploymentMethod
from snakemake.utils import validate

from dpbench import registry
from dpbench.external import MODELS_ENV
from dpbench.params import JOBS_PER_GPU_ENV, UserError
from dpbench.tasks import jobs
from dpbench.report.specs import TASKS
from dpbench.workflow_recovery import recover_interrupted_run

# parsing imports neither PyTorch nor the plotting stack: every SLURM job step parses this file again
# (unless the config names a model class of your own: importing it is how its entry is read)

# the schema checks the config's form, the registry the models it names (registered, or classes of
# the user's own code, package.module:Class), before any job is scheduled
validate(config, schema="../schemas/config.schema.yaml")
try:
    registry.check_config_models(config)
except UserError as err:
    raise WorkflowError(f"invalid config: {err}") from None
# the models: section reaches every job (labels in the report, a class's settings in its jobs), and each
# class it names runs in every task it declares (after the task's own models)
os.environ[MODELS_ENV] = json.dumps(config.get("models") or {}, sort_keys=True)
jobs.add_declared_models(config)

# a run killed hard leaves Snakemake's lock behind, and the jobs it was running marked incomplete (one that
# wrote its output just before the kill would make Snakemake refuse to start): rerunning the same command
# must just resume. Only the main process may recover: a SLURM job step parses this file on a compute
# node, where /proc cannot see the live Snakemake on the login node, and would delete its lock. A dry run
# removes no output (Snakemake then names the marked ones)
if workflow.is_main_process:
    recover_interrupted_run(os.getcwd(), dry_run=workflow.output_settings.dryrun)

# many small jobs per GPU: every GPU job holds one slot (resources gpu=1; run with --resources gpu=<GPUs x
# slots_per_gpu>), and dpbench.gpu_slots, in each job, hands out slots_per_gpu slots per visible GPU. An
# environment variable, not a job parameter: how many jobs share a GPU changes no result
os.environ[JOBS_PER_GPU_ENV] = str(config["slots_per_gpu"])

# every rule's software under --sdm conda: Python from conda-forge, then requirements.lock (relative to workflow/rules/)
DPBENCH_ENV = "../envs/dpbench.yaml"
# every rule calls the package's CLI: the conda environment's python under --sdm conda, else the interpreter that
# runs Snakemake. (snakemake --lint: "Shell command directly uses variable DPBENCH" - it is the software, which the
# lock file pins, not a parameter of a job.)
DPBENCH = (
    "python -m dpbench"
    if DeploymentMethod.CONDA in workflow.deployment_settings.deployment_method
    else f"{sys.executable} -m dpbench"
)
DATA = config["data_dir"]
RESULTS = config["results_dir"]
SUMMARY_CSV = f"{RESULTS}/summary.csv"
SUMMARY_PARQUET = f"{RESULTS}/summary.parquet"
# the published numbers set against ours (a file of the installed package)
REPORTED_CSV = str(files("dpbench.report") / "reported_results.csv")


JOB_SERVER = None  # the running job server (dpbench.jobserver.Handle), if any


def start_job_server():
    """On a local run (not under --sdm conda, not on a cluster executor) unless the config's
    ``job_server`` is false: start the job server and point every job at it."""
    global JOB_SERVER
    under_conda = DeploymentMethod.CONDA in workflow.deployment_settings.deployment_method
    if (
        not config.get("job_server", True)
        or under_conda
        or not workflow.local_exec
        or workflow.touch
        or not workflow.is_main_process
    ):
        return
    from dpbench import jobserver

    JOB_SERVER = jobserver.start(f"{RESULTS}/logs/job_server.log")
    os.environ[jobserver.SOCKET_ENV] = JOB_SERVER.path


def stop_job_server():
    if JOB_SERVER is not None:
        JOB_SERVER.stop()


def enabled(task):
    """Whether a task is switched on: its TASK_ENABLED hook, else its own config section's ``enabled``."""
    if task in TASK_ENABLED:
        return TASK_ENABLED[task]()
    return config.get(task, {}).get("enabled", False)


def task_seeds(task):
    """The seeds of a task: its own ``seeds`` list, or the global one."""
    return jobs.task_seeds(config, task)


def needs_gpu(model):
    """Whether a model's jobs take a GPU (dpbench.registry); the rest run on the CPU, always."""
    return registry.model_spec(model).needs_gpu


def job_device(gpu):
    """The ``--device`` of a job: the configured device if it takes a GPU (``gpu=1``), else ``cpu``."""
    return config["device"] if gpu else "cpu"


def speed_flags(gpu):
    """``--tf32``/``--compile``/``--cuda-graphs`` of a job that runs on the configured device, as a ``params:``
    entry (so that changing one reruns the jobs it affects and never mixes results in one summary)."""
    switches = {"tf32": "--tf32", "compile": "--compile", "cuda_graphs": "--cuda-graphs"}
    return " ".join(flag for key, flag in switches.items() if gpu and config.get(key, False))


def raw_dir(dataset):
    """Where a dataset's raw files live: mnist_test reads a local folder, the rest download."""
    return jobs.raw_dir(config, dataset)


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
    """Names of the figures drawn from summary.csv alone (dpbench.report.specs.TASKS)."""
    return [name for spec in TASKS.values() for name in spec.figures]


def report_outputs():
    """The table and figures of every enabled task, the table of published numbers and the claims scorecard."""
    tables = [f"{RESULTS}/tables/{task}.tex" for task in enabled_tasks()]
    tables += (
        [f"{RESULTS}/tables/{name}" for name in ("paper_comparison.tex", "claims.tex", "claims.html")] if tables else []
    )
    figures = [
        f"{RESULTS}/figures/{name}.{ext}"
        for task in enabled_tasks()
        for name in TASKS[task].figures
        for ext in ("pdf", "png")
    ]
    extra = [path for task in enabled_tasks() for path in TASK_EXTRA_OUTPUTS.get(task, list)()]
    return tables + figures + extra
