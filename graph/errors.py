"""Errors the request graph raises for its callers to answer (serving maps them to HTTP)."""

from __future__ import annotations


class RetrievalUnavailable(Exception):
    """The knowledge base (Milvus) did not answer in time or failed: the request cannot be
    answered from the documents."""
