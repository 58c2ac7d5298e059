"""The request graph's nodes, one module each, named after the node."""
