CLUSTER_JOB = "clustering/{dataset}/{features}/{model}/init{n_init}/seed{seed}"
CLUSTER_DIR = f"{RESULTS}/{CLUSTER_JOB}"


def clustering_results():
    # pixels, ResNet-50 features and the codes of TELL's pretrained autoencoders (dpbench.tasks.jobs.cluster_runs);
    # each model's seeds: clustering.model_seeds, else the task's
    return [
        CLUSTER_DIR.format(dataset=d, features=f, model=m, n_init=n, seed=s) + "/metrics.json"
        for d, f, m in jobs.cluster_runs(config)
        for n in jobs.cluster_starts(config, m)
        for s in jobs.cluster_seeds(config, m)
    ]


TASK_RESULTS["clustering"] = clustering_results


rule cluster_fit:
    input:
        f"{DATA}/features/{{dataset}}/{{features}}.pt",
    output:
        f"{CLUSTER_DIR}/pred.pt",
    log:
        f"{RESULTS}/logs/{CLUSTER_JOB}/fit.log",
    benchmark:
        f"{RESULTS}/benchmarks/{CLUSTER_JOB}/fit.tsv"
    wildcard_constraints:
        n_init=r"\d+",
    conda:
        DPBENCH_ENV
    # torch/sklearn threads on CPU (OMP/MKL_NUM_THREADS; --cpus-per-task on SLURM): clustering.threads
    threads: config["clustering"].get("threads", 2)
    resources:
        gpu=lambda w: int(needs_gpu(w.model)),
    params:
        hp=lambda w: jobs.dumps(jobs.cluster_params(config, w.model, w.n_init)),
        device=lambda w: job_device(needs_gpu(w.model)),
        speed=lambda w: speed_flags(needs_gpu(w.model)),
    shell:
        "{DPBENCH} {params.speed} cluster-fit --features {input:q} --model {wildcards.model:q} --seed {wildcards.seed}"
        " --params '{params.hp}' --device {params.device} --output {output:q} 2> {log:q}"


rule cluster_evaluate:
    input:
        pred=rules.cluster_fit.output,
        features=f"{DATA}/features/{{dataset}}/{{features}}.pt",
    output:
        f"{CLUSTER_DIR}/metrics.json",
    log:
        f"{RESULTS}/logs/{CLUSTER_JOB}/evaluate.log",
    benchmark:
        f"{RESULTS}/benchmarks/{CLUSTER_JOB}/evaluate.tsv"
    conda:
        DPBENCH_ENV
    shell:
        "{DPBENCH} cluster-evaluate --pred {input.pred:q} --features {input.features:q} --dataset {wildcards.dataset}"
        " --feature-kind {wildcards.features} --model {wildcards.model:q} --seed {wildcards.seed} --output {output:q} 2> {log:q}"


# TELL's Table 4: the codes of TELL's autoencoder, pretrained by reconstruction alone; its training state is kept
# next to the output (<output>.ae.ckpt), so that raising the epochs continues the pretraining
rule ae_features:
    input:
        rules.prepare.output,
    output:
        f"{DATA}/features/{{dataset}}/{{features}}.pt",
    log:
        f"{RESULTS}/logs/features/{{dataset}}/{{features}}.log",
    wildcard_constraints:
        features="ae_mlp|ae_conv",
    conda:
        DPBENCH_ENV
    threads: 2  # torch threads on CPU (OMP/MKL_NUM_THREADS); --cpus-per-task on SLURM
    resources:
        gpu=1,
    params:
        hp=lambda w: jobs.dumps(jobs.autoencoder_params(config, w.features)),
        device=lambda w: job_device(True),
        speed=lambda w: speed_flags(True),
    shell:
        "{DPBENCH} {params.speed} features --input {input:q} --kind {wildcards.features} --params '{params.hp}'"
        " --device {params.device} --output {output:q} 2> {log:q}"
