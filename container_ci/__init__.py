"""container-ci: a testing and CI harness for Nova's container compute drivers."""

__version__ = "0.1.0"
