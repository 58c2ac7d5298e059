"""GET /v1/models, /healthz and /readyz."""
