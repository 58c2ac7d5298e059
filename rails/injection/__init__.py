"""The injection rail."""
