# Image tasks of the sparse coders (dpbench.tasks.images): classification_unsupervised,
# classification_supervised and reconstruction, each over the depth sweep images.layers.
#   {model} is a result name: a model or a variant (lista[tied=true]), + "+learned_D" when its dictionary
#   is learned with it (images.learn_dictionary; dpbench.tasks.jobs.images_result_names)
#   dictionary (dataset, seed) -> images_run (dataset, model, seed): reconstruction, code classification and
#   supervised classification (labelled datasets), each over the depth sweep
#   saved reconstructions of the first test items -> reconstruction_errors_<dataset> figure
IMAGES_REL = "images/{dataset}/{model}/seed{seed}"  # for logs and benchmarks
IMAGES_DIR = f"{RESULTS}/images/{{dataset}}"
IMAGES_JOB = f"{RESULTS}/{IMAGES_REL}"
IMAGE_TASKS = ["classification_unsupervised", "classification_supervised", "reconstruction"]
LABELLED_IMAGE_DATASETS = [d for d in registry.dataset_names("images") if registry.DATASETS[d].labelled]
UNLABELLED_IMAGE_DATASETS = [d for d in registry.dataset_names("images") if not registry.DATASETS[d].labelled]


def images_cfg():
    return config.get("images", {})


def images_task_on(task):
    cfg = images_cfg()
    return cfg.get("enabled", False) and task in cfg.get("tasks", IMAGE_TASKS)


def images_datasets(labelled_only=False):
    return [d for d in images_cfg().get("datasets", []) if not (labelled_only and d in UNLABELLED_IMAGE_DATASETS)]


def images_layers():
    return jobs.images_layers(config)


def images_prepared(w):
    return [] if w.dataset in UNLABELLED_IMAGE_DATASETS else f"{DATA}/prepared/{w.dataset}.pt"


def images_prepared_arg(w):
    return f"--prepared {DATA}/prepared/{w.dataset}.pt" if images_prepared(w) else ""


def images_job_inputs(w):
    inputs = {"dictionary": f"{RESULTS}/images/{w.dataset}/dictionary/seed{w.seed}.pt"}
    if images_prepared(w):
        inputs["prepared"] = images_prepared(w)
    return inputs


def images_data_params(w):
    return jobs.dumps(jobs.images_data_params(config, w.dataset))


def images_dict_params():
    return jobs.dumps(jobs.images_dict_params(config))


def images_models():
    """The result names of the image jobs (dpbench.tasks.jobs.images_result_names)."""
    return jobs.images_result_names(config)


def images_encoder(w):
    """The model (or variant) of a result name: without the learned-dictionary suffix."""
    return jobs.images_split_label(w.model)[0]


def images_train_params(w):
    return jobs.dumps(jobs.images_train_params(config, w.model))


OUTPUT_FLAGS = {
    "recon": "--reconstruction-output",
    "samples": "--samples-output",
    "cls": "--classification-output",
    "sup": "--supervised-output",
}


def images_job_outputs(labelled):
    """The outputs of one job: only the enabled tasks (reconstruction also saves the error-map samples)."""
    outputs = {}
    if images_task_on("reconstruction"):
        outputs |= {"recon": f"{IMAGES_JOB}/reconstruction.json", "samples": f"{IMAGES_JOB}/samples.pt"}
    if labelled and images_task_on("classification_unsupervised"):
        outputs["cls"] = f"{IMAGES_JOB}/classification_unsupervised.json"
    if labelled and images_task_on("classification_supervised"):
        outputs["sup"] = f"{IMAGES_JOB}/classification_supervised.json"
    # a rule needs an output even when no task of its kind is on (it is then never scheduled)
    return outputs or {"none": f"{IMAGES_JOB}/{'labelled' if labelled else 'unlabelled'}.unused"}


def images_output_args(w, output):
    return " ".join(f"{flag} {shlex.quote(output[key])}" for key, flag in OUTPUT_FLAGS.items() if key in output.keys())


def images_results(task, name):
    def files():
        datasets = images_datasets(labelled_only=task != "reconstruction")
        return [
            os.path.join(IMAGES_JOB.format(dataset=d, model=m, seed=s), name)
            for d in datasets
            for m in images_models()
            for s in task_seeds("images")
        ]

    return files


def images_error_figures():
    return [f"{RESULTS}/figures/reconstruction_errors_{d}.{ext}" for d in images_datasets() for ext in ("pdf", "png")]


for _task, _file in zip(
    IMAGE_TASKS, ["classification_unsupervised.json", "classification_supervised.json", "reconstruction.json"]
):
    TASK_RESULTS[_task] = images_results(_task, _file)
    TASK_ENABLED[_task] = lambda _task=_task: images_task_on(_task)
TASK_EXTRA_OUTPUTS["reconstruction"] = images_error_figures


