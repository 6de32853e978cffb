# downloads need the internet (often missing on compute nodes): they run where Snakemake runs
localrules:
    download,


rule download:
    output:
        f"{DATA}/raw/{{dataset}}.complete",
    params:
        raw=lambda w: raw_dir(w.dataset),
        local=lambda w: f"--local-dir {config['mnist_dir']}" if w.dataset == "mnist" and config.get("mnist_dir") else "",
    log:
        f"{RESULTS}/logs/download/{{dataset}}.log",
    shell:
        "{DPBENCH} download --dataset {wildcards.dataset} --raw-dir {params.raw} {params.local} --output {output} 2> {log}"


rule prepare:
    input:
        rules.download.output,
    output:
        f"{DATA}/prepared/{{dataset}}.pt",
    params:
        raw=lambda w: raw_dir(w.dataset),
    log:
        f"{RESULTS}/logs/prepare/{{dataset}}.log",
    shell:
        "{DPBENCH} prepare --dataset {wildcards.dataset} --raw-dir {params.raw} --output {output} 2> {log}"


rule features:
    input:
        rules.prepare.output,
    output:
        f"{DATA}/features/{{dataset}}/{{features}}.pt",
    params:
        device=config["device"],
    # pixels: a reshape; resnet50: image decoding + the network (torch threads on CPU). Capped by
    # --cores locally; --cpus-per-task on SLURM
    threads: lambda w: 1 if w.features == "pixels" else 8
    resources:
        gpu=lambda w: 0 if w.features == "pixels" else 1,
    log:
        f"{RESULTS}/logs/features/{{dataset}}/{{features}}.log",
    shell:
        "{DPBENCH} features --input {input} --kind {wildcards.features} --device {params.device} --output {output} 2> {log}"
