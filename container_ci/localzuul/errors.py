"""The local Zuul's error: broken infrastructure (exit 3, one line).

`container_ci.errors` is shared with the rest of the harness; this subclass
lets a caller tell the local Zuul's failures from the local cloud's while the
command line still maps it to exit 3 like every InfrastructureError."""

from __future__ import annotations

from container_ci.errors import InfrastructureError


class ZuulError(InfrastructureError):
    """The local Zuul cannot be installed, configured or started, or did
    not answer: what failed and which log says more, in one line."""
