"""The Hub simulator answers huggingface_hub's own client the way the Hub does."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode, urlsplit

import pyarrow.parquet as pq
import pytest
import requests
from huggingface_hub import HfApi, ModelCard, constants, hf_hub_download
from huggingface_hub.errors import (
    GatedRepoError,
    HfHubHTTPError,
    RemoteEntryNotFoundError,
    RepositoryNotFoundError,
    RevisionNotFoundError,
)
from huggingface_hub.utils import parse_ratelimit_headers

from hubsim import Faults, HubSimulator, Quotas, Registry
from hubsim.fields import LISTING_FIELDS
from hubsim.synthetic import SyntheticSource

REPO_ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def small_registry() -> Registry:
    return Registry.synthetic(3000, seed=7)


@pytest.fixture()
def hub_client(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """Point huggingface_hub's import-time constants at a temp cache and keep any local token out."""
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(constants, "HF_HUB_DISABLE_IMPLICIT_TOKEN", True)
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.delenv("HF_TOKEN", raising=False)
    yield


def use_endpoint(monkeypatch: pytest.MonkeyPatch, url: str) -> None:
    """ModelCard.load and hf_hub_url read the endpoint from constants, not from an argument."""
    monkeypatch.setattr(constants, "ENDPOINT", url)
    monkeypatch.setattr(
        constants, "HUGGINGFACE_CO_URL_TEMPLATE", url + "/{repo_id}/resolve/{revision}/{filename}"
    )


def expected_order(reg: Registry, sort: str | None) -> list[str]:
    return [reg.model_id(i) for i in reg.order(sort)[0].tolist()]


def walk(url: str, limits: list[int], session: requests.Session) -> list[str]:
    """Follow Link headers, changing the page size on every page."""
    ids: list[str] = []
    page = 0
    while url:
        parts = urlsplit(url)
        query = [(k, v) for k, v in parse_qsl(parts.query) if k != "limit"]
        query.append(("limit", str(limits[page % len(limits)])))
        r = session.get(f"{parts.scheme}://{parts.netloc}{parts.path}?{urlencode(query)}")
        assert r.status_code == 200, r.text
        ids += [m["id"] for m in r.json()]
        url = r.links.get("next", {}).get("url")
        page += 1
    return ids


# -- listing ---------------------------------------------------------------------------------------


def test_list_models_pages_in_order(small_registry: Registry, hub_client: None) -> None:
    with HubSimulator(small_registry) as sim:
        api = HfApi(endpoint=sim.url, token=False)
        models = list(
            api.list_models(sort="downloads", limit=2500, expand=["sha", "lastModified", "downloads"])
        )
        assert [m.id for m in models] == expected_order(small_registry, "downloads")[:2500]
        assert sim.counters["listing"] == 3  # pages of 1000, 1000, 500
        downloads = [m.downloads for m in models]
        assert downloads == sorted(downloads, reverse=True)
        assert all(m.sha and m.last_modified for m in models)
        liked = list(api.list_models(sort="likes", limit=1200))
        assert [m.id for m in liked] == expected_order(small_registry, "likes")[:1200]


def test_expand_returns_only_asked_properties(small_registry: Registry) -> None:
    with HubSimulator(small_registry) as sim:
        r = requests.get(f"{sim.url}/api/models", params={"limit": 5, "expand[]": ["sha", "gated"]})
        assert r.status_code == 200
        assert all(list(m) == ["_id", "id", "sha", "gated"] for m in r.json())
        r = requests.get(f"{sim.url}/api/models", params={"limit": 50})
        for entry in r.json():
            assert [k for k in LISTING_FIELDS if k in entry] == list(entry)
            assert len(entry["_id"]) == 24
        link = r.headers["Link"]
        assert link.startswith(f"<{sim.url}/api/models?limit=50&cursor=") and link.endswith('>; rel="next"')


