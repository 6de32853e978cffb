# dpbench: the full reproduction by default (config.yaml); the quick preset with
#   snakemake --cores all --configfile workflow/presets/quick.yaml
from snakemake.utils import min_version

min_version("9.0")


configfile: "config.yaml"


report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/clustering.smk"
include: "workflow/rules/images.smk"
include: "workflow/rules/synthetic.smk"
include: "workflow/rules/anomaly.smk"
include: "workflow/rules/report.smk"


rule all:
    input:
        SUMMARY_CSV,
        report_outputs(),
    default_target: True
