CLUSTER_JOB = "clustering/{dataset}/{features}/{model}/init{n_init}/seed{seed}"
CLUSTER_DIR = f"{RESULTS}/{CLUSTER_JOB}"
# trains from one random initialisation, as TELL's code does (no n_init): run once, under init1
SINGLE_START_MODELS = {"kmeansnet_tell"}


def cluster_starts(model):
    """The starts settings (n_init) a model runs under: every configured one, or 1."""
    return [1] if model in SINGLE_START_MODELS else config["clustering"]["n_init"]


def clustering_results():
    cfg = config["clustering"]
    runs = [(d, "pixels") for d in cfg["datasets"]] + [(d, "resnet50") for d in cfg.get("cnn_features", [])]
    return [
        CLUSTER_DIR.format(dataset=d, features=f, model=m, n_init=n, seed=s) + "/metrics.json"
        for d, f in runs
        for m in cfg["models"]
        for n in cluster_starts(m)
        for s in task_seeds("clustering")
    ]


def cluster_hyperparameters(w):
    """The model's configured hyperparameters plus the job's n_init (models that restart)."""
    params = json.loads(hyperparameters("clustering", w.model))
    if w.model not in SINGLE_START_MODELS:
        params["n_init"] = int(w.n_init)
    return json.dumps(params, sort_keys=True)


TASK_RESULTS["clustering"] = clustering_results


rule cluster_fit:
    input:
        f"{DATA}/features/{{dataset}}/{{features}}.pt",
    output:
        f"{CLUSTER_DIR}/pred.pt",
    wildcard_constraints:
        n_init=r"\d+",
    params:
        hp=cluster_hyperparameters,
        device=config["device"],
    threads: 2  # torch/sklearn threads on CPU (OMP/MKL_NUM_THREADS); --cpus-per-task on SLURM
    resources:
        gpu=lambda w: 0 if w.model == "sklearn_kmeans" else 1,
    log:
        f"{RESULTS}/logs/{CLUSTER_JOB}/fit.log",
    benchmark:
        f"{RESULTS}/benchmarks/{CLUSTER_JOB}/fit.tsv"
    shell:
        "{DPBENCH} cluster-fit --features {input} --model {wildcards.model} --seed {wildcards.seed}"
        " --params '{params.hp}' --device {params.device} --output {output} 2> {log}"


rule cluster_evaluate:
    input:
        pred=rules.cluster_fit.output,
        features=f"{DATA}/features/{{dataset}}/{{features}}.pt",
    output:
        f"{CLUSTER_DIR}/metrics.json",
    log:
        f"{RESULTS}/logs/{CLUSTER_JOB}/evaluate.log",
    shell:
        "{DPBENCH} cluster-evaluate --pred {input.pred} --features {input.features} --dataset {wildcards.dataset}"
        " --feature-kind {wildcards.features} --model {wildcards.model} --seed {wildcards.seed} --output {output} 2> {log}"
