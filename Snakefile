# dpbench: the full reproduction by default (config.yaml); the quick preset with
#   snakemake --cores all --configfile workflow/presets/quick.yaml
from snakemake.utils import min_version

min_version("9.0")


configfile: "config.yaml"


report: "workflow/report/workflow.rst"


# snakemake --lint: what it still reports, and why it stays
# - "Shell command directly uses variable DPBENCH": the package's CLI, i.e. the software (pinned by
#   requirements.lock, deployed by workflow/envs/dpbench.yaml), not a parameter of a job.
# - "Mixed rules and functions in same snakefile": each task's rules file keeps the few functions
#   that list its jobs next to its rules, so that a task is one file.
include: "workflow/rules/common.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/clustering.smk"
include: "workflow/rules/images.smk"
include: "workflow/rules/synthetic.smk"
include: "workflow/rules/anomaly.smk"
include: "workflow/rules/report.smk"


# a local run imports PyTorch & co. once, in the job server, instead of once per job (dpbench.jobserver)
onstart:
    start_job_server()


onsuccess:
    stop_job_server()


onerror:
    stop_job_server()


rule all:
    default_target: True
    input:
        SUMMARY_CSV,
        report_outputs(),
