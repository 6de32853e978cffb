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
        csv=SUMMARY_CSV,
        parquet=SUMMARY_PARQUET,
    log:
        f"{RESULTS}/logs/aggregate.log",
    shell:
        "{DPBENCH} aggregate {input} --csv {output.csv} --parquet {output.parquet} 2> {log}"


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
        "{DPBENCH} table --summary {input} --task {wildcards.task} --output {output} 2> {log}"


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
        "{DPBENCH} paper-table --summary {input.summary} --reported {input.reported} --output {output} 2> {log}"


# the papers' claims, each with a test evaluated from the summary alone (a file of the installed package)
CLAIMS_YAML = str(files("dpbench.report") / "claims.yaml")


rule claims:
    """The papers' claims checked against our results: the scorecard, first in the report."""
    input:
        summary=SUMMARY_CSV,
        claims=CLAIMS_YAML,
    output:
        tex=f"{RESULTS}/tables/claims.tex",
        html=report(f"{RESULTS}/tables/claims.html", caption="../report/claims.rst", category="Claims"),
    log:
        f"{RESULTS}/logs/tables/claims.log",
    shell:
        "{DPBENCH} claims --summary {input.summary} --claims {input.claims} --latex {output.tex}"
        " --html {output.html} > {log} 2>&1"


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
        "{DPBENCH} figure --summary {input} --name {wildcards.figure} --pdf {output.pdf} --png {output.png} 2> {log}"


rule figures:
    """Rebuild every table and figure from the saved results alone (no training job runs)."""
    input:
        report_outputs(),
