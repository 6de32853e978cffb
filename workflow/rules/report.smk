localrules:
    aggregate,
    anomaly_figures,
    table,
    paper_table,
    figure,
    figures,


rule aggregate:
    input:
        result_files(),
    output:
        csv=SUMMARY_CSV,
        parquet=SUMMARY_PARQUET,
    log:
        f"{RESULTS}/logs/aggregate.log",
    shell:
        "{DPBENCH} aggregate {input:q} --csv {output.csv:q} --parquet {output.parquet:q} 2> {log:q}"


rule table:
    input:
        SUMMARY_CSV,
    output:
        report(
            f"{RESULTS}/tables/{{task}}.tex",
            caption="../report/table.rst",
            category="Tables",
            labels={"task": "{task}"},
        ),
    log:
        f"{RESULTS}/logs/tables/{{task}}.log",
    shell:
        "{DPBENCH} table --summary {input:q} --task {wildcards.task} --output {output:q} 2> {log:q}"


rule paper_table:
    """Published numbers (src/dpbench/report/reported_results.csv) next to ours."""
    input:
        summary=SUMMARY_CSV,
        reported=REPORTED_CSV,
    output:
        report(f"{RESULTS}/tables/paper_comparison.tex", caption="../report/paper_comparison.rst", category="Tables"),
    log:
        f"{RESULTS}/logs/tables/paper_comparison.log",
    shell:
        "{DPBENCH} paper-table --summary {input.summary:q} --reported {input.reported:q} --output {output:q} 2> {log:q}"


rule figure:
    input:
        SUMMARY_CSV,
    wildcard_constraints:
        figure="|".join(summary_figure_names()),
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
    shell:
        "{DPBENCH} figure --summary {input:q} --name {wildcards.figure} --pdf {output.pdf:q} --png {output.png:q} 2> {log:q}"


rule figures:
    """Rebuild every table and figure from the saved results alone (no training job runs)."""
    input:
        report_outputs(),
