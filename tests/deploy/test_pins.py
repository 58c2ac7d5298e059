"""Both images install pinned versions: the CPU stack from constraints/cpu.txt (make install),
the GPU image from constraints/gpu.txt, resolved against the vLLM of Dockerfile.gpu's base image
(issue 15, item 16). A pin file that drifts from pyproject.toml or from the base image would
install untested versions, so each is checked against both."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]


def pins(name: str) -> dict[str, str]:
    lines = (ROOT / "constraints" / name).read_text().splitlines()
    found = {}
    for line in lines:
        if line and not line.startswith("#"):
            package, version = line.split("==")
            found[canonicalize_name(package)] = version.strip()
    return found


def requirements(*extras: str) -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    listed = project["dependencies"] + [
        r for extra in extras for r in project["optional-dependencies"][extra]
    ]
    return [Requirement(r) for r in listed]


def test_the_gpu_pins_use_the_base_images_vllm():
    base = re.search(r"^ARG VLLM_IMAGE=vllm/vllm-openai:v(\S+)$",
                     (ROOT / "Dockerfile.gpu").read_text(), re.M)  # fmt: skip
    assert base, "Dockerfile.gpu names its vLLM base image"
    assert pins("gpu.txt")["vllm"] == base.group(1)
    assert "-c constraints/gpu.txt" in (ROOT / "Dockerfile.gpu").read_text()


@pytest.mark.parametrize(
    ("pin_file", "extras"),
    [("gpu.txt", ("gpu", "lab")), ("cpu.txt", ("lab",))],
)
def test_every_dependency_is_pinned_within_its_range(pin_file, extras):
    pinned = pins(pin_file)
    for requirement in requirements(*extras):
        name = canonicalize_name(requirement.name)
        assert name in pinned, f"{name} is not pinned in constraints/{pin_file}"
        assert requirement.specifier.contains(pinned[name], prereleases=True), (
            f"constraints/{pin_file} pins {name}=={pinned[name]}, outside {requirement.specifier}"
        )
