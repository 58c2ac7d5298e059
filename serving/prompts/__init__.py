"""Prompt versions in production: which released versions serve and with what share (a canary,
an A/B test), drawn per user or thread; the recorded history of rollouts; comparisons of two
versions from their traces."""

from serving.prompts.rollout import Rollout
from serving.prompts.served import ServedPrompts
from serving.prompts.store import RolloutStore

__all__ = ["Rollout", "RolloutStore", "ServedPrompts"]
