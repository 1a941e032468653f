# Raw data in, preprocessed splits and prototypes out.


rule download_character_trajectories:
    output:
        "resources/character_trajectories/mixout.mat",
        provenance="resources/character_trajectories/provenance.json",
    params:
        source="character_trajectories",
        mirror=data_mirror(),
    log:
        "logs/download/character_trajectories.log",
    threads: 1
    conda:
        "../../envs/mic.yaml"
    script:
        "../scripts/download.py"


rule download_mnist:
    output:
        expand("resources/mnist/{name}", name=RAW_FILES["mnist"]),
        provenance="resources/mnist/provenance.json",
    params:
        source="mnist",
        mirror=data_mirror(),
    log:
        "logs/download/mnist.log",
    threads: 1
    conda:
        "../../envs/mic.yaml"
    script:
        "../scripts/download.py"


rule preprocess:
    input:
        raw_inputs,
    output:
        "results/{dataset}/data.npz",
    params:
        source=dataset_param("source"),
        settings=dataset_param("preprocess"),
    log:
        "logs/preprocess/{dataset}.log",
    benchmark:
        "benchmarks/preprocess/{dataset}.tsv"
    threads: 1
    resources:
        mem_mb=4000,
    conda:
        "../../envs/mic.yaml"
    script:
        "../scripts/preprocess.py"


rule select_prototypes:
    input:
        "results/{dataset}/data.npz",
    output:
        prototypes="results/{dataset}/prototypes/{subset}.npz",
        figure="results/{dataset}/prototypes/{subset}.png",
    params:
        settings=dataset_param("prototypes"),
        plot_style=dataset_param("plot_style"),
    log:
        "logs/select_prototypes/{dataset}_{subset}.log",
    benchmark:
        "benchmarks/select_prototypes/{dataset}_{subset}.tsv"
    threads: 1
    resources:
        mem_mb=4000,
    conda:
        "../../envs/mic.yaml"
    script:
        "../scripts/select_prototypes.py"
