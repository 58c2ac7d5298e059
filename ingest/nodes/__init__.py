"""The ingestion graph's nodes, one module each: load → clean → chunk → embed → index."""
