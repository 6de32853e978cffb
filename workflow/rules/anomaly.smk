ANOMALY_JOB = "anomaly/{dataset}/{variant}/{model}/seed{seed}"
ANOMALY_PREPARED = f"{DATA}/prepared/anomaly/{{dataset}}"  # anomaly-prepare's folder; manifest.json is written last
# the names of datasets and variants (a model's name may hold brackets, so it is left free)
ANOMALY_WILDCARDS = {"dataset": "[a-z0-9_]+", "variant": "[a-z0-9_]+"}


def anomaly_prepared_dir(wildcards):
    return ANOMALY_PREPARED.format(dataset=wildcards.dataset)


def anomaly_raw_dir(wildcards):
    """The folder anomaly-prepare reads a dataset from (dpbench.tasks.jobs.anomaly_raw_dir)."""
    return jobs.anomaly_raw_dir(config, wildcards.dataset)


def anomaly_params(wildcards):
    """The job's --params: the variant's hyperparameters plus the model's options, as JSON."""
    return jobs.dumps(jobs.anomaly_params(config, wildcards.model, wildcards.variant))


def anomaly_pipeline(wildcards):
    return jobs.anomaly_pipeline(config, wildcards.variant)


def anomaly_is_floor(model):
    """Whether a model is an anomaly detector with no encoder (the floor: no features, no dictionary)."""
    return registry.model_spec(model).family == "detector"


def anomaly_features_file(dataset, variant, seed):
    """The motion fusion / backbone / patch vectors (anomalynet) or Lu et al.'s cuboids (lu2013) of a seed."""
    return f"{RESULTS}/anomaly/{dataset}/{variant}/features/seed{seed}.pt"


def anomaly_dictionary_file(dataset, variant, seed):
    """The dictionary every model of a seed shares on a dataset and variant."""
    return f"{RESULTS}/anomaly/{dataset}/{variant}/dictionary/seed{seed}.pt"


def anomaly_features_input(wildcards):
    """The features file a dictionary or coder job reads: none for the cuboids pipeline."""
    if anomaly_pipeline(wildcards) == "cuboids":
        return []
    return anomaly_features_file(wildcards.dataset, wildcards.variant, wildcards.seed)


def anomaly_run_inputs(wildcards):
    """What an anomaly job reads: the prepared clips, and for a coder its dictionary (and features file)."""
    inputs = {"prepared": ANOMALY_PREPARED.format(dataset=wildcards.dataset) + "/manifest.json"}
    if not anomaly_is_floor(wildcards.model):
        inputs["dictionary"] = anomaly_dictionary_file(wildcards.dataset, wildcards.variant, wildcards.seed)
        inputs["features"] = anomaly_features_input(wildcards)
    return inputs


def anomaly_run_files(wildcards, input):
    """The --dictionary / --features options of an anomaly job (none for the floor)."""
    files = [(k, input[k]) for k in ("dictionary", "features") if k in input.keys() and input[k]]
    return " ".join(f"--{k} {shlex.quote(str(path))}" for k, path in files)


def anomaly_raw(wildcards):
    """The folder anomaly-prepare reads: a download, the generated video, or a frames folder read in place."""
    return anomaly_raw_dir(wildcards)


def anomaly_results():
    cfg = config["anomaly"]
    return [
        f"{RESULTS}/{ANOMALY_JOB}.json".format(dataset=d, variant=name, model=m, seed=s)
        for d in cfg["datasets"]
        for name, variant in jobs.anomaly_variants(config).items()
        for m in variant["models"]
        for s in variant["seeds"]
    ]


TASK_RESULTS["anomaly"] = anomaly_results


