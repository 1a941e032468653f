# The method: per-class generators and inverse classification.

# One training job trains all class generators of one (dataset, subset, replicate, noise) setting
# together: batched on one core they cost little more than one generator, while 540 separate
# processes would each pay torch's start-up. Each class still gets its own checkpoint file, so the
# rule is written once per data set (its outputs depend on the data set's classes).
for _dataset in DATASETS:

    rule:
        name:
            f"train_generators_{_dataset}"
        input:
            layout.fill(layout.PROTOTYPES, dataset=_dataset),
        output:
            checkpoints=generator_checkpoints(_dataset),
            training=setting_file(_dataset, "training.tsv"),
            curves=setting_file(_dataset, "loss_curves.tsv"),
        log:
            f"logs/train_generators/{_dataset}/{{subset}}_rep{{rep}}_in{{noise_in}}_out{{noise_out}}.log",
        benchmark:
            f"benchmarks/train_generators/{_dataset}/{{subset}}_rep{{rep}}_in{{noise_in}}_out{{noise_out}}.tsv"
        conda:
            "../../envs/mic.yaml"
        threads: 1
        resources:
            mem_mb=2000,
            runtime=60,
            gpu=GPUS_PER_JOB,
        params:
            dataset=_dataset,
            classes=class_names(_dataset),
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
        seed=config["seed"],
        device=config["device"],
    script:
        "../scripts/inverse_classify.py"


# Figure 7 shows the best model of a data set and subset only, so its training-sample inversion runs
# once here instead of in every inverse job (it added ~70% to a character inverse job).
rule module_losses:
    input:
        data=layout.DATA,
        summaries=lambda wc: subset_run_files(wc.dataset, wc.subset, "summary.tsv"),
        predictions=lambda wc: subset_run_files(wc.dataset, wc.subset, "predictions.tsv"),
        checkpoints=lambda wc: [path for paths in subset_checkpoints(wc.dataset, wc.subset) for path in paths],
    output:
        f"{layout.SUBSET}/heatmap.tsv",
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
        checkpoint_sets=lambda wc: subset_checkpoints(wc.dataset, wc.subset),
        classes=dataset_classes,
        generator=dataset_param("generator"),
        settings=dataset_param("inverse"),
        seed=config["seed"],
        device=config["device"],
    script:
        "../scripts/module_losses.py"