@pytest.mark.parametrize(
    "params",
    [
        {"expand[]": "sha", "full": "true"},
        {"expand": "config", "cardData": "true"},
        {"expand[]": "notAProperty"},
        {"sort": "stars"},
        {"cursor": "garbage!"},
    ],
)
def test_bad_listing_queries_are_400_with_json(small_registry: Registry, params: dict[str, str]) -> None:
    with HubSimulator(small_registry) as sim:
        r = requests.get(f"{sim.url}/api/models", params=params)
        assert r.status_code == 400
        assert "error" in r.json()


def test_listing_complete_and_stable_when_page_size_changes() -> None:
    reg = Registry.synthetic(10_000, seed=3)
    with HubSimulator(reg) as sim, requests.Session() as s:
        for sort in ("downloads", "lastModified", None):
            query = f"?sort={sort}" if sort else "?"
            ids = walk(f"{sim.url}/api/models{query}", [1000, 7, 333, 1000, 58], s)
            assert len(ids) == 10_000 == len(set(ids))
            assert ids == expected_order(reg, sort)


def test_listing_filters(small_registry: Registry) -> None:
    author = small_registry.model_id(0).split("/")[0]
    with HubSimulator(small_registry) as sim, requests.Session() as s:
        mine = walk(f"{sim.url}/api/models?author={author}&sort=likes", [3], s)
        assert mine and all(m.startswith(author + "/") for m in mine)
        assert sorted(mine) == sorted(i for i in small_registry.ids() if i.startswith(author + "/"))
        tagged = walk(f"{sim.url}/api/models?filter=transformers&filter=safetensors", [500], s)
        info = s.get(f"{sim.url}/api/models/{tagged[0]}").json()
        assert {"transformers", "safetensors"} <= set(info["tags"])
        found = walk(f"{sim.url}/api/models?search=LLAMA", [1000], s)
        assert found and all("llama" in m for m in found)


# -- model info, commits, tree, cards ---------------------------------------------------------


def test_model_info_commits_and_tree(small_registry: Registry, hub_client: None) -> None:
    model_id = next(i for i in small_registry.ids() if "/" in i)
    bare_id = next(i for i in small_registry.ids() if "/" not in i)
    i = small_registry.index_of(model_id)
    assert i is not None
    with HubSimulator(small_registry) as sim:
        api = HfApi(endpoint=sim.url, token=False)
        info = api.model_info(model_id)
        assert info.id == model_id and info.sha == small_registry.sha(i)
        assert info.created_at is not None and info.siblings is not None
        assert api.model_info(bare_id).id == bare_id
        assert api.model_info(model_id, revision=info.sha).sha == info.sha
        with pytest.raises(RevisionNotFoundError):
            api.model_info(model_id, revision="0" * 40)
        assert api.model_info(model_id, expand=["likes"]).likes == info.likes
        secure = requests.get(
            f"{sim.url}/api/models/{model_id}", params={"securityStatus": "true", "blobs": "true"}
        )
        assert "securityRepoStatus" in secure.json()
        assert all("blobId" in s and "size" in s for s in secure.json()["siblings"])
        commits = api.list_repo_commits(model_id)
        assert commits[0].commit_id == info.sha
        assert [c.commit_id for c in commits] == [c.sha for c in small_registry.commits(i)]
        tree = list(api.list_repo_tree(model_id))
        assert sorted(f.path for f in tree) == sorted(s.rfilename for s in info.siblings)
        assert all(f.size >= 0 and f.blob_id for f in tree)
        whoami = requests.get(f"{sim.url}/api/whoami-v2")
        assert whoami.status_code == 401


def test_commits_paginate_with_link(hub_client: None) -> None:
    reg = Registry.synthetic(5, seed=1)
    for k in range(55):
        reg.change_shas(fraction=1.0, seed=k)
    i = 0
    assert len(reg.commits(i)) > 50
    with HubSimulator(reg) as sim:
        commits = HfApi(endpoint=sim.url, token=False).list_repo_commits(reg.model_id(i))
        assert [c.commit_id for c in commits] == [c.sha for c in reg.commits(i)]
        assert sim.counters["commits"] == 2


