"""The self_check rail."""
