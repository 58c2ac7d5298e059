"""Every table railyard keeps, version by version: the one place a schema is written. Each
store migrates its component on open (`Database.migrate`, storage/database.py); a version once
released is never edited, a change is a new version appended."""

from __future__ import annotations

# documents, runs, pending chunks and evaluations of the ingest manifest (ingest/manifest.py)
MANIFEST = [
    [  # the tables of manifests written before migrations were numbered
        "CREATE TABLE IF NOT EXISTS documents (root TEXT NOT NULL, source TEXT NOT NULL, "
        "content_hash TEXT NOT NULL, chunk_ids TEXT NOT NULL, title TEXT, run_id TEXT, "
        "updated_at DOUBLE PRECISION, terms TEXT, PRIMARY KEY (root, source))",
        "CREATE TABLE IF NOT EXISTS runs (run_id TEXT PRIMARY KEY, "
        "started_at DOUBLE PRECISION, finished_at DOUBLE PRECISION, status TEXT, "
        "embedding_model TEXT, index_version INTEGER, summary TEXT)",
        "CREATE TABLE IF NOT EXISTS pending (run_id TEXT, chunk_ids TEXT)",
        "CREATE TABLE IF NOT EXISTS garbage (chunk_ids TEXT)",
        "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT)",
    ],
    [  # names of their own in a database the gateway's stores share
        f"ALTER TABLE {table} RENAME TO manifest_{table}"
        for table in ("documents", "runs", "pending", "garbage", "meta")
    ],
    [  # the eval set's figures on each index version (ingest/evaluation.py)
        "CREATE TABLE IF NOT EXISTS manifest_evaluations (index_version INTEGER NOT NULL, "
        "created DOUBLE PRECISION NOT NULL, eval_set TEXT NOT NULL, figures TEXT NOT NULL)",
    ],
]

# API keys and projects (serving/access/keys.py)
API_KEYS = [
    [
        "CREATE TABLE IF NOT EXISTS railyard_api_keys (sha256 TEXT PRIMARY KEY, "
        "entry TEXT NOT NULL, created DOUBLE PRECISION NOT NULL)",
        "CREATE TABLE IF NOT EXISTS railyard_projects (project TEXT PRIMARY KEY, "
        "budget TEXT NOT NULL)",
    ]
]

# conversation threads and their owners (serving/chat/threads.py)
THREADS = [
    [
        "CREATE TABLE IF NOT EXISTS railyard_threads "
        "(thread_id TEXT PRIMARY KEY, used DOUBLE PRECISION)"
    ],
]

# prompt rollouts (serving/prompts/store.py)
PROMPT_ROLLOUTS = [
    [
        """CREATE TABLE IF NOT EXISTS prompt_rollouts (
            rollout_id TEXT PRIMARY KEY,
            created DOUBLE PRECISION NOT NULL,
            action TEXT NOT NULL,
            shares TEXT NOT NULL,
            actor TEXT,
            note TEXT
        )""",
        "CREATE INDEX IF NOT EXISTS prompt_rollouts_created ON prompt_rollouts (created)",
    ]
]

# traces, feedback and the trace-id keys (serving/observability/store.py)
TRACES = [
    [
        """CREATE TABLE IF NOT EXISTS traces (
            trace_id TEXT PRIMARY KEY,
            created DOUBLE PRECISION NOT NULL,
            project TEXT NOT NULL,
            "user" TEXT,
            route TEXT NOT NULL,
            outcome TEXT NOT NULL,
            prompt_version TEXT,
            cost_usd DOUBLE PRECISION NOT NULL,
            latency_ms DOUBLE PRECISION NOT NULL,
            body TEXT NOT NULL
        )""",
        "CREATE INDEX IF NOT EXISTS traces_created ON traces (created)",
        "CREATE INDEX IF NOT EXISTS traces_project ON traces (project, created)",
        """CREATE TABLE IF NOT EXISTS feedback (
            trace_id TEXT NOT NULL REFERENCES traces (trace_id) ON DELETE CASCADE,
            created DOUBLE PRECISION NOT NULL,
            score DOUBLE PRECISION NOT NULL,
            comment TEXT
        )""",
        "CREATE INDEX IF NOT EXISTS feedback_trace ON feedback (trace_id)",
    ],
    [
        # The API key a trace's request came with (its spend counts toward the key's budget).
        "ALTER TABLE traces ADD COLUMN key_id TEXT",
    ],
    [
        # The answer the user says was right, given with a low score (feedback export).
        "ALTER TABLE feedback ADD COLUMN correction TEXT",
    ],
    [
        # The deployment's key for trace-id tags (observability/ids.py), shared by replicas.
        "CREATE TABLE IF NOT EXISTS trace_id_keys (name TEXT PRIMARY KEY, secret TEXT NOT NULL)",
    ],
    [
        # Who rated: one rating per key and trace, the last one wins (no ballot stuffing).
        "ALTER TABLE feedback ADD COLUMN key_id TEXT",
        "CREATE INDEX IF NOT EXISTS feedback_rater ON feedback (trace_id, key_id)",
    ],
]
"""The schema, version by version (a file from before versioning already has version 1)."""
