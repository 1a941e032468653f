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
            f"results/{_dataset}/prototypes/{{subset}}.npz",
        output:
            checkpoints=generator_checkpoints(_dataset),
            training=generator_set_path(_dataset, "training.tsv"),
            curves=generator_set_path(_dataset, "loss_curves.tsv"),
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
        data="results/{dataset}/data.npz",
        prototypes="results/{dataset}/prototypes/{subset}.npz",
        checkpoints=generator_set_checkpoints,
    output:
        predictions="results/{dataset}/{subset}/rep{rep}/in{noise_in}_out{noise_out}/predictions.tsv",
        summary="results/{dataset}/{subset}/rep{rep}/in{noise_in}_out{noise_out}/summary.tsv",
        reconstructions="results/{dataset}/{subset}/rep{rep}/in{noise_in}_out{noise_out}/reconstructions.npz",
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
        data="results/{dataset}/data.npz",
        summaries=lambda wc: subset_run_files(wc.dataset, wc.subset, "summary.tsv"),
        predictions=lambda wc: subset_run_files(wc.dataset, wc.subset, "predictions.tsv"),
        checkpoints=lambda wc: [path for paths in subset_checkpoints(wc.dataset, wc.subset) for path in paths],
    output:
        "results/{dataset}/{subset}/heatmap.tsv",
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
