# Image tasks of the sparse coders (dpbench.tasks.images): classification_unsupervised,
# classification_supervised and reconstruction, each over the depth sweep images.layers.
#   {model} is a result name: a model, a variant (images.variants: a model with constructor options),
#   either one + LEARNED_D when its dictionary is learned with it (images.learn_dictionary)
#   dictionary (dataset, seed) -> images_run (dataset, model, seed): reconstruction, code classification and
#   supervised classification (labelled datasets), each over the depth sweep
#   saved reconstructions of the first test items -> reconstruction_errors_<dataset> figure
from pathlib import Path

IMAGES_REL = "images/{dataset}/{model}/seed{seed}"  # for logs and benchmarks
IMAGES_DIR = f"{RESULTS}/images/{{dataset}}"
IMAGES_JOB = f"{RESULTS}/{IMAGES_REL}"
IMAGE_TASKS = ["classification_unsupervised", "classification_supervised", "reconstruction"]
UNTRAINED_IMAGE_MODELS = ["ista", "fista"]
LEARNED_D = "+learned_D"  # suffix of the result name of a model whose decoder is learned with it
UNLABELLED_IMAGE_DATASETS = ["sample_patches"]
LABELLED_IMAGE_DATASETS = ["digits", "mnist", "mnist_test", "cifar10", "cifar100_coarse"]


def images_cfg():
    return config.get("images", {})


def images_task_on(task):
    cfg = images_cfg()
    return cfg.get("enabled", False) and task in cfg.get("tasks", IMAGE_TASKS)


def images_datasets(labelled_only=False):
    return [d for d in images_cfg().get("datasets", []) if not (labelled_only and d in UNLABELLED_IMAGE_DATASETS)]


def images_layers():
    return ",".join(str(t) for t in images_cfg()["layers"])


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
    return json.dumps(images_cfg().get("data", {}).get(w.dataset, {}), sort_keys=True)


def images_dict_params():
    cfg = images_cfg()
    return json.dumps({"n_atoms": cfg["n_atoms"], "lam": cfg["lam"], **cfg.get("dictionary", {})}, sort_keys=True)


def images_variant(name):
    """(encoder, constructor options) of a name in images.models: a model or one of images.variants."""
    variant = images_cfg().get("variants", {}).get(name, {"model": name})
    return variant["model"], variant.get("options", {})


def check_image_models():
    """Stop before any job when images.models names neither a sparse model nor one of images.variants."""
    import yaml

    schema = yaml.safe_load((Path(workflow.basedir) / "workflow/schemas/config.schema.yaml").read_text())
    known = schema["$defs"]["sparse_model"]["enum"]
    unknown = [name for name in images_cfg().get("models", []) if images_variant(name)[0] not in known]
    if unknown:
        variants = sorted(images_cfg().get("variants", {}))
        raise ValueError(f"images.models: unknown model or variant {', '.join(unknown)} (models: {', '.join(known)}; "
                         f"variants: {', '.join(variants) or 'none'})")


check_image_models()


def images_models():
    """The result names: each of images.models, and with LEARNED_D for the learned encoders when
    images.learn_dictionary holds true (false, true or a list of both)."""
    modes = images_cfg().get("learn_dictionary", False)
    modes = modes if isinstance(modes, list) else [modes]
    names = []
    for name in images_cfg()["models"]:
        learnable = images_variant(name)[0] not in UNTRAINED_IMAGE_MODELS
        names += [name] if False in modes or not learnable else []
        names += [name + LEARNED_D] if True in modes and learnable else []
    return names


def images_label_parts(label):
    """(name in images.models, whether the dictionary is learned) of a result name."""
    learned = label.endswith(LEARNED_D)
    return (label[: -len(LEARNED_D)] if learned else label), learned


def images_encoder(w):
    return images_variant(images_label_parts(w.model)[0])[0]


