"""Standalone simulator: `python -m hubsim --synthetic 200000` prints its URL, then serves."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .faults import FAULT_KINDS, Faults
from .ratelimit import Quotas
from .registry import Registry
from .server import HubSimulator


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m hubsim", description=__doc__)
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument(
        "--sample", type=Path, help="a hub-sample data directory (models.jsonl.gz, readmes.parquet)"
    )
    source.add_argument("--synthetic", type=int, metavar="N", help="serve N generated models")
    p.add_argument("--seed", type=int, default=0, help="seed of the generated models")
    p.add_argument("--templates", type=Path, help="sample directory whose records shape the generated ones")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0, help="0 picks a free port")
    p.add_argument("--latency-ms", type=float, default=0.0)
    p.add_argument("--quota-api", type=int, help="API requests per window (enables quotas)")
    p.add_argument("--quota-resolvers", type=int, help="resolver requests per window (enables quotas)")
    p.add_argument("--window-s", type=float, default=300.0)
    p.add_argument("--fault-rate", type=float, default=0.0)
    p.add_argument("--fault-seed", type=int, default=0)
    p.add_argument(
        "--fault-kinds",
        default=",".join(FAULT_KINDS),
        help="comma-separated subset of " + ",".join(FAULT_KINDS),
    )
    p.add_argument(
        "--token", action="append", dest="tokens", help="a valid token (repeatable); others get 401"
    )
    return p


def main(argv: list[str] | None = None) -> None:
    args = _parser().parse_args(argv)
    if args.sample is not None:
        registry = Registry.from_sample(args.sample)
    else:
        registry = Registry.synthetic(args.synthetic, seed=args.seed, templates=args.templates)
    quotas = None
    if args.quota_api is not None or args.quota_resolvers is not None:
        quotas = Quotas(api=args.quota_api, resolvers=args.quota_resolvers, window_s=args.window_s)
    faults = None
    if args.fault_rate > 0:
        kinds = tuple(k for k in args.fault_kinds.split(",") if k)
        faults = Faults(rate=args.fault_rate, seed=args.fault_seed, kinds=kinds)
    sim = HubSimulator(
        registry,
        quotas=quotas,
        faults=faults,
        latency_s=args.latency_ms / 1000,
        valid_tokens=set(args.tokens) if args.tokens else None,
        host=args.host,
        port=args.port,
    )
    print(sim.url, flush=True)
    print(f"serving {len(registry)} models; stop with Ctrl-C", file=sys.stderr, flush=True)
    try:
        sim.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        sim.close()


if __name__ == "__main__":
    main()
