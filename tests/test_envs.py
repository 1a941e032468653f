"""The conda envs (used by --use-conda) are valid, pinned and agree with pyproject.toml."""

from __future__ import annotations

import re
import tomllib

import pytest
import yaml

from conftest import REPO

ENVS = sorted((REPO / "envs").glob("*.yaml"))
# conda-forge names that differ from PyPI's
CONDA_TO_PYPI = {"pytorch": "torch"}
# Conda-only packages with no PyPI counterpart: the C compiler that builds mic/native's kernels.
CONDA_ONLY = {"c-compiler"}
# Run Snakemake itself or check the code, not inside a rule's env.
ORCHESTRATION = {"snakemake", "snakemake-executor-plugin-slurm", "pytest", "snakefmt", "ruff", "import-linter"}


def pyproject_pins() -> dict[str, str]:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    requirements = project["dependencies"] + [
        r for extra in project["optional-dependencies"].values() for r in extra if "==" in r
    ]
    return dict(r.split("==") for r in requirements)


def env_pins(path) -> dict[str, str]:
    pins = {}
    for dep in yaml.safe_load(path.read_text())["dependencies"]:
        assert isinstance(dep, str), f"{path.name}: only conda packages, no pip section ({dep})"
        match = re.fullmatch(r"([A-Za-z0-9_.-]+)=([0-9][^=\s]*)", dep)
        assert match, f"{path.name}: '{dep}' is not pinned as name=version"
        name, version = match.groups()
        pins[CONDA_TO_PYPI.get(name, name)] = version
    return pins


def test_there_are_envs() -> None:
    assert {p.name for p in ENVS} >= {"mic.yaml", "report.yaml"}


@pytest.mark.parametrize("path", ENVS, ids=lambda p: p.name)
def test_channels_and_pins(path) -> None:
    env = yaml.safe_load(path.read_text())
    assert env["channels"] == ["conda-forge", "nodefaults"]
    pins = env_pins(path)
    assert pins.get("python") == "3.11"
    expected = pyproject_pins()
    for name, version in pins.items():
        if name != "python" and name not in CONDA_ONLY:
            assert expected.get(name) == version, (
                f"{path.name}: {name}={version}, pyproject.toml has {expected.get(name)}"
            )


def test_every_runtime_pin_is_in_an_env() -> None:
    in_envs = {}
    for path in ENVS:
        in_envs.update(env_pins(path))
    for name, version in pyproject_pins().items():
        if name not in ORCHESTRATION and not name.startswith("mic"):
            assert in_envs.get(name) == version, f"{name}=={version} is in pyproject.toml but in no env"


def test_every_rule_names_an_existing_env() -> None:
    for smk in (REPO / "workflow" / "rules").glob("*.smk"):
        for env in re.findall(r'conda:\s*\n\s*"([^"]+)"', smk.read_text()):
            assert (smk.parent / env).resolve().is_file(), f"{smk.name}: conda env {env} does not exist"
