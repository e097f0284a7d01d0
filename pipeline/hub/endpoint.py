"""The endpoint every Hub URL is built on: checked once, and never carrying credentials."""

from __future__ import annotations

from urllib.parse import urlsplit

from pipeline.errors import SettingError

DEFAULT_ENDPOINT = "https://huggingface.co"
_DEFAULT_PORTS = {"http": 80, "https": 443}


def checked_endpoint(endpoint: str) -> str:
    """`endpoint` without a trailing slash, if it is an http(s) URL with a host and no credentials.

    A user:password part is refused rather than kept: every URL built on it would carry it into
    messages, archives and manifests. The Hub token goes in a header (HF_TOKEN), never in a URL.
    """
    text = endpoint.strip().rstrip("/")
    try:
        parts = urlsplit(text)
        port_ok = parts.port is None or parts.port > 0
    except ValueError:
        parts, port_ok = None, False
    if parts is not None and (parts.username is not None or parts.password is not None):
        port = f":{parts.port}" if port_ok and parts.port else ""
        shown = f"{parts.scheme}://{parts.hostname or ''}{port}"
        raise SettingError(
            f"HF_ENDPOINT must not carry a user name or password ({shown} with credentials); "
            "set the Hub token in HF_TOKEN instead"
        )
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname or not port_ok:
        raise SettingError(
            f"HF_ENDPOINT={text[:200]!r} is not an http(s) URL with a host; set it like {DEFAULT_ENDPOINT} "
            "or unset it"
        )
    if parts.query or parts.fragment:
        raise SettingError(f"HF_ENDPOINT={text[:200]!r} must not have a query or fragment; drop them")
    return text


def same_origin(url: str, endpoint: str) -> bool:
    """Whether `url` goes to the endpoint's scheme, host and port (where the token may be sent)."""
    try:
        return _origin(url) == _origin(endpoint)
    except ValueError:
        return False


def _origin(url: str) -> tuple[str, str | None, int | None]:
    parts = urlsplit(url)
    return parts.scheme, parts.hostname, parts.port or _DEFAULT_PORTS.get(parts.scheme)
