"""Provisioning: packages, daemons and base images, idempotently, without systemd."""