# the per-dataset error-map figure is drawn from saved samples, not from summary.csv
ruleorder: images_error_figure > figure


rule images_dictionary:
    input:
        prepared=images_prepared,
    output:
        f"{IMAGES_DIR}/dictionary/seed{{seed}}.pt",
    log:
        f"{RESULTS}/logs/images/{{dataset}}/dictionary/seed{{seed}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/images/{{dataset}}/dictionary/seed{{seed}}.tsv"
    conda:
        DPBENCH_ENV
    threads: 1
    params:
        prepared=images_prepared_arg,
        data=images_data_params,
        dp=lambda w: images_dict_params(),
    shell:
        "{DPBENCH} images-dictionary --dataset {wildcards.dataset} {params.prepared} --data-params '{params.data}'"
        " --dict-params '{params.dp}' --seed {wildcards.seed} --threads {threads} --output {output:q} 2> {log:q}"


rule images_run:
    """One (dataset, model, seed): every enabled image task over the depth sweep (labelled datasets)."""
    input:
        unpack(images_job_inputs),
    output:
        **images_job_outputs(labelled=True),
    log:
        f"{RESULTS}/logs/{IMAGES_REL}/run.log",
    benchmark:
        f"{RESULTS}/benchmarks/{IMAGES_REL}/run.tsv"
    wildcard_constraints:
        dataset="|".join(LABELLED_IMAGE_DATASETS),
    conda:
        DPBENCH_ENV
    threads: 1
    resources:
        gpu=lambda w: int(needs_gpu(images_encoder(w))),
    params:
        prepared=images_prepared_arg,
        data=images_data_params,
        hp=images_train_params,
        encoder=images_encoder,
        layers=lambda w: images_layers(),
        device=lambda w: job_device(needs_gpu(images_encoder(w))),
        speed=lambda w: speed_flags(needs_gpu(images_encoder(w))),
        outputs=images_output_args,
    shell:
        "{DPBENCH} {params.speed} images-run --dataset {wildcards.dataset} {params.prepared} --data-params '{params.data}'"
        " --dictionary {input.dictionary:q} --model {params.encoder:q} --label {wildcards.model:q} --seed {wildcards.seed}"
        " --layers {params.layers} --params '{params.hp}' --device {params.device} --threads {threads} {params.outputs} 2> {log:q}"


use rule images_run as images_run_unlabelled with:
    output:
        **images_job_outputs(labelled=False),
    wildcard_constraints:
        dataset="|".join(UNLABELLED_IMAGE_DATASETS),


rule images_error_figure:
    """Originals / reconstructions / absolute errors of the first test items (first seed), from saved samples."""
    input:
        lambda w: [
            f"{IMAGES_JOB}/samples.pt".format(dataset=w.dataset, model=m, seed=task_seeds("images")[0])
            for m in images_models()
        ],
    output:
        pdf=f"{RESULTS}/figures/reconstruction_errors_{{dataset}}.pdf",
        png=report(
            f"{RESULTS}/figures/reconstruction_errors_{{dataset}}.png",
            caption="../report/reconstruction_errors.rst",
            category="Figures",
            labels={"figure": "reconstruction_errors_{dataset}"},
        ),
    log:
        f"{RESULTS}/logs/figures/reconstruction_errors_{{dataset}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/report/figures/reconstruction_errors_{{dataset}}.tsv"
    wildcard_constraints:
        dataset="[a-z0-9_]+",
    conda:
        DPBENCH_ENV
    params:
        models=lambda w: " ".join(map(shlex.quote, images_models())),
    shell:
        "{DPBENCH} images-error-figure --samples {input:q} --models {params.models} --dataset {wildcards.dataset}"
        " --pdf {output.pdf:q} --png {output.png:q} 2> {log:q}"


# SC2Net's CIFAR-10 (dataset cifar10_cnn): the Keras cifar10_cnn.py network trained on CIFAR-10's training
# images, its 2,304-d Flatten features of all 60,000 images (dpbench.images.cifar_cnn); a GPU job
ruleorder: images_cnn_features > prepare


rule images_cnn_features:
    input:
        f"{DATA}/prepared/cifar10.pt",
    output:
        f"{DATA}/prepared/cifar10_cnn.pt",
    log:
        f"{RESULTS}/logs/images/cifar10_cnn/features.log",
    benchmark:
        f"{RESULTS}/benchmarks/images/cifar10_cnn/features.tsv"
    conda:
        DPBENCH_ENV
    threads: 4
    resources:
        gpu=1,
    params:
        cnn=lambda w: jobs.dumps(images_cfg().get("cnn", {})),
        device=lambda w: job_device(True),
        speed=lambda w: speed_flags(True),
    shell:
        "{DPBENCH} {params.speed} images-cnn-features --prepared {input:q} --params '{params.cnn}' --seed 0"
        " --device {params.device} --threads {threads} --output {output:q} 2> {log:q}"
