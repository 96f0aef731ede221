"""Scenario files and the capability matrix: loading, schema checks, model."""
