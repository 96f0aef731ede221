"""Executing scenarios x targets: steps, timeouts, cleanup, cancellation."""
