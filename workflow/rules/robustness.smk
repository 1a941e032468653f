# Beyond the paper: are its robustness claims true? Corruptions, outliers and attacks on every replicate's
# validation-best models of the paper's two subsets, beside the forward LSTM and 1-NN (mic.pipeline.robustness).


rule robustness:
    input:
        data=layout.DATA,
        prototypes=layout.PROTOTYPES,
        summaries=lambda wc: subset_run_files(wc.dataset, wc.subset, "validation_summary.tsv"),
        checkpoints=lambda wc: [
            path
            for run in subset_runs(wc.dataset, wc.subset)
            if run["rep"] == int(wc.rep)
            for path in generator_checkpoints(**run)
        ],
        extended=robustness_variant_tables,
        forward_prototypes=f"{layout.fill(layout.BASELINE, training_set='{subset}')}/model.pt",
        forward_full=f"{layout.fill(layout.BASELINE, training_set='full')}/model.pt",
    output:
        **{name: layout.robustness_file(name) for name in layout.ROBUSTNESS_TABLES},
    log:
        "logs/robustness/{dataset}/{subset}_rep{rep}.log",
    benchmark:
        "benchmarks/robustness/{dataset}/{subset}_rep{rep}.tsv"
    conda:
        "../../envs/mic.yaml"
    threads: 1
    resources:
        mem_mb=6000,
        runtime=120,
        gpu=GPUS_PER_JOB,
    params:
        runs=lambda wc: subset_runs(wc.dataset, wc.subset),
        generator=dataset_param("generator"),
        settings=dataset_param("inverse"),
        variants=lambda wc: dataset_config(wc.dataset).get("extended", {}).get("variants", {}),
        robustness=dataset_param("robustness"),
        validation_per_class=dataset_param("validation", "per_class"),
        seed=config["seed"],
        device=config["device"],
    script:
        "../scripts/robustness.py"
