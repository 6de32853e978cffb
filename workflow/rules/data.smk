# downloads need the internet (often missing on compute nodes): they run where Snakemake runs
localrules:
    download,


rule download:
    output:
        f"{DATA}/raw/{{dataset}}.complete",
    params:
        raw=lambda w: raw_dir(w.dataset),
    log:
        f"{RESULTS}/logs/download/{{dataset}}.log",
    shell:
        "{DPBENCH} download --dataset {wildcards.dataset} --raw-dir {params.raw} --output {output:q} 2> {log:q}"


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
        "{DPBENCH} prepare --dataset {wildcards.dataset} --raw-dir {params.raw} --output {output:q} 2> {log:q}"


rule features:
    input:
        rules.prepare.output,
    output:
        f"{DATA}/features/{{dataset}}/{{features}}.pt",
    params:
        device=lambda w: job_device(w.features == "resnet50"),
        speed=lambda w: speed_flags(w.features == "resnet50"),
    # pixels: a reshape; resnet50: image decoding + the network (torch threads on CPU). Capped by
    # --cores locally; --cpus-per-task on SLURM
    threads: lambda w: 1 if w.features == "pixels" else 8
    resources:
        gpu=lambda w: int(w.features == "resnet50"),
    log:
        f"{RESULTS}/logs/features/{{dataset}}/{{features}}.log",
    shell:
        "{DPBENCH} {params.speed} features --input {input:q} --kind {wildcards.features} --device {params.device} --output {output:q} 2> {log:q}"
