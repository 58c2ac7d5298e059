"""POST /v1/admin/ingest: run ingestion inside the server, which owns the index."""
