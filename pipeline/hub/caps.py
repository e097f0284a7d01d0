"""How many bytes of each kind of response the client reads: a server may send an endless body."""

from __future__ import annotations

from dataclasses import dataclass, fields, replace

from pipeline import settings
from pipeline.settings import Number


@dataclass(frozen=True)
class BodyCap:
    """At most `limit` bytes of a `what`; past it the body is cut (`keep_cut`) or the try fails."""

    what: str
    limit: int
    variable: str
    keep_cut: bool = False

    @classmethod
    def of(cls, what: str, setting: Number, keep_cut: bool = False) -> BodyCap:
        """The cap `setting` holds now (its default when unset)."""
        return cls(what, setting.read(), setting.name, keep_cut)

    def exceeded(self, url: str) -> str:
        """The one-line complaint about a body past this cap, naming the setting that raises it."""
        return (
            f"{self.what} from {url} is larger than {self.limit} bytes; "
            f"if that is real, raise {self.variable}"
        )


@dataclass(frozen=True)
class BodyCaps:
    # A page of 1,000 models with every property is a few MiB; an oversize one is asked again, smaller.
    listing: BodyCap = BodyCap(
        "listing page", settings.MAX_LISTING_BYTES.default, settings.MAX_LISTING_BYTES.name
    )
    # An oversize README is kept cut at the cap (and marked so); only the start matters to the analyses.
    readme: BodyCap = BodyCap(
        "README", settings.MAX_README_BYTES.default, settings.MAX_README_BYTES.name, keep_cut=True
    )
    overview: BodyCap = BodyCap(
        "organization overview", settings.MAX_OVERVIEW_BYTES.default, settings.MAX_OVERVIEW_BYTES.name
    )
    # An eval-results file is a short YAML list; an oversize one is kept cut (and marked so), as a README.
    eval_results: BodyCap = BodyCap(
        "eval-results file",
        settings.MAX_EVAL_RESULTS_BYTES.default,
        settings.MAX_EVAL_RESULTS_BYTES.name,
        keep_cut=True,
    )

    # A model's info with its security status, or a page of its file tree with each file's scan results.
    security: BodyCap = BodyCap(
        "security status", settings.MAX_SECURITY_BYTES.default, settings.MAX_SECURITY_BYTES.name
    )
    # A pickle file to scan is kept cut at the cap and not scanned: past it nothing more is read.
    pickle: BodyCap = BodyCap(
        "pickle file", settings.MAX_PICKLE_BYTES.default, settings.MAX_PICKLE_BYTES.name, keep_cut=True
    )

    @classmethod
    def from_env(cls) -> BodyCaps:
        """The defaults, each overridable with its variable."""
        defaults = cls()
        caps = {f.name: getattr(defaults, f.name) for f in fields(cls)}
        return cls(
            **{
                name: replace(cap, limit=settings.declared()[cap.variable].read())
                for name, cap in caps.items()
            }
        )
