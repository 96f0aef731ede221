"""Zuul's own voluptuous schemas, from the `zuul` package's configloader (the
code Zuul validates with), not a hand-written copy. Their parsers take a
parse context they do not need for building the schema: None is passed."""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

from container_ci.errors import BadInput
from container_ci.yaml_source import dotted
from container_ci.zuul.config import Problem, Stanza

if TYPE_CHECKING:
    import voluptuous

# Stanza kind -> the configloader parser whose schema validates it.
PARSERS = {
    "job": "JobParser",
    "project": "ProjectParser",
    "project-template": "ProjectTemplateParser",
    "nodeset": "NodeSetParser",
    "secret": "SecretParser",
    "semaphore": "SemaphoreParser",
    "queue": "QueueParser",
    "pragma": "PragmaParser",
    "pipeline": "PipelineParser",
}


def _configloader() -> Any:
    try:
        from zuul import configloader
    except ImportError as exc:  # pragma: no cover - an install without the extra
        raise BadInput(
            f"container-ci zuul needs the `zuul` package (pip install 'container-ci[zuul]'): {exc}"
        ) from exc
    return configloader


@functools.cache
def schema_for(kind: str) -> Any:
    configloader = _configloader()
    parser_class = getattr(configloader, PARSERS[kind])
    if kind == "job":
        return parser_class.schema  # a class attribute
    if kind == "pragma":
        return parser_class.schema
    if kind == "pipeline":
        return None  # needs the tenant's connections: left to Zuul itself
    return parser_class(None).schema


def schema_problems(stanza: Stanza) -> list[Problem]:
    import voluptuous

    if stanza.kind not in PARSERS:
        return []
    schema = schema_for(stanza.kind)
    if schema is None:
        return []
    try:
        schema(stanza.body)
    except voluptuous.MultipleInvalid as exc:
        return [_problem(stanza, error) for error in exc.errors]
    except voluptuous.Invalid as exc:
        return [_problem(stanza, exc)]
    return []


def _problem(stanza: Stanza, error: voluptuous.Invalid) -> Problem:
    location = [part for part in error.path if isinstance(part, str | int)]
    message = error.error_message
    if message == "extra keys not allowed" and location:
        message = f"unknown attribute {location[-1]!r} (not in Zuul's {stanza.kind} schema)"
    elif message == "required key not provided" and location:
        message = f"{location[-1]!r} is required"
    return stanza.problem(location, f"{stanza.label}: {dotted(location)}: {message}")
