"""Read-side reports over what railyard stored (traces, feedback): the queries the console,
the CLI and the budgets read. Imports storage/ only."""