def test_model_card_load_reads_readme(
    small_registry: Registry, hub_client: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    model_id = next(m for m in small_registry.ids() if small_registry.readme(small_registry.index_of(m) or 0))
    with HubSimulator(small_registry) as sim:
        use_endpoint(monkeypatch, sim.url)
        card = ModelCard.load(model_id)
        assert card.content == small_registry.readme(small_registry.index_of(model_id) or 0).decode()
        head = requests.head(f"{sim.url}/{model_id}/resolve/main/README.md")
        assert head.headers["X-Repo-Commit"] == small_registry.sha(small_registry.index_of(model_id) or 0)
        assert head.headers["ETag"].startswith('"') and int(head.headers["Content-Length"]) > 0
        ranged = requests.get(f"{sim.url}/{model_id}/resolve/main/README.md", headers={"Range": "bytes=0-9"})
        assert ranged.status_code == 206 and len(ranged.content) == 10


def test_gated_missing_and_unknown(small_registry: Registry, hub_client: None, tmp_path: Path) -> None:
    reg = Registry.synthetic(200, seed=5)
    gated, no_card = reg.ids()[:2]
    reg.set_gated(gated, True)
    reg.set_readme(gated, b"# gated\n")
    reg.set_readme(no_card, None)
    with HubSimulator(reg, valid_tokens={"hf_good", "hf_granted"}, granted_tokens={"hf_granted"}) as sim:
        api = HfApi(endpoint=sim.url, token=False)
        assert api.model_info(gated).gated == "auto"  # metadata stays public
        with pytest.raises(GatedRepoError) as anon:
            hf_hub_download(gated, "README.md", endpoint=sim.url, token=False, cache_dir=tmp_path)
        assert anon.value.response.status_code == 401
        with pytest.raises(GatedRepoError) as denied:
            hf_hub_download(gated, "README.md", endpoint=sim.url, token="hf_good", cache_dir=tmp_path)
        assert denied.value.response.status_code == 403
        path = hf_hub_download(gated, "README.md", endpoint=sim.url, token="hf_granted", cache_dir=tmp_path)
        assert Path(path).read_bytes() == b"# gated\n"
        assert "README.md" not in [s.rfilename for s in api.model_info(no_card).siblings or []]
        with pytest.raises(RemoteEntryNotFoundError):
            hf_hub_download(no_card, "README.md", endpoint=sim.url, token=False, cache_dir=tmp_path)
        with pytest.raises(RepositoryNotFoundError):
            api.model_info("nobody/nothing")
        r = requests.get(f"{sim.url}/nobody/nothing/resolve/main/README.md")
        assert (r.status_code, r.headers["X-Error-Code"]) == (401, "RepoNotFound")
        r = requests.get(
            f"{sim.url}/nobody/nothing/resolve/main/README.md", headers={"Authorization": "Bearer hf_good"}
        )
        assert r.status_code == 404
        assert HfApi(endpoint=sim.url, token="hf_good").whoami()["name"] == "hubsim-user"
        for path in (
            "/api/models",
            f"/api/models/{gated}",
            f"/{gated}/resolve/main/README.md",
            "/api/whoami-v2",
        ):
            bad = requests.get(sim.url + path, headers={"Authorization": "Bearer hf_bad"})
            assert bad.status_code == 401
            assert bad.json()["error"] == "Invalid credentials in Authorization header"
        with pytest.raises(HfHubHTTPError):
            HfApi(endpoint=sim.url, token="hf_bad").whoami()


def test_renamed_repo_redirects(hub_client: None, tmp_path: Path) -> None:
    reg = Registry.synthetic(100, seed=2)
    old = reg.ids()[3]
    reg.rename(old, "new-org/renamed-model")
    with HubSimulator(reg) as sim:
        info = HfApi(endpoint=sim.url, token=False).model_info(old)
        assert info.id == "new-org/renamed-model"
        r = requests.get(f"{sim.url}/api/models/{old}?expand[]=sha", allow_redirects=False)
        assert r.status_code == 307
        assert (
            r.headers["Location"] == "/api/models/new-org/renamed-model?expand%5B%5D=sha"
        )  # the query as sent
        assert r.text == "Temporary Redirect. Redirecting to /api/models/new-org/renamed-model"
        assert r.headers["Content-Type"] == "text/plain; charset=utf-8"
        head = requests.head(f"{sim.url}/{old}/resolve/main/README.md", allow_redirects=False)
        assert (head.status_code, head.headers["Location"]) == (
            307,
            "/new-org/renamed-model/resolve/main/README.md",
        )
        if reg.has_readme(reg.index_of("new-org/renamed-model") or 0):
            path = hf_hub_download(old, "README.md", endpoint=sim.url, token=False, cache_dir=tmp_path)
            assert Path(path).read_bytes() == reg.readme(reg.index_of("new-org/renamed-model") or 0)


def test_change_shas_and_odd_ids(hub_client: None) -> None:
    reg = Registry.synthetic(2000, seed=4)
    before = {m: reg.sha(reg.index_of(m) or 0) for m in reg.ids()}
    changed = reg.change_shas(fraction=0.01, seed=9)
    assert len(changed) == 20
    odd = ["ünïcode/模型-名", "dots/..weird..name", "long/" + "x" * 300, "gpt-bare"]
    for model_id in odd:
        reg.add({"id": model_id, "tags": ["odd"], "downloads": 5}, readme=f"# {model_id}\n".encode())
    with HubSimulator(reg) as sim:
        api = HfApi(endpoint=sim.url, token=False)
        newest = [m.id for m in api.list_models(sort="lastModified", limit=20)]
        assert sorted(newest) == sorted(changed)
        for model_id in changed[:3]:
            info = api.model_info(model_id)
            assert info.sha != before[model_id] and info.sha == reg.sha(reg.index_of(model_id) or 0)
        for model_id in odd:  # huggingface_hub refuses such ids, so ask directly
            r = requests.get(f"{sim.url}/api/models/{quote(model_id, safe='/')}")
            assert r.status_code == 200 and r.json()["id"] == model_id
            card = requests.get(f"{sim.url}/{quote(model_id, safe='/')}/resolve/main/README.md")
            assert card.content == f"# {model_id}\n".encode()
        assert sorted(m.id for m in api.list_models(filter="odd")) == sorted(odd)


# -- quotas, faults, concurrency ----------------------------------------------------------------


def test_quota_gives_429_with_headers(small_registry: Registry) -> None:
    model_id = small_registry.ids()[0]
    with (
        HubSimulator(small_registry, quotas=Quotas(api=5, resolvers=3, window_s=60)) as sim,
        requests.Session() as s,
    ):
        statuses = [s.get(f"{sim.url}/api/models/{model_id}").status_code for _ in range(7)]
        assert statuses == [200] * 5 + [429] * 2
        r = s.get(f"{sim.url}/api/models?limit=1")
        assert r.status_code == 429 and 59 <= int(r.headers["Retry-After"]) <= 60
        info = parse_ratelimit_headers(r.headers)
        assert info is not None
        assert (info.resource_type, info.remaining, info.limit, info.window_seconds) == ("api", 0, 5, 60)
        resolver = parse_ratelimit_headers(
            s.head(f"{sim.url}/{model_id}/resolve/main/.gitattributes").headers
        )
        assert resolver is not None and (resolver.resource_type, resolver.remaining) == ("resolvers", 2)
        assert sim.counters["429"] == 3 and sim.counters[("api", 429)] == 3


def test_quota_window_resets(small_registry: Registry) -> None:
    model_id = small_registry.ids()[0]
    with HubSimulator(small_registry, quotas=Quotas(api=1, window_s=0.5)) as sim, requests.Session() as s:
        codes = [s.get(f"{sim.url}/api/models/{model_id}") for _ in range(3)]
        refused = next(r for r in codes if r.status_code == 429)
        assert refused.headers["Retry-After"] == "1"  # whole seconds, rounded up
        wait = float(refused.headers["X-Hubsim-RateLimit-Reset"])
        assert 0 < wait <= 0.5
        time.sleep(wait + 0.01)
        assert s.get(f"{sim.url}/api/models/{model_id}").status_code == 200


def test_faults_at_rate_and_retries_succeed(small_registry: Registry) -> None:
    faults = Faults(rate=0.2, seed=1, slow_s=0.01)
    ids = small_registry.ids()[:400]
    with HubSimulator(small_registry, faults=faults) as sim, requests.Session() as s:
        first_failures = 0
        seen: set[str] = set()
        for model_id in ids:
            for attempt in range(faults.max_in_a_row + 1):
                error = _try_get(s, f"{sim.url}/api/models/{model_id}")
                if error is None:
                    break
                seen.add(error)
                first_failures += attempt == 0
            else:
                pytest.fail(f"{model_id} never succeeded")
        counted = sim.counters
        # "slow" answers correctly, so it is not a visible failure; the rest are.
        assert 0.1 < counted["faults"] / counted["requests"] < 0.3
        assert 0.08 < first_failures / len(ids) < 0.25
        assert {"5xx", "reset", "truncate", "bad_json"} <= seen
        assert all(counted[("fault", k)] > 0 for k in faults.kinds)


def _try_get(session: requests.Session, url: str) -> str | None:
    """Kind of visible failure of one GET, or None when a full, valid JSON body came back."""
    try:
        r = session.get(url)
    except requests.exceptions.ChunkedEncodingError:
        return "truncate"
    except requests.exceptions.ConnectionError as err:
        return "truncate" if "IncompleteRead" in str(err) else "reset"
    if r.status_code >= 500:
        return "5xx"
    try:
        r.json()
    except ValueError:
        return "bad_json"
    return None


def test_fifty_keepalive_clients(small_registry: Registry) -> None:
    ids = small_registry.ids()
    errors: list[str] = []
    # Every client holds its open connection here until all fifty are served: a server that served
    # one connection at a time would never let them all arrive (the timeout only ends such a hang).
    all_connected = threading.Barrier(50, timeout=60)

    def client(k: int) -> None:
        with requests.Session() as s:
            for j in range(10):
                url = f"{sim.url}/api/models/{ids[(k * 10 + j) % len(ids)]}"
                if j == 0:
                    url = f"{sim.url}/api/models?limit=200&sort=likes"
                r = s.get(url)
                if r.status_code != 200:
                    errors.append(f"{url}: {r.status_code}")
                if j == 0:
                    try:
                        all_connected.wait()
                    except threading.BrokenBarrierError:
                        errors.append(f"client {k}: the other clients were not served meanwhile")

    with HubSimulator(small_registry, latency_s=0.01) as sim:
        threads = [threading.Thread(target=client, args=(k,)) for k in range(50)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not errors
        assert sim.counters["requests"] == 500
        assert sim.counters["connections"] == 50  # ten requests on each kept-alive connection


# -- registry and runner ----------------------------------------------------------------------


def test_synthetic_registry_is_lazy_and_deterministic(monkeypatch: pytest.MonkeyPatch) -> None:
    made: list[int] = []
    make = SyntheticSource._made_record

    def counted(source: SyntheticSource, i: int) -> dict[str, Any]:
        made.append(i)
        return make(source, i)

    monkeypatch.setattr(SyntheticSource, "_made_record", counted)
    reg = Registry.synthetic(200_000, seed=0)
    assert made == []  # records and cards are made when asked for, never up front
    assert len(reg) == 200_000 == len(set(reg.ids()))
    again = Registry.synthetic(200_000, seed=0)
    for i in (0, 99_999, 199_999):
        assert reg.model_info(i) == again.model_info(i)
        assert reg.readme(i) == again.readme(i)


def test_runner_prints_url_and_serves() -> None:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "hubsim",
            "--synthetic",
            "500",
            "--quota-api",
            "100",
            "--window-s",
            "5",
        ],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:")
        r = requests.get(f"{url}/api/models?limit=3")
        assert r.status_code == 200 and len(r.json()) == 3
        assert r.headers["RateLimit"].startswith('"api";r=99;t=')
    finally:
        proc.terminate()
        proc.wait(timeout=10)


# -- sample directories -------------------------------------------------------------------------


def test_sample_registry_serves_recorded_data(
    hub2022: Path,
    hub2024: Path,
    sample_registry: Registry,
    hub_client: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    directory = hub2022
    reg = sample_registry
    with gzip.open(directory / "models.jsonl.gz", "rt") as fh:
        records = [json.loads(line) for line in fh]
    readmes = dict(
        zip(
            *(pq.read_table(directory / "readmes.parquet").column(c).to_pylist() for c in ("id", "readme")),
            strict=True,
        )
    )
    assert len(reg) == len(records)
    with_card = next(r for r in records if r["id"] in readmes and readmes[r["id"]].strip() and "/" in r["id"])
    without = next(r for r in records if r.get("_readme_missing"))
    with HubSimulator(reg) as sim:
        use_endpoint(monkeypatch, sim.url)
        api = HfApi(endpoint=sim.url, token=False)
        info = api.model_info(with_card["id"])
        assert info.sha == with_card["sha"] and info.tags == with_card["tags"]
        assert ModelCard.load(with_card["id"]).content == readmes[with_card["id"]]
        with pytest.raises(RemoteEntryNotFoundError):
            ModelCard.load(without["id"])
        top = [m.id for m in api.list_models(sort="downloads", limit=10)]
        by_downloads = sorted(records, key=lambda r: -(r.get("downloads") or 0))
        assert top[0] == by_downloads[0]["id"]
    reg2024 = Registry.from_sample(hub2024)
    with HubSimulator(reg2024) as sim:
        use_endpoint(monkeypatch, sim.url)
        first = next(m for i, m in enumerate(reg2024.ids()) if reg2024.has_readme(i))
        card = ModelCard.load(first)
        assert first.split("/")[-1] in card.content


def test_synthetic_from_templates(hub2022: Path) -> None:
    reg = Registry.synthetic(5000, seed=1, templates=hub2022)
    assert len(set(reg.ids())) == 5000
    with_card = next(i for i in range(len(reg)) if reg.readme(i))
    info = reg.model_info(with_card)
    assert "README.md" in [s["rfilename"] for s in info["siblings"]]
    with HubSimulator(reg) as sim:
        r = requests.get(
            f"{sim.url}/api/models", params={"sort": "downloads", "limit": 1000, "expand[]": "cardData"}
        )
        assert r.status_code == 200 and len(r.json()) == 1000
        assert any("cardData" in m for m in r.json())


def test_account_overviews_answer_huggingface_hub() -> None:
    registry = Registry.synthetic(n=100, seed=4)
    org, user = sorted({m.split("/")[0] for m in registry.ids() if "/" in m})[:2]
    registry.set_account(org, "org", verified=True)
    registry.set_account(user, "user")
    with HubSimulator(registry) as sim:
        api = HfApi(endpoint=sim.url)
        assert api.get_organization_overview(org).is_verified is True
        assert api.get_user_overview(user).username == user
        with pytest.raises(HfHubHTTPError):
            api.get_organization_overview(user)
        with pytest.raises(HfHubHTTPError):
            api.get_organization_overview("nobody-owns-this")
