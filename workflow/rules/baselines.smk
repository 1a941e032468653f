# What MIC is compared with: a forward LSTM classifier and nearest-prototype 1-NN.


rule train_baseline:
    input:
        data=layout.DATA,
        prototypes=baseline_prototypes,
    output:
        summary=f"{layout.BASELINE}/summary.tsv",
        predictions=f"{layout.BASELINE}/predictions.tsv",
        history=f"{layout.BASELINE}/history.tsv",
        model=f"{layout.BASELINE}/model.pt",
    log:
        "logs/train_baseline/{dataset}/{training_set}_rep{rep}.log",
    benchmark:
        "benchmarks/train_baseline/{dataset}/{training_set}_rep{rep}.tsv"
    # Started first, on one thread: the long full-set baselines then run beside the generator jobs
    # instead of holding both cores at the end of the run.
    priority: 1
    conda:
        "../../envs/mic.yaml"
    threads: 1
    resources:
        mem_mb=6000,
        runtime=120,
        gpu=GPUS_PER_JOB,
    params:
        settings=dataset_param("baseline"),
        seed=config["seed"],
        device=config["device"],
    script:
        "../scripts/train_baseline.py"


rule nearest_prototype:
    input:
        data=layout.DATA,
        prototypes=layout.PROTOTYPES,
    output:
        layout.NEAREST_PROTOTYPE,
    log:
        "logs/nearest_prototype/{dataset}_{subset}_rep{rep}.log",
    benchmark:
        "benchmarks/nearest_prototype/{dataset}_{subset}_rep{rep}.tsv"
    conda:
        "../../envs/mic.yaml"
    threads: 1
    resources:
        mem_mb=4000,
    params:
        metrics=nearest_prototype_metrics,
    script:
        "../scripts/nearest_prototype.py"
