"""``safecity api`` as it runs, over raw sockets: connections and bodies that would hold memory are let go.

The server runs with short timeouts (1 s for headers and keep-alive, 2 s for a body), so each test waits for
the server to act, never for a fixed time.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator

import pytest

from tests.live_api import live_api

PATIENCE_S = 30  # how long a test waits for the server to do what it must, at most


@pytest.fixture(scope="module")
def server(pg_server, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int]]:
    timeouts = {"HTTP_HEADER_TIMEOUT": "1", "HTTP_KEEP_ALIVE_TIMEOUT": "1", "HTTP_BODY_TIMEOUT": "2"}
    with live_api(pg_server, tmp_path_factory.mktemp("var"), **timeouts) as api:
        yield api.host, api.port


def connect(server: tuple[str, int]) -> socket.socket:
    sock = socket.create_connection(server)
    sock.settimeout(PATIENCE_S)
    return sock


def read_to_close(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection."""
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    return data


def status_and_body(raw: bytes) -> tuple[int, dict[str, str], bytes]:
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.lower().split(": ", 1) for line in lines[1:])
    return int(lines[0].split()[1]), headers, body


def test_a_connection_that_says_nothing_is_closed(server):
    with connect(server) as sock:
        assert read_to_close(sock) == b""


def test_headers_trickled_a_byte_at_a_time_are_cut_off_with_408(server):
    with connect(server) as sock:
        sock.sendall(b"GET /health HTTP/1.1\r\nhost: x\r\nx-slow: ")
        sock.settimeout(0.2)
        answer = b""
        for _ in range(PATIENCE_S * 5):  # each byte would reset a timeout of idleness; the deadline holds
            try:
                sock.sendall(b"a")
                answer = sock.recv(65536)
                break
            except TimeoutError:
                continue
        assert answer.startswith(b"HTTP/1.1 408")


def test_headers_beyond_16_kb_are_refused_with_431(server):
    with connect(server) as sock:
        sock.sendall(b"GET /health HTTP/1.1\r\nhost: x\r\nx-big: " + b"a" * 20_000 + b"\r\n\r\n")
        status, _, _ = status_and_body(read_to_close(sock))
    assert status == 431


def test_an_idle_keep_alive_connection_is_closed(server):
    with connect(server) as sock:
        sock.sendall(b"GET /health HTTP/1.1\r\nhost: x\r\n\r\n")
        raw = read_to_close(sock)  # the answer, then the close once the connection has been idle
    assert raw.startswith(b"HTTP/1.1 200")


def test_a_body_announced_too_large_is_refused_before_it_is_sent(server):
    with connect(server) as sock:
        # Only the headers: had the server waited for the body, it would answer 408 once its deadline passed.
        sock.sendall(b"POST /v1/auth/otp HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n")
        sock.sendall(b"content-length: 10000000\r\n\r\n")
        status, headers, body = status_and_body(read_to_close(sock))
    assert status == 413
    assert headers["content-type"] == "application/problem+json"
    assert json.loads(body)["max_bytes"] == 2048


def test_a_chunked_body_is_stopped_at_the_limit(server):
    chunk = b"%x\r\n%s\r\n" % (65536, b"0" * 65536)
    with connect(server) as sock:
        sock.sendall(b"POST /v1/auth/otp HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n")
        sock.sendall(b"transfer-encoding: chunked\r\n\r\n")
        try:
            for _ in range(160):  # 10 MB, unless the server hangs up first
                sock.sendall(chunk)
        except (BrokenPipeError, ConnectionResetError):
            pass
        status, _, body = status_and_body(read_to_close(sock))
    assert status == 413
    assert json.loads(body)["code"] == "body_too_large"


def test_a_body_trickling_in_is_cut_off_with_408(server):
    with connect(server) as sock:
        sock.sendall(b"POST /v1/auth/otp HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n")
        sock.sendall(b'content-length: 40\r\n\r\n{"phone": ')
        status, headers, body = status_and_body(read_to_close(sock))
    assert status == 408
    assert headers["content-type"] == "application/problem+json"
    assert "took longer than 2 s" in json.loads(body)["detail"]
