"""How many bytes of each kind of response the client reads: a server may send an endless body."""

from __future__ import annotations

from dataclasses import dataclass, fields, replace

from pipeline.env import env_number

MIB = 1024 * 1024


@dataclass(frozen=True)
class BodyCap:
    """At most `limit` bytes of a `what`; past it the body is cut (`keep_cut`) or the try fails."""

    what: str
    limit: int
    variable: str
    keep_cut: bool = False

    def exceeded(self, url: str) -> str:
        """The one-line complaint about a body past this cap, naming the setting that raises it."""
        return (
            f"{self.what} from {url} is larger than {self.limit} bytes; "
            f"if that is real, raise {self.variable}"
        )


@dataclass(frozen=True)
class BodyCaps:
    # A page of 1,000 models with every property is a few MiB; an oversize one is asked again, smaller.
    listing: BodyCap = BodyCap("listing page", 64 * MIB, "HUBMINE_MAX_LISTING_BYTES")
    # An oversize README is kept cut at the cap (and marked so); only the start matters to the analyses.
    readme: BodyCap = BodyCap("README", 10 * MIB, "HUBMINE_MAX_README_BYTES", keep_cut=True)
    overview: BodyCap = BodyCap("organization overview", 1 * MIB, "HUBMINE_MAX_OVERVIEW_BYTES")
    # An eval-results file is a short YAML list; an oversize one is kept cut (and marked so), as a README.
    eval_results: BodyCap = BodyCap(
        "eval-results file", 1 * MIB, "HUBMINE_MAX_EVAL_RESULTS_BYTES", keep_cut=True
    )

    # A model's info with its security status, or a page of its file tree with each file's scan results.
    security: BodyCap = BodyCap("security status", 16 * MIB, "HUBMINE_MAX_SECURITY_BYTES")
    # A pickle file to scan is kept cut at the cap and not scanned: past it nothing more is read.
    pickle: BodyCap = BodyCap("pickle file", 512 * MIB, "HUBMINE_MAX_PICKLE_BYTES", keep_cut=True)

    @classmethod
    def from_env(cls) -> BodyCaps:
        """The defaults, each overridable with its variable."""
        defaults = cls()
        caps = {f.name: getattr(defaults, f.name) for f in fields(cls)}
        return cls(
            **{
                name: replace(cap, limit=env_number(cap.variable, cap.limit, minimum=1))
                for name, cap in caps.items()
            }
        )
