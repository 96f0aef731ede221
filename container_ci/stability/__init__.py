"""Stability tracking: the store, ingest of results, analysis, promotion decisions."""
