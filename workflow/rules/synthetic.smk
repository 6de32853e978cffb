from dpbench.tasks.synthetic_grid import dataset_name, job_params

SYNTHETIC_RESULT = f"{RESULTS}/synthetic/{{dataset}}/{{model}}/seed{{seed}}.json"


def synthetic_params(wildcards):
    """The job's --params: the problem, its noise level and the model's options, as JSON."""
    cfg = config["synthetic"]
    snr = {dataset_name(s): s for s in cfg["snr_db"]}[wildcards.dataset]
    return json.dumps(job_params(cfg, snr, wildcards.model), sort_keys=True)


def synthetic_results():
    cfg = config["synthetic"]
    return [
        SYNTHETIC_RESULT.format(dataset=dataset_name(s), model=m, seed=seed)
        for s in cfg["snr_db"]
        for m in cfg["models"]
        for seed in task_seeds("synthetic")
    ]


TASK_RESULTS["synthetic"] = synthetic_results


rule synthetic:
    output:
        SYNTHETIC_RESULT,
    log:
        f"{RESULTS}/logs/synthetic/{{dataset}}/{{model}}/seed{{seed}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/synthetic/{{dataset}}/{{model}}/seed{{seed}}.tsv"
    conda:
        DPBENCH_ENV
    threads: 1
    resources:
        gpu=lambda w: 0 if w.model in ("ista", "fista") else 1,
    params:
        hp=synthetic_params,
        device=config["device"],
    shell:
        "{DPBENCH} synthetic --model {wildcards.model} --seed {wildcards.seed} --dataset {wildcards.dataset}"
        " --params '{params.hp}' --device {params.device} --output {output} 2> {log}"
