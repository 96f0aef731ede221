"""A Nova compute driver backed by the Docker Engine (see driver.py), for the local cloud."""
