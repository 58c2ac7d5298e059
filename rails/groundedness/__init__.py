"""The groundedness rail."""
