# downloads need the internet (often missing on compute nodes): they run where Snakemake runs
localrules:
    download,


rule download:
    output:
        directory(f"{DATA}/raw/{{dataset}}"),
    log:
        f"{RESULTS}/logs/download/{{dataset}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/data/download/{{dataset}}.tsv"
    # one folder per dataset; mnist_test reads the local mnist_test_dir, anomaly_* have their own rules
    wildcard_constraints:
        dataset="(?!mnist_test$|anomaly_)[^/]+",
    retries: 3  # a dropped connection: the archive module left nothing behind, so just try again
    conda:
        DPBENCH_ENV
    params:
        local=lambda w: (
            f"--local-dir {shlex.quote(config['mnist_dir'])}"
            if w.dataset == "mnist" and config.get("mnist_dir")
            else ""
        ),
    shell:
        "{DPBENCH} download --dataset {wildcards.dataset} --raw-dir {output:q} {params.local} 2> {log:q}"


rule prepare:
    input:
        lambda w: raw_dir(w.dataset),
    output:
        f"{DATA}/prepared/{{dataset}}.pt",
    log:
        f"{RESULTS}/logs/prepare/{{dataset}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/data/prepare/{{dataset}}.tsv"
    conda:
        DPBENCH_ENV
    shell:
        "{DPBENCH} prepare --dataset {wildcards.dataset} --raw-dir {input:q} --output {output:q} 2> {log:q}"


rule features:
    input:
        rules.prepare.output,
    output:
        f"{DATA}/features/{{dataset}}/{{features}}.pt",
    log:
        f"{RESULTS}/logs/features/{{dataset}}/{{features}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/data/features/{{dataset}}/{{features}}.tsv"
    wildcard_constraints:
        features="pixels|resnet50",  # ae_mlp / ae_conv: rule ae_features (clustering.smk)
    conda:
        DPBENCH_ENV
    # pixels: a reshape; resnet50: image decoding + the network (torch threads on CPU). Capped by
    # --cores locally; --cpus-per-task on SLURM
    threads: lambda w: 1 if w.features == "pixels" else 8
    resources:
        gpu=lambda w: int(w.features == "resnet50"),
    params:
        device=lambda w: job_device(w.features == "resnet50"),
        speed=lambda w: speed_flags(w.features == "resnet50"),
    shell:
        "{DPBENCH} {params.speed} features --input {input:q} --kind {wildcards.features} --device {params.device} --output {output:q} 2> {log:q}"
