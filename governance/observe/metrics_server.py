"""An HTTP endpoint Prometheus scrapes: `/metrics` renders the metrics afresh on every scrape,
so it always shows what the warehouse holds now (no cache, no background thread).

A scrape while the warehouse cannot be read (dbt holds DuckDB's write lock, no build yet)
answers 503 with the reason, so Prometheus marks the target down (`up == 0`) instead of
serving stale numbers.
"""

from __future__ import annotations

from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from prometheus_client.exposition import CONTENT_TYPE_LATEST

from governance.errors import SyncgovError

Render = Callable[[], str]


class MetricsServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, host: str, port: int, render: Render) -> None:
        self.render = render
        super().__init__((host, port), _Handler)

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}/metrics"


class _Handler(BaseHTTPRequestHandler):
    server: MetricsServer

    def do_GET(self) -> None:
        if self.path.split("?")[0] not in ("/metrics", "/"):
            self._send(404, "text/plain; charset=utf-8", "not found; metrics are at /metrics\n")
            return
        if self.path == "/":
            self._send(200, "text/plain; charset=utf-8", "syncgov metrics: GET /metrics\n")
            return
        try:
            body = self.server.render()
        except SyncgovError as exc:
            self._send(503, "text/plain; charset=utf-8", f"syncgov: {exc}\n")
            return
        self._send(200, CONTENT_TYPE_LATEST, body)

    def _send(self, code: int, content_type: str, body: str) -> None:
        data = body.encode()
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: a scrape every few seconds is not news (library code does not print)."""


def metrics_server(host: str, port: int, render: Render) -> MetricsServer:
    """A bound server (port 0 picks a free one); call `serve_forever()` on it."""
    try:
        return MetricsServer(host, port, render)
    except OSError as exc:
        raise SyncgovError(f"cannot listen on {host}:{port} ({exc.strerror})") from None
