"""A local stand-in for the Hugging Face Hub, for tests and benchmarks.

`HubSimulator(Registry...)` serves `/api/models` listings, model info, commits, trees, paths-info,
whoami and `/{id}/resolve/{rev}/{path}`, and dataset repositories (`/api/datasets/{id}`, their trees
and paths-info, `/datasets/{id}/resolve/{rev}/{path}`) over HTTP on 127.0.0.1, with the Hub's headers,
rate-limit headers, optional quotas and injected faults. huggingface_hub, transformers and datasets
work against it unchanged through `HF_ENDPOINT`.
"""

from .counters import Counters
from .faults import Faults
from .ratelimit import Quotas
from .registry import Registry
from .server import HubSimulator

__all__ = ["Counters", "Faults", "HubSimulator", "Quotas", "Registry"]
