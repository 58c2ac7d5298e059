"""Offline defaults: without them litellm fetches its cost map and NeMo/HF reach the network.

These are process-wide switches that libraries read at import time, so they are set before
those imports; a variable the user already set is left alone."""

from __future__ import annotations

import os

OFFLINE_ENV = {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "LITELLM_LOCAL_MODEL_COST_MAP": "True",
    "NEMO_GUARDRAILS_NO_USAGE_STATS": "1",
    "VLLM_NO_USAGE_STATS": "1",
    "DO_NOT_TRACK": "1",
}


def apply_defaults() -> None:
    for name, value in OFFLINE_ENV.items():
        os.environ.setdefault(name, value)
