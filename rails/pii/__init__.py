"""The pii rail."""
