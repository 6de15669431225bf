"""The metrics endpoint: rendered afresh per scrape, 503 with the reason when the warehouse
cannot be read, 404 elsewhere."""

from __future__ import annotations

import threading
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest

from governance.errors import InputError, SyncgovError
from governance.observe.metrics_server import MetricsServer, metrics_server


@pytest.fixture
def server() -> Iterator[tuple[MetricsServer, list[str]]]:
    answers = ["syncgov_a 1.0\n", "syncgov_a 2.0\n", "error"]

    def render() -> str:
        value = answers.pop(0)
        if value == "error":
            raise InputError("w.duckdb: cannot open (locked); if dbt is running, try again")
        return value

    srv = metrics_server("127.0.0.1", 0, render)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield srv, answers
    srv.shutdown()
    srv.server_close()


def get(url: str) -> tuple[int, str, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            return r.status, r.headers["Content-Type"], r.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers["Content-Type"], exc.read().decode()


def test_every_scrape_renders_again_and_errors_are_503(server) -> None:
    srv, _ = server
    assert get(srv.url)[::2] == (200, "syncgov_a 1.0\n")
    status, content_type, body = get(srv.url)
    assert (status, body) == (200, "syncgov_a 2.0\n")
    assert content_type.startswith("text/plain; version=")
    status, _, body = get(srv.url)
    assert status == 503
    assert "cannot open (locked)" in body
    assert get(srv.url.replace("/metrics", "/other"))[0] == 404


def test_a_taken_port_is_a_clear_error(server) -> None:
    srv, _ = server
    with pytest.raises(SyncgovError, match=r"cannot listen on 127\.0\.0\.1"):
        metrics_server("127.0.0.1", srv.server_address[1], lambda: "")
