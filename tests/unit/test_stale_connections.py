"""A safe request survives the kept-alive connection a server closes as it
arrives; nothing else is sent twice. Against a real HTTP/1.1 server on
loopback that closes its first connection (with a reset, as gunicorn's
keep-alive expiry does to unread data) when the second request comes on it."""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import pytest
from keystoneauth1 import exceptions as ksa
from keystoneauth1 import session as ksa_session

from container_ci.stale_connections import retry_safe_requests


@dataclass
class ClosingServer:
    """Answers one request on its first connection, then resets that
    connection when the next request comes; every later connection is
    answered normally. `requests` lists the request lines it read."""

    listener: socket.socket
    requests: list[str] = field(default_factory=list)
    connections: list[socket.socket] = field(default_factory=list)

    @property
    def url(self) -> str:
        host, port = self.listener.getsockname()
        return f"http://{host}:{port}"

    def serve(self) -> None:
        first = True
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return  # closed: the test is over
            self.connections.append(conn)
            with conn:
                self._answer(conn)
                if first:
                    first = False
                    self._read_request(conn)
                    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    continue
                while self._answer(conn):
                    pass

    def stop(self) -> None:
        for sock in (self.listener, *self.connections):
            with contextlib.suppress(OSError):  # closed already
                sock.shutdown(socket.SHUT_RDWR)

    def _read_request(self, conn: socket.socket) -> bool:
        data = b""
        while b"\r\n\r\n" not in data:
            try:
                chunk = conn.recv(65536)
            except OSError:
                return False
            if not chunk:
                return False
            data += chunk
        self.requests.append(data.split(b"\r\n", 1)[0].decode())
        return True

    def _answer(self, conn: socket.socket) -> bool:
        if not self._read_request(conn):
            return False
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: keep-alive\r\n\r\nok")
        return True


@pytest.fixture
def server() -> Iterator[ClosingServer]:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    found = ClosingServer(listener)
    thread = threading.Thread(target=found.serve, daemon=True)
    thread.start()
    yield found
    found.stop()
    thread.join(timeout=5)
    listener.close()


@pytest.fixture
def sessions() -> Iterator[Callable[[bool], ksa_session.Session]]:
    """Sessions as openstacksdk makes them (keystoneauth's, on requests),
    with or without the retries; closed at the end."""
    made: list[ksa_session.Session] = []

    def make(retrying: bool) -> ksa_session.Session:
        session = ksa_session.Session()
        if retrying:
            retry_safe_requests(session.session)
        made.append(session)
        return session

    yield make
    for session in made:
        session.session.close()


def test_a_get_on_a_connection_the_server_closed_is_sent_again(
    server: ClosingServer, sessions: Callable[[bool], ksa_session.Session]
) -> None:
    made = sessions(True)
    assert made.get(f"{server.url}/one", authenticated=False).text == "ok"
    assert made.get(f"{server.url}/two", authenticated=False).text == "ok"
    assert server.requests == ["GET /one HTTP/1.1", "GET /two HTTP/1.1", "GET /two HTTP/1.1"]


def test_without_it_the_same_get_fails(
    server: ClosingServer, sessions: Callable[[bool], ksa_session.Session]
) -> None:
    """The server really does what a closing gunicorn does to a client."""
    made = sessions(False)
    made.get(f"{server.url}/one", authenticated=False)
    with pytest.raises(ksa.ConnectFailure, match="Connection aborted"):
        made.get(f"{server.url}/two", authenticated=False)


def test_a_post_is_never_sent_twice(
    server: ClosingServer, sessions: Callable[[bool], ksa_session.Session]
) -> None:
    made = sessions(True)
    made.get(f"{server.url}/one", authenticated=False)
    with pytest.raises(ksa.ConnectFailure, match="Connection aborted"):
        made.post(f"{server.url}/servers", json={"name": "x"}, authenticated=False)
    assert server.requests == ["GET /one HTTP/1.1", "POST /servers HTTP/1.1"]


def test_a_refused_connection_still_fails_as_refused(
    sessions: Callable[[bool], ksa_session.Session],
) -> None:
    """Tried again (nothing was sent, so whatever the method), then reported
    in the socket's words, which `targets.cloud.unreachable` quotes."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # bound, never listening: refused
        made = sessions(True)
        with pytest.raises(ksa.ConnectFailure, match="Connection refused"):
            made.post(f"http://127.0.0.1:{port}/servers", json={}, authenticated=False)