def anomaly_figure_files():
    return [
        f"{RESULTS}/figures/anomaly_{kind}_{dataset}-{variant}.{ext}"
        for dataset in config["anomaly"]["datasets"]
        for variant in jobs.anomaly_variants(config)
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


rule anomaly_features:
    """The features of an anomalynet or lu2013 variant (backbone, patch vectors), once per seed for every model."""
    input:
        f"{ANOMALY_PREPARED}/manifest.json",
    output:
        anomaly_features_file("{dataset}", "{variant}", "{seed}"),
    log:
        f"{RESULTS}/logs/anomaly/{{dataset}}/{{variant}}/features/seed{{seed}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/anomaly/{{dataset}}/{{variant}}/features/seed{{seed}}.tsv"
    wildcard_constraints:
        **ANOMALY_WILDCARDS,
    conda:
        DPBENCH_ENV
    threads: 1
    resources:
        gpu=lambda w: int(anomaly_pipeline(w) == "anomalynet" and config["device"] != "cpu"),
    params:
        hp=lambda w: jobs.dumps(jobs.anomaly_dictionary_params(config, w.variant)),
        device=lambda w: job_device(anomaly_pipeline(w) == "anomalynet"),
        prepared=anomaly_prepared_dir,
    shell:
        "{DPBENCH} anomaly-features --dataset {wildcards.dataset} --prepared {params.prepared} --seed {wildcards.seed}"
        " --params '{params.hp}' --device {params.device} --output {output:q} 2> {log:q}"


rule anomaly_dictionary:
    """The dictionary learned on a dataset's normal training vectors, once per variant and seed for every model."""
    input:
        prepared=f"{ANOMALY_PREPARED}/manifest.json",
        features=anomaly_features_input,
    output:
        anomaly_dictionary_file("{dataset}", "{variant}", "{seed}"),
    log:
        f"{RESULTS}/logs/anomaly/{{dataset}}/{{variant}}/dictionary/seed{{seed}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/anomaly/{{dataset}}/{{variant}}/dictionary/seed{{seed}}.tsv"
    wildcard_constraints:
        **ANOMALY_WILDCARDS,
    conda:
        DPBENCH_ENV
    threads: 1
    params:
        hp=lambda w: jobs.dumps(jobs.anomaly_dictionary_params(config, w.variant)),
        prepared=anomaly_prepared_dir,
        features=lambda w, input: f"--features {shlex.quote(str(input.features))}" if input.features else "",
    shell:
        "{DPBENCH} anomaly-dictionary --dataset {wildcards.dataset} --prepared {params.prepared} --seed {wildcards.seed}"
        " --params '{params.hp}' {params.features} --output {output:q} 2> {log:q}"


rule anomaly_run:
    input:
        unpack(anomaly_run_inputs),
    output:
        result=f"{RESULTS}/{ANOMALY_JOB}.json",
        scores=f"{RESULTS}/{ANOMALY_JOB}.scores.csv",
    log:
        f"{RESULTS}/logs/{ANOMALY_JOB}.log",
    benchmark:
        f"{RESULTS}/benchmarks/{ANOMALY_JOB}.tsv"
    wildcard_constraints:
        **ANOMALY_WILDCARDS,
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
        files=anomaly_run_files,
    shell:
        "{DPBENCH} {params.speed} anomaly-run --dataset {wildcards.dataset} --prepared {params.prepared} --model {wildcards.model:q}"
        " --seed {wildcards.seed} --params '{params.hp}' --variant {wildcards.variant} {params.files} --device {params.device}"
        " --output {output.result:q} --scores-output {output.scores:q} 2> {log:q}"


rule anomaly_figures:
    input:
        lambda w: expand(
            f"{RESULTS}/anomaly/{w.dataset}/{w.variant}/{{model}}/seed{jobs.anomaly_variants(config)[w.variant]['seeds'][0]}.scores.csv",
            model=jobs.anomaly_variants(config)[w.variant]["models"],
        ),
    output:
        roc_pdf=f"{RESULTS}/figures/anomaly_roc_{{dataset}}-{{variant}}.pdf",
        roc_png=report(
            f"{RESULTS}/figures/anomaly_roc_{{dataset}}-{{variant}}.png",
            caption="../report/anomaly_roc.rst",
            category="Figures",
            subcategory="anomaly",
            labels={"figure": "ROC {dataset} ({variant})"},
        ),
        trace_pdf=f"{RESULTS}/figures/anomaly_trace_{{dataset}}-{{variant}}.pdf",
        trace_png=report(
            f"{RESULTS}/figures/anomaly_trace_{{dataset}}-{{variant}}.png",
            caption="../report/anomaly_trace.rst",
            category="Figures",
            subcategory="anomaly",
            labels={"figure": "score trace {dataset} ({variant})"},
        ),
    log:
        f"{RESULTS}/logs/figures/anomaly_{{dataset}}-{{variant}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/report/figures/anomaly_{{dataset}}-{{variant}}.tsv"
    wildcard_constraints:
        **ANOMALY_WILDCARDS,
    conda:
        DPBENCH_ENV
    shell:
        "{DPBENCH} anomaly-figures {input:q} --dataset '{wildcards.dataset} ({wildcards.variant})' --roc-pdf {output.roc_pdf:q}"
        " --roc-png {output.roc_png:q} --trace-pdf {output.trace_pdf:q} --trace-png {output.trace_png:q} 2> {log:q}"
