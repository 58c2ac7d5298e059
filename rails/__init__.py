"""railyard's guardrails: the NeMo Guardrails policy folder (config.yml, one folder per rail
with its Colang flow and Python action) and the engine that runs it around the request graph."""

from rails.engine import PACKAGED, RailsEngine, RailsResult
from rails.errors import RailsConfigError, RailsError

__all__ = ["PACKAGED", "RailsConfigError", "RailsEngine", "RailsError", "RailsResult"]
