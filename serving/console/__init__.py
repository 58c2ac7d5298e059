"""The web console at /ui: static pages (committed, no build step) over the same API."""
