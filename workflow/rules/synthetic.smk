from dpbench.tasks.synthetic_grid import dataset_name

SYNTHETIC_RESULT = f"{RESULTS}/synthetic/{{dataset}}/{{model}}/seed{{seed}}.json"


def synthetic_params(wildcards):
    """The job's --params: the problem, its noise level and the model's options, as JSON."""
    return jobs.dumps(jobs.synthetic_params(config, wildcards.dataset, wildcards.model))


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
        gpu=lambda w: int(needs_gpu(w.model)),
    params:
        hp=synthetic_params,
        device=lambda w: job_device(needs_gpu(w.model)),
        speed=lambda w: speed_flags(needs_gpu(w.model)),
    shell:
        "{DPBENCH} {params.speed} synthetic --model {wildcards.model:q} --seed {wildcards.seed} --dataset {wildcards.dataset}"
        " --params '{params.hp}' --device {params.device} --output {output:q} 2> {log:q}"
