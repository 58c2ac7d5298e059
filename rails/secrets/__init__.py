"""The secrets rail."""
