"""The retrieval rail."""
