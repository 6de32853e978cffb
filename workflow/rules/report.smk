localrules:
    aggregate,
    anomaly_figures,
    table,
    paper_table,
    claims,
    figure,
    figures,


rule aggregate:
    input:
        result_files(),
    output:
        csv=report(SUMMARY_CSV, caption="../report/summary.rst", category="Data"),
        parquet=SUMMARY_PARQUET,
    log:
        f"{RESULTS}/logs/aggregate.log",
    benchmark:
        f"{RESULTS}/benchmarks/report/aggregate.tsv"
    conda:
        DPBENCH_ENV
    shell:
        "{DPBENCH} aggregate {input:q} --csv {output.csv:q} --parquet {output.parquet:q} 2> {log:q}"


rule table:
    input:
        SUMMARY_CSV,
    output:
        # the report's viewer shows HTML, not .tex: the same table twice, the .tex to download
        tex=report(
            f"{RESULTS}/tables/{{task}}.tex",
            caption="../report/table.rst",
            category="LaTeX",
            labels={"task": "{task}"},
        ),
        html=report(
            f"{RESULTS}/tables/{{task}}.html",
            caption="../report/table.rst",
            category="Tables",
            labels={"task": "{task}"},
        ),
    log:
        f"{RESULTS}/logs/tables/{{task}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/report/tables/{{task}}.tsv"
    conda:
        DPBENCH_ENV
    shell:
        "{DPBENCH} table --summary {input:q} --task {wildcards.task} --output {output.tex:q} --html {output.html:q} 2> {log:q}"


rule paper_table:
    """Published numbers (src/dpbench/report/reported_results.csv) next to ours."""
    input:
        summary=SUMMARY_CSV,
        reported=REPORTED_CSV,
    output:
        tex=report(
            f"{RESULTS}/tables/paper_comparison.tex",
            caption="../report/paper_comparison.rst",
            category="LaTeX",
        ),
        html=report(
            f"{RESULTS}/tables/paper_comparison.html",
            caption="../report/paper_comparison.rst",
            category="Tables",
        ),
    log:
        f"{RESULTS}/logs/tables/paper_comparison.log",
    benchmark:
        f"{RESULTS}/benchmarks/report/tables/paper_comparison.tsv"
    conda:
        DPBENCH_ENV
    shell:
        "{DPBENCH} paper-table --summary {input.summary:q} --reported {input.reported:q} --output {output.tex:q} --html {output.html:q} 2> {log:q}"


# the papers' claims, each with a test evaluated from the summary alone (a file of the installed package)
CLAIMS_YAML = str(files("dpbench.report") / "claims.yaml")


rule claims:
    """The papers' claims checked against our results: the scorecard, first in the report (with the
    config's claims_files: claims of your own)."""
    input:
        summary=SUMMARY_CSV,
        claims=[CLAIMS_YAML, *config.get("claims_files", [])],
    output:
        tex=f"{RESULTS}/tables/claims.tex",
        html=report(f"{RESULTS}/tables/claims.html", caption="../report/claims.rst", category="Claims"),
    log:
        f"{RESULTS}/logs/tables/claims.log",
    benchmark:
        f"{RESULTS}/benchmarks/report/tables/claims.tsv"
    conda:
        DPBENCH_ENV
    params:
        claims=lambda w, input: " ".join(f"--claims {shlex.quote(path)}" for path in input.claims),
    shell:
        "{DPBENCH} claims --summary {input.summary} {params.claims} --latex {output.tex}"
        " --html {output.html} > {log} 2>&1"


rule figure:
    input:
        SUMMARY_CSV,
    output:
        pdf=f"{RESULTS}/figures/{{figure}}.pdf",
        png=report(
            f"{RESULTS}/figures/{{figure}}.png",
            caption="../report/figure.rst",
            category="Figures",
            labels={"figure": "{figure}"},
        ),
    log:
        f"{RESULTS}/logs/figures/{{figure}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/report/figures/{{figure}}.tsv"
    wildcard_constraints:
        figure="|".join(summary_figure_names()),
    conda:
        DPBENCH_ENV
    shell:
        "{DPBENCH} figure --summary {input:q} --name {wildcards.figure} --pdf {output.pdf:q} --png {output.png:q} 2> {log:q}"


rule figures:
    """Rebuild every table and figure from the saved results alone (no training job runs)."""
    input:
        report_outputs(),
