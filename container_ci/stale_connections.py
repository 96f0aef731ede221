"""Requests that survive a kept-alive connection the server has just closed.

Every HTTP client of an OpenStack API here (the cloud targets, `cloud up`)
goes through keystoneauth and requests, which never send a request again;
this gives their sessions what Tempest's own client has."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import requests

# Safe methods (RFC 9110, 9.2.1): sending one again changes nothing on the
# server, whether or not it had read the first.
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def retry_safe_requests(session: requests.Session) -> None:
    """Send a safe request again when its connection turns out closed.

    An API server closes a kept-alive connection once it has been idle for
    its keep-alive time (gunicorn's default is 2 s), and a client that sends
    its next request on it at that moment gets a reset or no answer. A state
    wait polls every second, so its idle gaps are about that long: the
    local cloud's CI lost two runs to it ("Connection aborted.", "Connection
    reset by peer"; once after the machine had been paused for 50 s and
    every kept-alive connection had run out at once). requests sends nothing
    again (its adapters' `max_retries` is 0); Tempest's HTTP client
    (tempest.lib.common.http) gives urllib3 its default `Retry`, which sends
    idempotent requests again. Here: safe methods only, at most twice, at
    once and then after 0.5 s; a connection that could not be made (nothing
    was sent) is tried again too, whatever the method. Anything else, and a
    POST, PUT or DELETE whose connection broke, fails as before."""
    from requests.adapters import HTTPAdapter
    from urllib3.util import Retry

    retry = Retry(
        total=2,
        connect=2,
        read=2,
        status=0,
        other=0,
        redirect=False,
        allowed_methods=SAFE_METHODS,
        backoff_factor=0.25,
        raise_on_status=False,
    )
    for adapter in session.adapters.values():
        if isinstance(adapter, HTTPAdapter):
            adapter.max_retries = retry
