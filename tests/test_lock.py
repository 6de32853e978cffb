"""requirements.lock and the conda environment built from it (workflow/envs/dpbench.yaml)."""

import hashlib
import re

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

tomllib = pytest.importorskip("tomllib")  # Python >= 3.11


def locked(repo) -> dict[str, str]:
    pins = {}
    for line in (repo / "requirements.lock").read_text().splitlines():
        if line and not line.startswith("#"):
            name, version = line.split("#")[0].strip().split("==")
            pins[canonicalize_name(name)] = version
    return pins


def test_every_dependency_is_locked_at_a_version_it_accepts(repo):
    project = tomllib.loads((repo / "pyproject.toml").read_text())["project"]
    wanted = project["dependencies"] + [d for extra in ("test", "cluster") for d in project["optional-dependencies"][extra]]
    pins = locked(repo)
    for text in wanted:
        req = Requirement(text)
        name = canonicalize_name(req.name)
        assert name in pins, f"{req.name} is not in requirements.lock: run make lock"
        assert req.specifier.contains(pins[name], prereleases=True), f"{req.name}=={pins[name]} does not satisfy {text}: run make lock"


def test_the_conda_environment_names_the_lock_it_installs(repo):
    """Snakemake rebuilds an environment when its YAML changes: the YAML carries the lock's checksum."""
    env = (repo / "workflow/envs/dpbench.yaml").read_text()
    recorded = re.search(r"^# lock: sha256 ([0-9a-f]{64})$", env, re.M).group(1)
    assert recorded == hashlib.sha256((repo / "requirements.lock").read_bytes()).hexdigest(), "run make lock"
    script = (repo / "workflow/envs/dpbench.post-deploy.sh").read_text()
    assert "-r requirements.lock" in script and "--no-deps -e ." in script
