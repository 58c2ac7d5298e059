"""Build the NeMo `LLMRails` for a loaded policy, trimmed to the flows the policy can reach.

NeMo adds its whole guardrails library (about 80 flows: Llama Guard, Clavata, Patronus, ...) to
every Colang 1.0 config, and its runtime offers every event to every non-subflow flow, replaying
the event history at each step. railyard's policy uses none of those library flows, so each
rails-only call paid for them (measured: output rails 30 ms p50 -> 26 ms once trimmed, and
15 -> 13 ms with `parallel: true`). The runtime keeps the policy's own flows, NeMo's core
`llm_flows.co` (which runs the rails) and any flow those call; nothing else.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import cache
from pathlib import Path
from typing import Any


@cache
def core_flow_ids() -> frozenset[str]:
    """The flows of NeMo's `llm_flows.co`: the machinery that runs input and output rails."""
    import nemoguardrails.rails.llm as llm
    from nemoguardrails.colang import parse_colang_file

    path = Path(llm.__file__).parent / "llm_flows.co"
    parsed = parse_colang_file(path.name, path.read_text())
    return frozenset(flow["id"] for flow in parsed["flows"])


def build_rails(config: Any, actions: dict[str, Callable], params: dict[str, Any]) -> Any:
    """An `LLMRails` with the policy's actions and action parameters registered."""
    from nemoguardrails import LLMRails

    own = {flow["id"] for flow in config.flows}  # read before LLMRails appends its library
    rails = LLMRails(config)
    for name, function in actions.items():
        rails.register_action(function, name)
    for name, value in params.items():
        rails.register_action_param(name, value)
    runtime = rails.runtime
    keep = reachable(runtime.flow_configs, own | core_flow_ids())
    runtime.flow_configs = {k: v for k, v in runtime.flow_configs.items() if k in keep}
    return rails


def reachable(flow_configs: dict[str, Any], roots: Iterable[str]) -> set[str]:
    """`roots` and every flow they call (`do <flow>`), transitively. Dynamic calls such as
    `do $output_flows[$i]` name rails flows, which are the policy's own and so already roots."""
    keep = {r for r in roots if r in flow_configs}
    todo = list(keep)
    while todo:
        for element in flow_configs[todo.pop()].elements:
            called = element.get("flow_name") if element.get("_type") == "flow" else None
            if called in flow_configs and called not in keep:
                keep.add(called)
                todo.append(called)
    return keep
