"""Load the policy folder into a NeMo `RailsConfig` and validate it: config.yml, every `*.co`
flow file, every `prompts.yml`, and the rail actions (`*/actions.py`, loaded fresh each time so
an edited action takes effect on reload). `cases/` holds policy test cases, not config."""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path
from typing import Any

import yaml

from rails.errors import RailsConfigError

SKIP_DIRS = {"cases", "__pycache__"}
_EXECUTE = re.compile(r"^\s*(?:\$\w+\s*=\s*)?execute\s+(\w+)", re.M)
_FLOW = re.compile(r"^define (?:sub)?flow ([^\n]+?)\s*$", re.M)


def policy_files(root: Path) -> list[Path]:
    """Files whose change means a reload."""
    return sorted(
        p
        for p in root.rglob("*")
        if p.is_file()
        and p.suffix in {".co", ".yml", ".yaml", ".py"}
        and not SKIP_DIRS & set(p.relative_to(root).parts[:-1])
    )


def load_actions(root: Path) -> dict[str, Any]:
    """Every function decorated with NeMo's `@action` in `<rail>/actions.py`, by action name."""
    actions: dict[str, Any] = {}
    for file in sorted(root.glob("*/actions.py")):
        name = f"_railyard_policy_{file.parent.name}"
        spec = importlib.util.spec_from_file_location(name, file)
        module = importlib.util.module_from_spec(spec)
        try:
            spec.loader.exec_module(module)
        except Exception as exc:
            raise RailsConfigError(f"{file}: cannot load actions: {exc}") from exc
        sys.modules[name] = module
        for value in vars(module).values():
            meta = getattr(value, "action_meta", None)
            if meta and callable(value) and getattr(value, "__module__", "") == name:
                actions[meta["name"]] = value
    return actions


def load_config(root: Path, embeddings_model: str) -> tuple[Any, dict[str, Any]]:
    """The parsed config and the actions it uses; RailsConfigError names what is wrong."""
    from nemoguardrails import RailsConfig

    config_file = root / "config.yml"
    if not config_file.is_file():
        raise RailsConfigError(f"{config_file} is missing.")
    try:
        data = yaml.safe_load(config_file.read_text().replace("{minilm}", embeddings_model))
        for prompts in sorted(root.glob("*/prompts.yml")):
            data.setdefault("prompts", []).extend(yaml.safe_load(prompts.read_text())["prompts"])
    except (yaml.YAMLError, KeyError, TypeError, AttributeError) as exc:
        raise RailsConfigError(f"{config_file}: not valid YAML config: {exc}") from exc
    flow_files = [p for p in policy_files(root) if p.suffix == ".co"]
    colang = "\n\n".join(p.read_text() for p in flow_files)
    try:
        config = RailsConfig.from_content(colang_content=colang, config=data)
    except Exception as exc:
        raise RailsConfigError(f"{root}: the policy does not parse: {exc}") from exc
    actions = load_actions(root)
    _validate(config, colang, actions)
    return config, actions


def _validate(config: Any, colang: str, actions: dict[str, Any]) -> None:
    """NeMo reports a missing flow or action only when a request reaches it; check up front."""
    defined = {name.strip() for name in _FLOW.findall(colang)}
    for stage in ("input", "output"):
        for flow in getattr(config.rails, stage).flows:
            if flow not in defined:
                raise RailsConfigError(
                    f"config.yml lists the {stage} flow '{flow}', but no .co file defines it."
                )
    builtin = {"self_check_input", "self_check_output"}
    for name in set(_EXECUTE.findall(colang)) - set(actions) - builtin:
        raise RailsConfigError(f"A flow executes '{name}', but no actions.py defines it.")
