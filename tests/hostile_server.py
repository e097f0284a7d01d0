"""A Hub that misbehaves on purpose: a real HTTP server on 127.0.0.1 whose `mode` picks the misdeed.

Modes:
- `endless`: the listing is a JSON list that never ends;
- `trickle`: the listing promises a megabyte and sends it a byte at a time;
- `slow`: a healthy but slow Hub: three listing pages, each begun after `first_byte_s` and sent in
  pieces of `piece` bytes every `trickle_s`, padded to `page_bytes`;
- `hang`: every request is accepted and never answered;
- `self_link`: the listing's next link is the page itself;
- `stale_cursor`: every page lists the same models under a new cursor;
- `rate_limit`: three good pages, each with the `RateLimit` header in `rate_limit` (and a 429 with
  `Retry-After: retry_after` before the first);
- `html`: an HTML page where the listing's JSON should be;
- `escaping_ids`: the listing names ids that walk to other repositories (`a/b/../../victim/model`);
- `foreign_link`: the listing's next link points to another host;
- `endless_refs`: git's ref advertisement (`/{id}/info/refs`) never ends;
- `stacked_gzip`: the listing compressed six times over, each said in `Content-Encoding`;
- `non_objects`: the listing holds one model and entries that are no model record.

It counts what it did: `requests` (the paths asked for) and `bytes_sent`, so a test can bound the
client's work by what the server saw rather than by the clock.
"""

from __future__ import annotations

import gzip
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qsl, urlsplit

SHA = "0123456789abcdef0123456789abcdef01234567"
ESCAPING_IDS = ("a/b/../../victim/model", "../victim/model", "ok/..", "victim/model/../../..")
README = b"# ok\n"


def model(model_id: str) -> dict[str, Any]:
    return {"id": model_id, "sha": SHA, "siblings": [{"rfilename": "README.md"}]}


def pkt_line(text: str) -> bytes:
    """One line of git's pkt-line framing: its length in four hex digits, then the line."""
    data = text.encode()
    return b"%04x%s" % (len(data) + 4, data)


class HostileHub:
    def __init__(
        self,
        mode: str,
        rate_limit: str = "",
        retry_after: str = "",
        trickle_s: float = 0.01,
        first_byte_s: float = 0.0,
        piece: int = 1,
        page_bytes: int = 0,
    ) -> None:
        self.mode = mode
        self.first_byte_s = first_byte_s
        self.piece = piece
        self.page_bytes = page_bytes
        self.rate_limit = rate_limit
        self.retry_after = retry_after
        self.trickle_s = trickle_s
        self.requests: list[str] = []
        self.bytes_sent = 0
        self.refused = False
        self._lock = threading.Lock()
        self._closing = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> HostileHub:
        self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._closing.set()
        self._server.shutdown()
        self._server.server_close()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        hub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def send(self, data: bytes) -> None:
                self.wfile.write(data)
                self.wfile.flush()
                with hub._lock:
                    hub.bytes_sent += len(data)

            def reply(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
                self.send_response(status)
                for name, value in {"Content-Type": "application/json", **(headers or {})}.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.send(body)

            def do_GET(self) -> None:
                with hub._lock:
                    hub.requests.append(self.path)
                try:
                    if urlsplit(self.path).path == "/api/models":
                        self.listing()
                    elif hub.mode == "endless_refs" and urlsplit(self.path).path.endswith("/info/refs"):
                        self.endless_refs()
                    elif self.path == f"/ok/model/resolve/{SHA}/README.md":
                        self.reply(200, README, {"Content-Type": "text/plain"})
                    else:
                        self.reply(404, b"{}")
                except (BrokenPipeError, ConnectionResetError):
                    self.close_connection = True

            def listing(self) -> None:
                query = dict(parse_qsl(urlsplit(self.path).query))
                here = f"{hub.url}{self.path}"
                cursor = int(query.get("cursor", "0"))
                following = f'<{hub.url}/api/models?cursor={cursor + 1}>; rel="next"'
                page = json.dumps([model("ok/model"), model("ok/other")]).encode()
                if hub.mode == "endless":
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.end_headers()
                    self.send(b"[")
                    entry = json.dumps(model("ok/model")).encode() + b","
                    while not hub._closing.is_set():
                        self.send(entry * 64)
                elif hub.mode == "trickle":
                    self.send_response(200)
                    self.send_header("Content-Length", str(10**6))
                    self.end_headers()
                    while not hub._closing.is_set():
                        self.send(b" ")
                        time.sleep(hub.trickle_s)
                elif hub.mode == "hang":
                    hub._closing.wait()
                elif hub.mode == "non_objects":
                    entries = [model("ok/model"), 1, "ok/other", None, [model("ok/list")], {"no": "id"}]
                    self.reply(200, json.dumps(entries).encode())
                elif hub.mode == "stacked_gzip":
                    body = page
                    for _ in range(6):
                        body = gzip.compress(body)
                    self.reply(200, body, {"Content-Encoding": ", ".join(["gzip"] * 6)})
                elif hub.mode == "slow":
                    self.slow_page(cursor, following)
                elif hub.mode == "self_link":
                    self.reply(200, page, {"Link": f'<{here}>; rel="next"'})
                elif hub.mode == "stale_cursor":
                    self.reply(200, page, {"Link": following})
                elif hub.mode == "rate_limit":
                    if hub.retry_after and not hub.refused:
                        hub.refused = True
                        self.reply(429, b"{}", {"Retry-After": hub.retry_after})
                        return
                    headers = {
                        "RateLimit": hub.rate_limit,
                        "RateLimit-Policy": '"fixed window";"api";q=5;w=10',
                    }
                    if cursor < 2:
                        headers["Link"] = following
                    self.reply(200, json.dumps([model(f"ok/m{cursor}")]).encode(), headers)
                elif hub.mode == "html":
                    self.reply(
                        200, b"<html><body>\n<h1>Welcome</h1>\n</body></html>", {"Content-Type": "text/html"}
                    )
                elif hub.mode == "escaping_ids":
                    ids = ("ok/model", *ESCAPING_IDS)
                    self.reply(200, json.dumps([model(m) for m in ids]).encode())
                elif hub.mode == "foreign_link":
                    foreign = hub.url.replace("127.0.0.1", "127.0.0.2")
                    self.reply(200, page, {"Link": f'<{foreign}/api/models?cursor=1>; rel="next"'})
                else:
                    raise ValueError(f"no mode {hub.mode!r}")

            def endless_refs(self) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "application/x-git-upload-pack-advertisement")
                self.send_header("Connection", "close")
                self.end_headers()
                service = b"# service=git-upload-pack\n"
                self.send(b"%04x%s0000" % (len(service) + 4, service))
                refs = b"".join(pkt_line(f"{SHA} refs/heads/branch-{n:08d}\n") for n in range(1000))
                while not hub._closing.is_set():
                    self.send(refs)

            def slow_page(self, cursor: int, following: str) -> None:
                body = json.dumps([model(f"ok/m{cursor}")]).encode()
                body += b" " * max(0, hub.page_bytes - len(body))  # JSON may end in spaces
                hub._closing.wait(hub.first_byte_s)
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                if cursor < 2:
                    self.send_header("Link", following)
                self.end_headers()
                for start in range(0, len(body), hub.piece):
                    self.send(body[start : start + hub.piece])
                    time.sleep(hub.trickle_s)

        return Handler
