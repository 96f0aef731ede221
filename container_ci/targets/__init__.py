"""Backends behind one Target contract (see base.py), and the registry of them."""
