"""A bad configuration stops Snakemake at start-up with the schema's message, before any job runs."""

from __future__ import annotations

import copy

import pytest

from workflow_runner import load_test_config, snakemake, write_config


def with_change(path: list[str], value) -> dict:
    config = copy.deepcopy(load_test_config())
    node = config
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return config


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        (["datasets", "characters", "source"], "uci_letters", "uci_letters"),
        (["datasets", "mnist", "noise", "clustered", "input"], [0, -0.1], "-0.1"),
        (["datasets", "characters", "generator", "hidden_size"], "ten", "ten"),
        (["device"], "tpu", "tpu"),
        (["datasets", "characters", "generator", "episode"], 400, "episode"),
        (["datasets", "mnist", "inverse", "learning_rate"], -1, "-1"),
        (["datasets", "mnist", "robustness", "corruptions", "blur"], [0.1], "blur"),
        (["datasets", "characters", "robustness", "norms"], ["l1"], "l1"),
    ],
)
def test_bad_config_fails_before_any_job(tmp_path, path, value, message) -> None:
    result = snakemake(tmp_path, write_config(tmp_path, with_change(path, value)), "-n")
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert "validat" in output.lower() and message in output
    assert not (tmp_path / "results").exists()


def test_good_config_plans(tmp_path) -> None:
    result = snakemake(tmp_path, write_config(tmp_path, load_test_config()), "-n")
    assert result.returncode == 0, result.stderr


def test_only_datasets_plans_that_part_alone(tmp_path) -> None:
    config = {**load_test_config(), "only_datasets": ["mnist"]}
    result = snakemake(tmp_path, write_config(tmp_path, config), "-n")
    assert result.returncode == 0, result.stderr
    assert "dataset=mnist" in result.stdout and "characters" not in result.stdout


def test_only_datasets_names_an_unknown_data_set(tmp_path) -> None:
    config = {**load_test_config(), "only_datasets": ["mnist", "letters"]}
    result = snakemake(tmp_path, write_config(tmp_path, config), "-n")
    assert result.returncode != 0
    message = "only_datasets: letters not in datasets (expected some of: characters, mnist)"
    assert message in result.stdout + result.stderr
    assert not (tmp_path / "results").exists()


def test_the_schema_names_the_package_choices() -> None:
    """The schema cannot import the package, so its choices are checked against their one home here."""
    import yaml

    from conftest import REPO
    from mic.data.sources import SOURCES
    from mic.device import DEVICES
    from mic.method import METRICS, REPRESENTATIONS, SELECTIONS
    from mic.plotting import STYLES
    from mic.robustness.settings import ATTACK_NORMS, CORRUPTION_KINDS, OUTLIER_KINDS

    schema = yaml.safe_load((REPO / "workflow/schemas/config.schema.yaml").read_text())
    dataset = schema["$defs"]["dataset"]["properties"]
    prototypes = dataset["prototypes"]["properties"]
    assert tuple(schema["properties"]["device"]["enum"]) == DEVICES
    assert tuple(dataset["source"]["enum"]) == tuple(SOURCES)
    assert tuple(dataset["plot_style"]["enum"]) == STYLES
    assert tuple(prototypes["metric"]["enum"]) == METRICS
    assert tuple(prototypes["representation"]["enum"]) == REPRESENTATIONS
    subset = f"^({SELECTIONS[0]}(_({'|'.join(REPRESENTATIONS)}))?|{'|'.join(SELECTIONS[1:])})$"
    assert schema["properties"]["subsets"]["items"]["pattern"] == subset
    robustness = dataset["robustness"]["properties"]
    assert tuple(robustness["corruptions"]["properties"]) == CORRUPTION_KINDS
    assert tuple(robustness["outliers"]["items"]["enum"]) == OUTLIER_KINDS
    assert tuple(robustness["norms"]["items"]["enum"]) == ATTACK_NORMS
    assert dataset["noise"]["propertyNames"]["pattern"] == subset
