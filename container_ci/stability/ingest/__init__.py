"""Readers that turn result files into ParsedBuilds, and the writer that stores them."""
