"""The topics rail."""
