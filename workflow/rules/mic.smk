# The method: per-class generators and inverse classification.

# One training job trains all class generators of one (dataset, subset, noise) setting, every replicate at
# once: batched on one core they cost little more than one generator (the kernels fill SIMD lanes with
# generators), while separate processes would each pay the start-up. Each generator still gets its own
# checkpoint; deleting one reruns its setting's job, which rewrites the others bit-identically. The rule is
# written once per data set (its outputs depend on the data set's classes).
for _dataset in DATASETS:

    rule:
        name:
            f"train_generators_{_dataset}"
        input:
            [layout.fill(layout.PROTOTYPES, dataset=_dataset, rep=rep) for rep in REPLICATES],
        output:
            checkpoints=[path for rep in REPLICATES for path in generator_checkpoints(_dataset, rep=rep)],
            training=[layout.fill(setting_file(_dataset, "training.tsv"), rep=rep) for rep in REPLICATES],
            curves=[layout.fill(setting_file(_dataset, "loss_curves.tsv"), rep=rep) for rep in REPLICATES],
        log:
            f"logs/train_generators/{_dataset}/{{subset}}_in{{noise_in}}_out{{noise_out}}.log",
        benchmark:
            f"benchmarks/train_generators/{_dataset}/{{subset}}_in{{noise_in}}_out{{noise_out}}.tsv"
        conda:
            "../../envs/mic.yaml"
        threads: 1
        resources:
            mem_mb=2000,
            runtime=60 * len(REPLICATES),
            gpu=GPUS_PER_JOB,
        params:
            dataset=_dataset,
            classes=class_names(_dataset),
            replicates=REPLICATES,
            settings=dataset_config(_dataset)["generator"],
            seed=config["seed"],
            device=config["device"],
        script:
            "../scripts/train_generators.py"


rule inverse_classify:
    input:
        data=layout.DATA,
        prototypes=layout.PROTOTYPES,
        checkpoints=generator_set_checkpoints,
    output:
        predictions=f"{layout.SETTING}/predictions.tsv",
        summary=f"{layout.SETTING}/summary.tsv",
        reconstructions=f"{layout.SETTING}/reconstructions.npz",
        validation_predictions=layout.VALIDATION_PREDICTIONS,
        validation_summary=layout.VALIDATION_SUMMARY,
        model=layout.MODEL_MANIFEST,
    log:
        "logs/inverse_classify/{dataset}/{subset}_rep{rep}_in{noise_in}_out{noise_out}.log",
    benchmark:
        "benchmarks/inverse_classify/{dataset}/{subset}_rep{rep}_in{noise_in}_out{noise_out}.tsv"
    conda:
        "../../envs/mic.yaml"
    threads: 1
    resources:
        mem_mb=6000,
        runtime=60,
        gpu=GPUS_PER_JOB,
    params:
        classes=dataset_classes,
        generator=dataset_param("generator"),
        settings=dataset_param("inverse"),
        validation_per_class=dataset_param("validation", "per_class"),
        seed=config["seed"],
        device=config["device"],
        made_by=lambda wc: jobs.model_origin(config, wc.dataset),
    script:
        "../scripts/inverse_classify.py"


# Figure 7 shows the best model of a data set and subset only, so its training-sample inversion runs
# once here instead of in every inverse job. The best model, chosen on the validation samples, is recorded.
rule module_losses:
    input:
        data=layout.DATA,
        summaries=lambda wc: subset_run_files(wc.dataset, wc.subset, "validation_summary.tsv"),
        predictions=lambda wc: subset_run_files(wc.dataset, wc.subset, "predictions.tsv"),
        checkpoints=lambda wc: [
            path for run in subset_runs(wc.dataset, wc.subset) for path in generator_checkpoints(**run)
        ],
    output:
        heatmap=f"{layout.SUBSET}/heatmap.tsv",
        best=layout.BEST_MODEL,
    log:
        "logs/module_losses/{dataset}_{subset}.log",
    benchmark:
        "benchmarks/module_losses/{dataset}_{subset}.tsv"
    conda:
        "../../envs/mic.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=30,
        gpu=GPUS_PER_JOB,
    params:
        runs=lambda wc: subset_runs(wc.dataset, wc.subset),
        classes=dataset_classes,
        generator=dataset_param("generator"),
        settings=dataset_param("inverse"),
        seed=config["seed"],
        device=config["device"],
    script:
        "../scripts/module_losses.py"


# Beyond the paper: inversion variants (several starts, DTW as the decision) on the generators of one
# replicate's validation-best setting; choosing it needs every replicate's validation summaries.
# One job per data set, subset and replicate runs all of the data set's inversion variants: variants with the
# same starts (vertices, vertices_dtw) differ only in the decision, so they share their inversions.
for _dataset in DATASETS:
    _variants = dataset_config(_dataset).get("extended", {}).get("variants", {})
    if not _variants:
        continue

    rule:
        name:
            f"extended_inverse_{_dataset}"
        input:
            data=layout.fill(layout.DATA, dataset=_dataset),
            prototypes=layout.fill(layout.PROTOTYPES, dataset=_dataset),
            summaries=lambda wc, d=_dataset: subset_run_files(d, wc.subset, "validation_summary.tsv"),
            checkpoints=lambda wc, d=_dataset: [
                path
                for run in subset_runs(d, wc.subset)
                if run["rep"] == int(wc.rep)
                for path in generator_checkpoints(**run)
            ],
        output:
            **{variant: layout.fill(layout.EXTENDED, dataset=_dataset, variant=variant) for variant in _variants},
        log:
            f"logs/extended_inverse/{_dataset}/{{subset}}_rep{{rep}}.log",
        benchmark:
            f"benchmarks/extended_inverse/{_dataset}/{{subset}}_rep{{rep}}.tsv"
        conda:
            "../../envs/mic.yaml"
        threads: 1
        resources:
            mem_mb=6000,
            runtime=120,
            gpu=GPUS_PER_JOB,
        params:
            dataset=_dataset,
            runs=lambda wc, d=_dataset: subset_runs(d, wc.subset),
            generator=dataset_config(_dataset)["generator"],
            settings=dataset_config(_dataset)["inverse"],
            variants=_variants,
            validation_per_class=dataset_config(_dataset)["validation"]["per_class"],
            seed=config["seed"],
            device=config["device"],
        script:
            "../scripts/extended_inverse.py"
