ANOMALY_JOB = "anomaly/{dataset}/{model}/seed{seed}"
ANOMALY_PREPARED = f"{DATA}/prepared/anomaly/{{dataset}}"  # anomaly-prepare's folder; manifest.json is written last


def anomaly_prepared_dir(wildcards):
    return ANOMALY_PREPARED.format(dataset=wildcards.dataset)


def anomaly_raw_dir(wildcards):
    """The folder anomaly-prepare reads a dataset from (dpbench.tasks.jobs.anomaly_raw_dir)."""
    return jobs.anomaly_raw_dir(config, wildcards.dataset)


def anomaly_params(wildcards):
    """The job's --params: the shared hyperparameters plus the model's options, as JSON."""
    return jobs.dumps(jobs.anomaly_params(config, wildcards.model))


def anomaly_dictionary_file(dataset, seed):
    """The dictionary every model of a seed shares on a dataset."""
    return f"{RESULTS}/anomaly/{dataset}/dictionary/seed{seed}.pt"


def anomaly_raw(wildcards):
    """The folder anomaly-prepare reads: a download, the generated video, or a frames folder read in place."""
    return anomaly_raw_dir(wildcards)


def anomaly_results():
    cfg = config["anomaly"]
    return [
        f"{RESULTS}/{ANOMALY_JOB}.json".format(dataset=d, model=m, seed=s)
        for d in cfg["datasets"]
        for m in cfg["models"]
        for s in task_seeds("anomaly")
    ]


TASK_RESULTS["anomaly"] = anomaly_results


def anomaly_figure_files():
    return [
        f"{RESULTS}/figures/anomaly_{kind}_{dataset}.{ext}"
        for dataset in config["anomaly"]["datasets"]
        for kind in ("roc", "trace")
        for ext in ("pdf", "png")
    ]


TASK_EXTRA_OUTPUTS["anomaly"] = anomaly_figure_files


localrules:
    anomaly_download,


rule anomaly_download:
    output:
        directory(f"{DATA}/raw/anomaly_{{source}}"),
    log:
        f"{RESULTS}/logs/anomaly/download_{{source}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/data/anomaly_download/{{source}}.tsv"
    wildcard_constraints:
        source="ucsd|avenue",
    retries: 3  # a dropped connection: the archive module left nothing behind, so just try again
    conda:
        DPBENCH_ENV
    shell:
        "{DPBENCH} anomaly-download --dataset {wildcards.source} --data-dir {output:q} 2> {log:q}"


rule anomaly_synthesize:
    output:
        directory(f"{DATA}/raw/anomaly_synthetic"),
    log:
        f"{RESULTS}/logs/anomaly/synthesize.log",
    benchmark:
        f"{RESULTS}/benchmarks/data/anomaly_synthesize.tsv"
    conda:
        DPBENCH_ENV
    params:
        video=lambda w: " ".join(jobs.anomaly_synth_args(config)),
    shell:
        "{DPBENCH} anomaly-synth --root {output:q} {params.video} 2> {log:q}"


rule anomaly_prepare:
    input:
        anomaly_raw,
    output:
        f"{ANOMALY_PREPARED}/manifest.json",
    log:
        f"{RESULTS}/logs/anomaly/prepare_{{dataset}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/data/anomaly_prepare/{{dataset}}.tsv"
    conda:
        DPBENCH_ENV
    params:
        prepared=anomaly_prepared_dir,
    shell:
        "{DPBENCH} anomaly-prepare --dataset {wildcards.dataset} --data-dir {input:q}"
        " --output {params.prepared} 2> {log:q}"


rule anomaly_dictionary:
    """The dictionary learned on a dataset's normal training cuboids, once per seed for every model."""
    input:
        f"{ANOMALY_PREPARED}/manifest.json",
    output:
        anomaly_dictionary_file("{dataset}", "{seed}"),
    log:
        f"{RESULTS}/logs/anomaly/{{dataset}}/dictionary/seed{{seed}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/anomaly/{{dataset}}/dictionary/seed{{seed}}.tsv"
    conda:
        DPBENCH_ENV
    threads: 1
    params:
        hp=lambda w: jobs.dumps(jobs.anomaly_dictionary_params(config)),
        prepared=anomaly_prepared_dir,
    shell:
        "{DPBENCH} anomaly-dictionary --dataset {wildcards.dataset} --prepared {params.prepared} --seed {wildcards.seed}"
        " --params '{params.hp}' --output {output:q} 2> {log:q}"


rule anomaly_run:
    input:
        prepared=f"{ANOMALY_PREPARED}/manifest.json",
        dictionary=anomaly_dictionary_file("{dataset}", "{seed}"),
    output:
        result=f"{RESULTS}/{ANOMALY_JOB}.json",
        scores=f"{RESULTS}/{ANOMALY_JOB}.scores.csv",
    log:
        f"{RESULTS}/logs/{ANOMALY_JOB}.log",
    benchmark:
        f"{RESULTS}/benchmarks/{ANOMALY_JOB}.tsv"
    conda:
        DPBENCH_ENV
    threads: 1
    resources:
        gpu=lambda w: int(needs_gpu(w.model)),
    params:
        hp=anomaly_params,
        device=lambda w: job_device(needs_gpu(w.model)),
        speed=lambda w: speed_flags(needs_gpu(w.model)),
        prepared=anomaly_prepared_dir,
    shell:
        "{DPBENCH} {params.speed} anomaly-run --dataset {wildcards.dataset} --prepared {params.prepared} --model {wildcards.model:q}"
        " --seed {wildcards.seed} --params '{params.hp}' --dictionary {input.dictionary:q} --device {params.device}"
        " --output {output.result:q} --scores-output {output.scores:q} 2> {log:q}"


rule anomaly_figures:
    input:
        lambda w: expand(
            f"{RESULTS}/anomaly/{w.dataset}/{{model}}/seed{task_seeds('anomaly')[0]}.scores.csv",
            model=config["anomaly"]["models"],
        ),
    output:
        roc_pdf=f"{RESULTS}/figures/anomaly_roc_{{dataset}}.pdf",
        roc_png=report(
            f"{RESULTS}/figures/anomaly_roc_{{dataset}}.png",
            caption="../report/anomaly_roc.rst",
            category="Figures",
            subcategory="anomaly",
            labels={"figure": "ROC {dataset}"},
        ),
        trace_pdf=f"{RESULTS}/figures/anomaly_trace_{{dataset}}.pdf",
        trace_png=report(
            f"{RESULTS}/figures/anomaly_trace_{{dataset}}.png",
            caption="../report/anomaly_trace.rst",
            category="Figures",
            subcategory="anomaly",
            labels={"figure": "score trace {dataset}"},
        ),
    log:
        f"{RESULTS}/logs/figures/anomaly_{{dataset}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/report/figures/anomaly_{{dataset}}.tsv"
    conda:
        DPBENCH_ENV
    shell:
        "{DPBENCH} anomaly-figures {input:q} --dataset {wildcards.dataset} --roc-pdf {output.roc_pdf:q}"
        " --roc-png {output.roc_png:q} --trace-pdf {output.trace_pdf:q} --trace-png {output.trace_png:q} 2> {log:q}"
