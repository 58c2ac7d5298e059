"""Where state shared by processes lives: SQL databases, Redis, locks. Imports nothing of
railyard; ingest/ and serving/ both build on it."""
