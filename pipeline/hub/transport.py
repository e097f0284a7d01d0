"""One try of one GET: redirects followed by hand, the body read to its cap and within its deadline.

`requests` would read the whole body of every redirect it follows (an endless one never ends) and
send the token on to wherever a redirect points; a trickling server never trips a read timeout, which
bounds each wait for a byte, not the whole answer. Here every byte read counts against the cap, the
deadline is checked after every read, and so is the pace: fewer bytes than the stall rule asks for in
one window is a stall, ended at once rather than at the deadline.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, BinaryIO
from urllib.parse import urljoin, urlsplit

import requests
from urllib3.exceptions import DecodeError, ProtocolError, ReadTimeoutError, SSLError

from pipeline.hub.caps import BodyCap
from pipeline.hub.endpoint import same_origin
from pipeline.hub.responses import public_url

MAX_REDIRECTS = 5
_CHUNK = 1 << 16


class BodyTooLarge(requests.RequestException):
    """A body past its cap, for a kind of response that is no use cut."""


class AttemptDeadline(requests.Timeout):
    """One try took longer than its deadline, however steadily the bytes came."""


class Stalled(requests.Timeout):
    """The body came slower than the stall rule allows: a trickle, not a slow but working server."""


@dataclass(frozen=True)
class StallRule:
    """At least `min_bytes_per_s` on average over every `window_s` of a body, else the try stalled."""

    window_s: float
    min_bytes_per_s: float


@dataclass(frozen=True)
class Answer:
    url: str
    status: int
    headers: requests.structures.CaseInsensitiveDict[str]
    body: bytes
    truncated: bool


def fetch(
    session: requests.Session,
    url: str,
    *,
    endpoint: str,
    cap: BodyCap,
    connect_timeout_s: float,
    read_timeout_s: float,
    deadline: float,
    clock: Callable[[], float],
    stall: StallRule | None = None,
    sink: BinaryIO | None = None,
    form: Mapping[str, Any] | None = None,
) -> Answer:
    """GET `url` (POST `form` to it, form-encoded, when given), following up to MAX_REDIRECTS redirects;
    the token goes only to the endpoint's origin.

    With `sink` the body goes there as it arrives (a large file never sits in memory) and the answer's
    body is empty.
    """
    for _ in range(MAX_REDIRECTS + 1):
        left = deadline - clock()
        if left <= 0:
            raise AttemptDeadline(f"no complete answer from {public_url(url)} in time")
        # A header set to None is left out: the token is for the endpoint, not for where it redirects.
        headers = None if same_origin(url, endpoint) else {"Authorization": None}
        with session.request(
            "GET" if form is None else "POST",
            url,
            data=form,
            stream=True,
            allow_redirects=False,
            headers=headers,
            timeout=(min(connect_timeout_s, left), min(read_timeout_s, left)),
        ) as raw:
            if raw.is_redirect:
                url = _redirect_target(url, raw.headers["Location"])
                if raw.status_code not in (307, 308):
                    form = None  # only 307 and 308 repeat a POST; the others answer with a GET
                continue
            body, truncated = _read_body(raw, cap, deadline, clock, stall, sink)
            return Answer(raw.url, raw.status_code, raw.headers, body, truncated)
    raise requests.TooManyRedirects(f"more than {MAX_REDIRECTS} redirects from {public_url(url)}")


def _redirect_target(url: str, location: str) -> str:
    target = urljoin(url, location)
    if urlsplit(target).scheme not in ("http", "https"):
        raise requests.exceptions.InvalidURL(f"redirect from {public_url(url)} to a non-HTTP URL")
    return target


def _read_body(
    raw: requests.Response,
    cap: BodyCap,
    deadline: float,
    clock: Callable[[], float],
    stall: StallRule | None = None,
    sink: BinaryIO | None = None,
) -> tuple[bytes, bool]:
    """The body, at most `cap.limit` bytes: (body, whether it was cut); BodyTooLarge when it may not be.
    With `sink`, the body is written there instead, and b"" returned."""
    declared = raw.headers.get("Content-Length", "")
    encoded = "Content-Encoding" in raw.headers  # a compressed body's length says little of the real one
    if (
        not cap.keep_cut
        and not encoded
        and declared.isascii()
        and declared.isdigit()
        and int(declared) > cap.limit
    ):
        raise BodyTooLarge(cap.exceeded(public_url(raw.url)))
    body = bytearray()
    size = 0
    window_start, window_size = clock(), 0
    while True:
        if clock() > deadline:
            raise AttemptDeadline(f"the answer from {public_url(raw.url)} came too slowly")
        chunk = _read_some(raw)
        if not chunk:
            return bytes(body), False
        window_size += len(chunk)
        if stall is not None and clock() - window_start >= stall.window_s:
            if window_size < stall.min_bytes_per_s * stall.window_s:
                raise Stalled(
                    f"{public_url(raw.url)} sent {window_size} bytes in {clock() - window_start:.0f} s, "
                    f"slower than {stall.min_bytes_per_s:g} bytes/s"
                )
            window_start, window_size = clock(), 0
        cut = size + len(chunk) > cap.limit
        if cut:
            if not cap.keep_cut:
                raise BodyTooLarge(cap.exceeded(public_url(raw.url)))
            chunk = chunk[: cap.limit - size]
        size += len(chunk)
        if sink is None:
            body += chunk
        else:
            sink.write(chunk)
        if cut:
            return bytes(body), True


def _read_some(raw: requests.Response) -> bytes:
    """Whatever has arrived (up to a chunk), as soon as anything has: a trickle returns byte by byte."""
    try:
        return raw.raw.read1(_CHUNK, decode_content=True) or b""
    except ReadTimeoutError as exc:
        raise requests.exceptions.ReadTimeout(str(exc)) from None
    except SSLError as exc:
        raise requests.exceptions.SSLError(str(exc)) from None
    except DecodeError as exc:
        raise requests.exceptions.ContentDecodingError(str(exc)) from None
    except ProtocolError as exc:
        raise requests.exceptions.ChunkedEncodingError(str(exc)) from None
