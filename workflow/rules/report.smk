# The report: every per-configuration result gathered into tidy tables, then one papermill notebook
# that rebuilds the paper's tables, GLMs and figures beside the paper's printed numbers.


include: "report_common.smk"


rule collect_results:
    input:
        **collected_inputs(),
    output:
        **{name: str(layout.table_file(name)) for name in layout.TABLE_NAMES},
        config=f"{layout.TABLES}/config.yaml",
    log:
        "logs/collect_results/collect_results.log",
    benchmark:
        "benchmarks/collect_results/collect_results.tsv"
    conda:
        "../../envs/report.yaml"
    threads: 1
    resources:
        mem_mb=4000,
    params:
        config=config,
    script:
        "../scripts/collect_results.py"


rule report:
    input:
        notebook=REPORT_NOTEBOOK,
        paper=PAPER_RESULTS,
        tables=[str(layout.table_file(name)) for name in layout.TABLE_NAMES],
        config=f"{layout.TABLES}/config.yaml",
        prototypes=expand(layout.PROTOTYPES, dataset=DATASETS, subset=SUBSETS, rep=REPLICATES),
        reconstructions=mic_run_files("reconstructions.npz"),
    output:
        report_figures(),
        notebook=f"{layout.REPORT}/report.ipynb",
        html=report(
            f"{layout.REPORT}/report.html",
            caption="../report/report.rst",
            category="Report",
            labels={"file": "report.html"},
        ),
    log:
        "logs/report/report.log",
    benchmark:
        "benchmarks/report/report.tsv"
    conda:
        "../../envs/report.yaml"
    threads: 1
    resources:
        mem_mb=4000,
    params:
        tables_dir=tables_dir,
        results_dir=results_dir,
        figures_dir=figures_dir,
        output_dir=output_dir,
    shell:
        "(papermill {input.notebook:q} {output.notebook:q} --kernel python3 --no-progress-bar"
        " -p tables_dir {params.tables_dir:q} -p results_dir {params.results_dir:q}"
        " -p config_path {input.config:q} -p paper_path {input.paper:q} -p figures_dir {params.figures_dir:q}"
        " && jupyter nbconvert --to html --no-input {output.notebook:q} --output-dir {params.output_dir:q} --output report.html"
        ") > {log:q} 2>&1"