def images_train_params(w):
    cfg = images_cfg()
    name, learned = images_label_parts(w.model)
    own = cfg.get("params", {}).get(name, {})
    options = {**images_variant(name)[1], **own.get("options", {})}
    return json.dumps({**cfg.get("train", {}), **own, "options": options, "learn_dictionary": learned}, sort_keys=True)


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
    return " ".join(f"{flag} {output[key]}" for key, flag in OUTPUT_FLAGS.items() if key in output.keys())


def images_results(task, name):
    def files():
        datasets = images_datasets(labelled_only=task != "reconstruction")
        return [
            IMAGES_JOB.format(dataset=d, model=m, seed=s) + f"/{name}"
            for d in datasets
            for m in images_models()
            for s in task_seeds("images")
        ]

    return files


def images_error_figures():
    return [f"{RESULTS}/figures/reconstruction_errors_{d}.{ext}" for d in images_datasets() for ext in ("pdf", "png")]


for _task, _file in zip(IMAGE_TASKS, ["classification_unsupervised.json", "classification_supervised.json", "reconstruction.json"]):
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
    params:
        prepared=images_prepared_arg,
        data=images_data_params,
        dp=lambda w: images_dict_params(),
    threads: 1
    log:
        f"{RESULTS}/logs/images/{{dataset}}/dictionary/seed{{seed}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/images/{{dataset}}/dictionary/seed{{seed}}.tsv"
    shell:
        "{DPBENCH} images-dictionary --dataset {wildcards.dataset} {params.prepared} --data-params '{params.data}'"
        " --dict-params '{params.dp}' --seed {wildcards.seed} --threads {threads} --output {output} 2> {log}"


rule images_run:
    """One (dataset, model, seed): every enabled image task over the depth sweep (labelled datasets)."""
    input:
        unpack(images_job_inputs),
    output:
        **images_job_outputs(labelled=True),
    wildcard_constraints:
        dataset="|".join(LABELLED_IMAGE_DATASETS),
    params:
        prepared=images_prepared_arg,
        data=images_data_params,
        hp=images_train_params,
        encoder=images_encoder,
        layers=lambda w: images_layers(),
        device=config["device"],
        outputs=images_output_args,
    threads: 1
    resources:
        gpu=1,
    log:
        f"{RESULTS}/logs/{IMAGES_REL}/run.log",
    benchmark:
        f"{RESULTS}/benchmarks/{IMAGES_REL}/run.tsv"
    shell:
        "{DPBENCH} images-run --dataset {wildcards.dataset} {params.prepared} --data-params '{params.data}'"
        " --dictionary {input.dictionary} --model {params.encoder} --label {wildcards.model} --seed {wildcards.seed}"
        " --layers {params.layers}"
        " --params '{params.hp}' --device {params.device} --threads {threads} {params.outputs} 2> {log}"


use rule images_run as images_run_unlabelled with:
    output:
        **images_job_outputs(labelled=False),
    wildcard_constraints:
        dataset="|".join(UNLABELLED_IMAGE_DATASETS),


rule images_error_figure:
    """Originals / reconstructions / absolute errors of the first test items (first seed), from saved samples."""
    input:
        lambda w: [IMAGES_JOB.format(dataset=w.dataset, model=m, seed=task_seeds("images")[0]) + "/samples.pt" for m in images_models()],
    output:
        pdf=f"{RESULTS}/figures/reconstruction_errors_{{dataset}}.pdf",
        png=report(
            f"{RESULTS}/figures/reconstruction_errors_{{dataset}}.png",
            caption="../report/reconstruction_errors.rst",
            category="Figures",
            labels={"figure": "reconstruction_errors_{dataset}"},
        ),
    wildcard_constraints:
        dataset="[a-z0-9_]+",
    params:
        models=lambda w: " ".join(images_models()),
    log:
        f"{RESULTS}/logs/figures/reconstruction_errors_{{dataset}}.log",
    shell:
        "{DPBENCH} images-error-figure --samples {input} --models {params.models} --dataset {wildcards.dataset}"
        " --pdf {output.pdf} --png {output.png} 2> {log}"
