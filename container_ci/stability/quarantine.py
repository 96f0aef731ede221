"""Quarantine entries: a failure signature someone classified
(jobs/promotion.yaml `classified_signatures`) or a capability gap
(capabilities.yaml `unsupported`), accepted for now with a reason, and
optionally an owner, a bug link and an expiry date.

An expiry makes the acceptance a promise with a date: once it is past, the
signature counts as unclassified again (`stability decide`) and the entry is
an error in `zuul check`, so a quarantine cannot silently become permanent.
An entry is valid through its expiry day and expired from the next."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

KEYS = ("reason", "owner", "bug", "expires")


@dataclass(frozen=True)
class Quarantine:
    reason: str
    owner: str | None = None
    bug: str | None = None
    expires: date | None = None
    line: int = 0  # of the entry in its file, for `file:line` messages

    def expired(self, today: date) -> bool:
        return self.expires is not None and self.expires < today

    def describe(self) -> str:
        """`owner x, bug URL`: who to ask, and where it is followed."""
        return ", ".join(
            [f"owner {self.owner}" if self.owner else "no owner"]
            + ([f"bug {self.bug}"] if self.bug else [])
        )


def parse_expiry(value: Any) -> date:
    """A YAML date (`2027-03-01`, which YAML loads as a date) or the same as
    text; ValueError otherwise."""
    if isinstance(value, datetime):  # `2027-03-01 12:00`: the day is what counts
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        return date.fromisoformat(value.strip())
    raise ValueError(f"{value!r} is not a date (YYYY-MM-DD)")


def parse_entry(value: Any, line: int) -> tuple[Quarantine | None, str | None]:
    """A quarantine from its YAML form: a reason as text, or a mapping of
    reason (required), owner, bug (an http(s) link) and expires. Returns the
    entry, or None and what is wrong with it (as `key: message`)."""
    if isinstance(value, str):
        if not value.strip():
            return None, "reason: empty; say why it is accepted"
        return Quarantine(" ".join(value.split()), line=line), None
    if not isinstance(value, dict):
        return None, f"{value!r} is neither a reason nor a mapping of {', '.join(KEYS)}"
    unknown = sorted(str(key) for key in value if key not in KEYS)
    if unknown:
        return None, f"{unknown[0]}: unknown key; allowed: {', '.join(KEYS)}"
    reason = value.get("reason")
    if not isinstance(reason, str) or not reason.strip():
        return None, "reason: required: say why it is accepted"
    for key in ("owner", "bug"):
        if key in value and (not isinstance(value[key], str) or not value[key].strip()):
            return None, f"{key}: {value[key]!r} is not a non-empty text"
    bug = value.get("bug")
    if bug is not None and not str(bug).startswith(("http://", "https://")):
        return None, f"bug: {bug!r} is not a link (http:// or https://)"
    expires = None
    if "expires" in value:
        try:
            expires = parse_expiry(value["expires"])
        except ValueError:
            return None, f"expires: {value['expires']!r} is not a date (YYYY-MM-DD)"
    owner = value.get("owner")
    return (
        Quarantine(
            " ".join(reason.split()),
            owner=str(owner).strip() if owner else None,
            bug=str(bug).strip() if bug else None,
            expires=expires,
            line=line,
        ),
        None,
    )
