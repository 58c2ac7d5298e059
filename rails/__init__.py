"""Guardrails: NeMo Guardrails policies (Colang 1.0) and the actions they call.

Policy owners edit this folder."""
