"""The gateway's command groups (see serving/cli.py): each module's `register(commands)` adds
its sub-command and the handler `(settings, args) -> exit code`, importing heavy libraries only
when it runs."""
