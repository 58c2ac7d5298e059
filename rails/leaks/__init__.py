"""The leaks rail."""
