"""`railyard experiment fallback`: replay a query set under routing policies and compare."""
