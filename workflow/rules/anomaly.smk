ANOMALY_JOB = "anomaly/{dataset}/{model}/seed{seed}"
ANOMALY_PREPARED = f"{DATA}/prepared/anomaly/{{dataset}}"  # anomaly-prepare's folder; manifest.json is written last


def anomaly_prepared_dir(wildcards):
    return ANOMALY_PREPARED.format(dataset=wildcards.dataset)


ANOMALY_SOURCE = {"ucsd_ped1": "ucsd", "ucsd_ped2": "ucsd", "avenue": "avenue", "synthetic": "synthetic"}
# datasets in the common frames layout, read in place from a folder of the config (no download)
ANOMALY_FRAMES_DIR = {"ucsd_ped2_frames": "ped2_frames_dir", "avenue_frames": "avenue_frames_dir"}


def anomaly_raw_dir(wildcards):
    """The folder anomaly-prepare reads a dataset from."""
    if wildcards.dataset in ANOMALY_FRAMES_DIR:
        key = ANOMALY_FRAMES_DIR[wildcards.dataset]
        if key not in config["anomaly"]:
            raise ValueError(f"dataset {wildcards.dataset} needs anomaly.{key} (its frames folder) in the config")
        return config["anomaly"][key]
    return f"{DATA}/raw/anomaly_{ANOMALY_SOURCE[wildcards.dataset]}"


def anomaly_params(wildcards):
    """The job's --params: the shared hyperparameters plus the model's options, as JSON."""
    cfg = config["anomaly"]
    options = cfg.get("model_options", {}).get(wildcards.model, {})
    return json.dumps({**cfg.get("params", {}), "model_options": options}, sort_keys=True)


def anomaly_dictionary_file(dataset, seed):
    """The dictionary every model of a seed shares on a dataset."""
    return f"{RESULTS}/anomaly/{dataset}/dictionary/seed{seed}.pt"


def anomaly_raw(wildcards):
    """The download (or generation) marker of a dataset's raw clips (none for a frames folder)."""
    if wildcards.dataset in ANOMALY_FRAMES_DIR:
        return []
    source = ANOMALY_SOURCE[wildcards.dataset]
    if source == "synthetic":
        return f"{DATA}/raw/anomaly_synthetic/.synthetic.done"
    return f"{DATA}/raw/anomaly_{source}/.{source}.done"


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
        f"{DATA}/raw/anomaly_{{source}}/.{{source}}.done",
    wildcard_constraints:
        source="ucsd|avenue",
    log:
        f"{RESULTS}/logs/anomaly/download_{{source}}.log",
    shell:
        "{DPBENCH} anomaly-download --dataset {wildcards.source} --data-dir {DATA}/raw/anomaly_{wildcards.source} 2> {log}"


rule anomaly_synthesize:
    output:
        f"{DATA}/raw/anomaly_synthetic/.synthetic.done",
    params:
        video=lambda w: " ".join(f"--{k.replace('_', '-')} {v}" for k, v in config["anomaly"].get("synthetic_video", {}).items()),
    log:
        f"{RESULTS}/logs/anomaly/synthesize.log",
    shell:
        "{DPBENCH} anomaly-synth --root {DATA}/raw/anomaly_synthetic {params.video} 2> {log} && touch {output}"


rule anomaly_prepare:
    input:
        anomaly_raw,
    output:
        f"{ANOMALY_PREPARED}/manifest.json",
    params:
        raw=anomaly_raw_dir,
    log:
        f"{RESULTS}/logs/anomaly/prepare_{{dataset}}.log",
    shell:
        "{DPBENCH} anomaly-prepare --dataset {wildcards.dataset} --data-dir {params.raw}"
        " --output {DATA}/prepared/anomaly/{wildcards.dataset} 2> {log}"


rule anomaly_dictionary:
    """The dictionary learned on a dataset's normal training cuboids, once per seed for every model."""
    input:
        f"{ANOMALY_PREPARED}/manifest.json",
    output:
        anomaly_dictionary_file("{dataset}", "{seed}"),
    params:
        hp=lambda w: json.dumps(config["anomaly"].get("params", {}), sort_keys=True),
        prepared=anomaly_prepared_dir,
    threads: 1
    log:
        f"{RESULTS}/logs/anomaly/{{dataset}}/dictionary/seed{{seed}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/anomaly/{{dataset}}/dictionary/seed{{seed}}.tsv"
    shell:
        "{DPBENCH} anomaly-dictionary --dataset {wildcards.dataset} --prepared {params.prepared} --seed {wildcards.seed}"
        " --params '{params.hp}' --output {output} 2> {log}"


rule anomaly_run:
    input:
        prepared=f"{ANOMALY_PREPARED}/manifest.json",
        dictionary=anomaly_dictionary_file("{dataset}", "{seed}"),
    output:
        result=f"{RESULTS}/{ANOMALY_JOB}.json",
        scores=f"{RESULTS}/{ANOMALY_JOB}.scores.csv",
    params:
        hp=anomaly_params,
        device=config["device"],
        prepared=anomaly_prepared_dir,
    threads: 1
    resources:
        gpu=1,
    log:
        f"{RESULTS}/logs/{ANOMALY_JOB}.log",
    benchmark:
        f"{RESULTS}/benchmarks/{ANOMALY_JOB}.tsv"
    shell:
        "{DPBENCH} anomaly-run --dataset {wildcards.dataset} --prepared {params.prepared} --model {wildcards.model}"
        " --seed {wildcards.seed} --params '{params.hp}' --dictionary {input.dictionary} --device {params.device}"
        " --output {output.result} --scores-output {output.scores} 2> {log}"


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
    shell:
        "{DPBENCH} anomaly-figures {input} --dataset {wildcards.dataset} --roc-pdf {output.roc_pdf}"
        " --roc-png {output.roc_png} --trace-pdf {output.trace_pdf} --trace-png {output.trace_png} 2> {log}"
