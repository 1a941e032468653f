# Raw data in, preprocessed splits and prototypes out.


# Downloads run where Snakemake runs: cluster nodes often have no internet.
localrules:
    download_character_trajectories,
    download_mnist,


rule download_character_trajectories:
    output:
        "resources/character_trajectories/mixout.mat",
        provenance="resources/character_trajectories/provenance.json",
    log:
        "logs/download/character_trajectories.log",
    conda:
        "../../envs/mic.yaml"
    threads: 1
    params:
        source="character_trajectories",
        mirror=data_mirror(),
    script:
        "../scripts/download.py"


rule download_mnist:
    output:
        expand("resources/mnist/{name}", name=RAW_FILES["mnist"]),
        provenance="resources/mnist/provenance.json",
    log:
        "logs/download/mnist.log",
    conda:
        "../../envs/mic.yaml"
    threads: 1
    params:
        source="mnist",
        mirror=data_mirror(),
    script:
        "../scripts/download.py"


rule preprocess:
    input:
        raw_inputs,
    output:
        layout.DATA,
    log:
        "logs/preprocess/{dataset}.log",
    benchmark:
        "benchmarks/preprocess/{dataset}.tsv"
    conda:
        "../../envs/mic.yaml"
    threads: 1
    resources:
        mem_mb=4000,
    params:
        source=dataset_param("source"),
        settings=dataset_param("preprocess"),
        allow_pickle=lambda wildcards: dataset_config(wildcards.dataset).get("allow_pickle", False),
        needs=lambda wildcards: jobs.feasibility_needs(wildcards.dataset, dataset_config(wildcards.dataset)),
    script:
        "../scripts/preprocess.py"


rule select_prototypes:
    input:
        layout.DATA,
    output:
        prototypes=layout.PROTOTYPES,
        figure=layout.PROTOTYPE_FIGURE,
    log:
        "logs/select_prototypes/{dataset}_{subset}_rep{rep}.log",
    benchmark:
        "benchmarks/select_prototypes/{dataset}_{subset}_rep{rep}.tsv"
    conda:
        "../../envs/mic.yaml"
    threads: 1
    resources:
        mem_mb=4000,
    params:
        settings=dataset_param("prototypes"),
        seed=config["seed"],
        plot_style=dataset_param("plot_style"),
    script:
        "../scripts/select_prototypes.py"
