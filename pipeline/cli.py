"""The `hubmine` command line: thin wrappers over the pipeline's stages."""

from __future__ import annotations

import inspect
import signal
import typing
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from enum import Enum
from pathlib import Path
from types import FrameType
from typing import Annotated

import typer

from pipeline.crawl.params import SortKey
from pipeline.errors import HubmineError, UsageError
from pipeline.store.snapshot import data_dir_from_env

app = typer.Typer(
    name="hubmine",
    help="Mine the Hugging Face model registry into Parquet snapshots and measure them.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

DataDir = Annotated[
    Path | None,
    typer.Option("--data-dir", help="Where snapshots live (env HUBMINE_DATA_DIR; default: data)."),
]
SnapshotId = Annotated[
    str | None, typer.Option("--snapshot", help="Snapshot id (default: the newest complete one).")
]
# The models a network step measures (hubmine risks, hubmine history).
TopModels = Annotated[
    int | None, typer.Option(min=1, help="The N most-downloaded models of the snapshot (default 100).")
]
ChosenModels = Annotated[
    list[str] | None, typer.Option("--models", help="Only these models of the snapshot (repeatable).")
]


# What a folder given on the command line can be instead of a writable folder: a file, or not ours.
_BAD_FOLDER = (NotADirectoryError, FileExistsError, IsADirectoryError, PermissionError)


def _fail(message: object, code: int = 1) -> typer.Exit:
    typer.echo(f"hubmine: error: {message}", err=True)
    return typer.Exit(code)


@contextmanager
def _one_line_errors(folders: str) -> Iterator[None]:
    """Every error a user can meet, as one line and exit status 1 (2 for a usage error); `folders` names the
    options to check."""
    try:
        yield
    except UsageError as exc:
        raise _fail(exc, 2) from None
    except HubmineError as exc:
        raise _fail(exc) from None
    except _BAD_FOLDER as exc:
        raise _fail(
            f"cannot use {exc.filename}: {exc.strerror}; {folders} must name a folder you can write"
        ) from None


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


@contextmanager
def _interruptible(then: str) -> Iterator[None]:
    """Ctrl-C, and SIGTERM (a scheduler's stop, `kill`) likewise, end the command with one line saying
    `interrupted; {then}` and exit status 1."""
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        yield
    except KeyboardInterrupt:
        raise _fail(f"interrupted; {then}") from None
    finally:
        signal.signal(signal.SIGTERM, previous)


@app.command(
    epilog=(
        "Examples:\n\n"
        "  hubmine crawl --limit 1000                 # the 1,000 most-downloaded models and their cards\n\n"
        "  hubmine crawl --no-cards                   # metadata of every model\n\n"
        "  hubmine crawl --author google --filter text-classification\n\n"
        "  hubmine crawl --resume                     # finish the last interrupted crawl\n\n"
        "  hubmine crawl --authors                    # also tell organizations from users\n\n"
        "  HF_ENDPOINT=http://127.0.0.1:8080 hubmine crawl   # a Hub mirror"
    )
)
def crawl(
    data_dir: DataDir = None,
    snapshot: Annotated[
        str | None, typer.Option("--snapshot", help="Snapshot id (default: the UTC start time).")
    ] = None,
    limit: Annotated[int | None, typer.Option(min=1, help="Stop after this many models.")] = None,
    sort: Annotated[SortKey, typer.Option(help="Listing order (always descending).")] = SortKey.downloads,
    author: Annotated[str | None, typer.Option(help="Only models of this user or organization.")] = None,
    filter: Annotated[
        list[str] | None, typer.Option("--filter", help="Only models with this tag (repeatable).")
    ] = None,
    cards: Annotated[
        bool, typer.Option("--cards/--no-cards", help="Fetch each model's README.md and eval-results files.")
    ] = True,
    authors: Annotated[
        bool,
        typer.Option(
            "--authors/--no-authors",
            help="Ask whether each namespace is an organization or a user (one API call per new namespace).",
        ),
    ] = False,
    resume: Annotated[
        bool, typer.Option("--resume", help="Continue an interrupted crawl (the newest, or --snapshot).")
    ] = False,
    since: Annotated[
        str | None,
        typer.Option(
            help="Reuse unchanged cards and eval-results files from this snapshot "
            "(default: the newest complete one)."
        ),
    ] = None,
    workers: Annotated[
        int, typer.Option(min=1, max=256, help="Concurrent file downloads (cards, eval-results).")
    ] = 16,
) -> None:
    """Snapshot model metadata (and model cards) from the Hub into Parquet."""
    from pipeline.crawl import CrawlParams, run_crawl

    with _one_line_errors("--data-dir"), _interruptible("continue with `hubmine crawl --resume`"):
        params = CrawlParams(
            limit=limit,
            sort=sort.value,
            author=author,
            filters=tuple(filter or ()),
            cards=cards,
            authors=authors,
            workers=workers,
        )
        result = run_crawl(
            data_dir or data_dir_from_env(), params, snapshot_id=snapshot, resume=resume, since=since
        )
    typer.echo(result.summary_line())
    raise typer.Exit(result.exit_code)


@app.command(epilog="Examples:\n\n  hubmine analyze\n\n  hubmine analyze --snapshot 20261126T060000Z")
def analyze(data_dir: DataDir = None, snapshot: SnapshotId = None) -> None:
    """Parse the model cards of a snapshot and write its findings (Parquet and summary.json)."""
    from pipeline.analyze import run_analyze

    with _one_line_errors("--data-dir"):
        line = run_analyze(data_dir or data_dir_from_env(), snapshot)
    typer.echo(line)


@app.command(epilog="Examples:\n\n  hubmine report\n\n  hubmine report --out /tmp/report")
def report(
    data_dir: DataDir = None,
    snapshot: SnapshotId = None,
    out: Annotated[Path | None, typer.Option(help="Report folder (default: reports/<snapshot>).")] = None,
) -> None:
    """Write a Markdown and HTML report with PNG figures from a snapshot's findings."""
    from pipeline.report import run_report

    with _one_line_errors("--data-dir and --out"):
        line = run_report(data_dir or data_dir_from_env(), snapshot, out)
    typer.echo(line)


class Device(str, Enum):
    auto = "auto"
    cpu = "cpu"
    cuda = "cuda"


class Executor(str, Enum):
    local = "local"
    ray = "ray"


@app.command(
    epilog=(
        "Examples:\n\n"
        "  hubmine evaluate --sample 20 --max-examples 200   # 20 models, 200 examples per claimed split\n\n"
        "  hubmine evaluate --models distilbert/distilbert-base-uncased-finetuned-sst-2-english\n\n"
        "  hubmine evaluate --tasks text-classification --device cuda\n\n"
        "  hubmine evaluate --executor ray --address auto --gpus-per-model 1   # on a Ray cluster\n\n"
        "  hubmine evaluate                                    # again: only what is not settled yet"
    )
)
def evaluate(
    data_dir: DataDir = None,
    snapshot: SnapshotId = None,
    models: Annotated[
        list[str] | None, typer.Option("--models", help="Only these models (repeatable).")
    ] = None,
    tasks: Annotated[
        list[str] | None,
        typer.Option("--tasks", help="Only claims of this task or pipeline tag (repeatable)."),
    ] = None,
    sample: Annotated[int | None, typer.Option(min=1, help="Only N models, the same N on every run.")] = None,
    max_examples: Annotated[
        int | None, typer.Option(min=1, help="The first N examples of each split.")
    ] = None,
    batch_size: Annotated[int, typer.Option(min=1, max=4096, help="Examples per forward pass.")] = 32,
    device: Annotated[Device, typer.Option(help="auto: cuda when available, else cpu.")] = Device.auto,
    executor: Annotated[Executor, typer.Option(help="local: one model after another; ray: Ray tasks.")] = (
        Executor.local
    ),
    address: Annotated[
        str | None, typer.Option(help="Ray cluster address (default: a local Ray on this machine).")
    ] = None,
    gpus_per_model: Annotated[float, typer.Option(min=0, help="GPUs each Ray task asks for.")] = 0,
    allow_pickle: Annotated[
        bool, typer.Option("--allow-pickle", help="Load pickle-only weights (they can run code: trust them).")
    ] = False,
) -> None:
    """Re-measure claimed results by running each model on its claimed dataset split."""
    from pipeline.evaluate.plan import Selection
    from pipeline.evaluate.run import run_evaluate
    from pipeline.evaluate.runner import Options

    with _one_line_errors("--data-dir"), _interruptible("run the same `hubmine evaluate` again to continue"):
        result = run_evaluate(
            data_dir or data_dir_from_env(),
            snapshot,
            Selection(models=tuple(models or ()), tasks=tuple(tasks or ()), sample=sample),
            Options(
                batch_size=batch_size,
                max_examples=max_examples,
                device=device.value,
                allow_pickle=allow_pickle,
            ),
            executor=executor.value,
            address=address,
            gpus_per_model=gpus_per_model,
        )
    typer.echo(result.summary_line())
    raise typer.Exit(result.exit_code)


def _with_step_flags(command: Callable[..., None]) -> Callable[..., None]:
    """`command` with one `--<flag>` switch per registered risk step, passed on in `**steps`."""
    from pipeline.risks.catalog import STEPS

    signature = inspect.signature(command)
    hints = typing.get_type_hints(command, include_extras=True)
    params = [
        p.replace(annotation=hints[p.name])
        for p in signature.parameters.values()
        if p.kind is not inspect.Parameter.VAR_KEYWORD
    ]
    for step in STEPS:
        switch = Annotated[bool, typer.Option(f"--{step.flag}", help=step.help)]
        name = step.flag.replace("-", "_")
        params.append(
            inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=False, annotation=switch)
        )
    command.__signature__ = signature.replace(parameters=params)  # type: ignore[attr-defined]
    return command


@app.command(
    epilog=(
        "Examples:\n\n"
        "  hubmine risks --scan-status --scan-pickles     # the 100 most-downloaded models\n\n"
        "  hubmine risks --scan-pickles --top 1000 --max-bytes 104857600\n\n"
        "  hubmine risks --scan-status --models openai-community/gpt2 --models distilbert/distilgpt2\n\n"
        "  hubmine risks --signatures --maintainers --top 50\n\n"
        "  hubmine risks --scan-status                    # again: only models not measured at their sha"
    )
)
@_with_step_flags
def risks(
    data_dir: DataDir = None,
    snapshot: SnapshotId = None,
    top: TopModels = None,
    models: ChosenModels = None,
    max_bytes: Annotated[
        int | None,
        typer.Option(
            min=1, help="Largest file downloaded whole to scan (env HUBMINE_MAX_PICKLE_BYTES; 512 MiB)."
        ),
    ] = None,
    workers: Annotated[int, typer.Option(min=1, max=64, help="Models measured at once.")] = 4,
    **steps: bool,
) -> None:
    """Measure the risks of chosen models over the network: the Hub's own scans, a static pickle scan,
    commit signatures and maintainers. Turn on at least one step (the switches below); each writes its
    table under findings/."""
    from pipeline.risks.run import run_risks

    flags = {name.replace("_", "-") for name, on in steps.items() if on}
    with _one_line_errors("--data-dir"), _interruptible("run the same `hubmine risks` again to continue"):
        result = run_risks(
            data_dir or data_dir_from_env(),
            snapshot,
            flags,
            top=top,
            models=tuple(models or ()),
            max_bytes=max_bytes,
            workers=workers,
        )
    for line in result.lines:
        typer.echo(line)
    typer.echo(result.summary_line())
    raise typer.Exit(result.exit_code)


@app.command(
    epilog=(
        "Examples:\n\n"
        "  hubmine diff 20261101T000000Z 20261201T000000Z\n\n"
        "  hubmine diff OLD NEW --data-dir /data/hub   # -> /data/hub/diffs/OLD..NEW/"
    )
)
def diff(
    old: Annotated[str, typer.Argument(help="The earlier snapshot id.")],
    new: Annotated[str, typer.Argument(help="The later snapshot id.")],
    data_dir: DataDir = None,
) -> None:
    """List the models added, removed, renamed, or whose card or metadata changed between two snapshots."""
    from pipeline.longitudinal.diff import run_diff

    with _one_line_errors("--data-dir"):
        result = run_diff(data_dir or data_dir_from_env(), old, new)
    typer.echo(result.summary_line())


@app.command(
    epilog=(
        "Examples:\n\n"
        "  hubmine trends                                # every complete, analyzed snapshot\n\n"
        "  hubmine trends --snapshots 20261101T000000Z --snapshots 20261201T000000Z"
    )
)
def trends(
    data_dir: DataDir = None,
    snapshots: Annotated[
        list[str] | None, typer.Option("--snapshots", help="Only these snapshots (repeatable).")
    ] = None,
) -> None:
    """Measure headline rates, weight formats, download concentration and growth across snapshots."""
    from pipeline.longitudinal.trends import run_trends

    with _one_line_errors("--data-dir"):
        result = run_trends(data_dir or data_dir_from_env(), list(snapshots or ()))
    typer.echo(result.summary_line())


class Period(str, Enum):
    week = "week"
    month = "month"


@app.command(
    epilog=(
        "Examples:\n\n"
        "  hubmine history                                # the 100 most-downloaded models, by month\n\n"
        "  hubmine history --top 1000 --period week\n\n"
        "  hubmine history --models openai-community/gpt2 --models distilbert/distilgpt2\n\n"
        "  hubmine history --git                          # also PRIME's line counts, from a git clone\n\n"
        "  hubmine history                                # again: only the commits not held yet"
    )
)
def history(
    data_dir: DataDir = None,
    snapshot: SnapshotId = None,
    top: TopModels = None,
    models: ChosenModels = None,
    period: Annotated[
        Period,
        typer.Option(help="Period of the process metrics (every period already held is computed again too)."),
    ] = Period.month,
    workers: Annotated[int, typer.Option(min=1, max=64, help="Models listed at once.")] = 4,
    git: Annotated[
        bool,
        typer.Option(
            "--git/--no-git",
            help="Also clone each model with new commits and count the lines they changed (PRIME's "
            "productivity, bus factor and issue density need them).",
        ),
    ] = False,
) -> None:
    """List the commits and discussions of chosen models into DIR/history and compute process metrics."""
    from pipeline.longitudinal.history import run_history

    with _one_line_errors("--data-dir"), _interruptible("run the same `hubmine history` again to continue"):
        result = run_history(
            data_dir or data_dir_from_env(),
            snapshot,
            top=top,
            models=tuple(models or ()),
            period=period.value,
            workers=workers,
            git=git,
        )
    typer.echo(result.summary_line())
    raise typer.Exit(result.exit_code)


@app.command(
    epilog=(
        "Examples:\n\n"
        "  hubmine publish 20261130T221500Z --repo me/hub-models --dry-run   # the folder only\n\n"
        "  HF_TOKEN=hf_... hubmine publish 20261130T221500Z --repo me/hub-models --private\n\n"
        "  hubmine publish latest --repo me/hub-models   # the newest complete snapshot; a rerun is a no-op"
    )
)
def publish(
    snapshot: Annotated[str, typer.Argument(help="Snapshot id, or `latest` for the newest complete one.")],
    repo: Annotated[str, typer.Option("--repo", help="Dataset repository, `namespace/name`.")],
    private: Annotated[bool, typer.Option("--private", help="Create the dataset private.")] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Write the dataset folder and print where; upload nothing.")
    ] = False,
    data_dir: DataDir = None,
) -> None:
    """Publish a snapshot's tables as a Hugging Face dataset (one config per table, with a dataset card)."""
    from pipeline.longitudinal.publish import run_publish

    with _one_line_errors("--data-dir"):
        result = run_publish(
            data_dir or data_dir_from_env(),
            None if snapshot == "latest" else snapshot,
            repo,
            private=private,
            dry_run=dry_run,
        )
    typer.echo(result.summary_line())


@app.command(
    epilog=(
        "Examples:\n\n"
        "  hubmine prune --keep 4 --dry-run   # what would go\n\n"
        "  hubmine prune --keep 4\n\n"
        "  hubmine prune --keep 1 --force     # also snapshots a diff or trend still names"
    )
)
def prune(
    keep: Annotated[int, typer.Option("--keep", min=1, help="Complete snapshots to keep, newest first.")],
    data_dir: DataDir = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="List what would be deleted; delete nothing.")
    ] = False,
    force: Annotated[
        bool, typer.Option("--force", help="Also delete snapshots that a diff or a trend table names.")
    ] = False,
) -> None:
    """Delete the oldest complete snapshots beyond the newest N (never the newest or one being written)."""
    from pipeline.longitudinal.prune import run_prune

    with _one_line_errors("--data-dir"):
        result = run_prune(data_dir or data_dir_from_env(), keep, force=force, dry_run=dry_run)
    for line in result.lines:
        typer.echo(line)
    typer.echo(result.summary_line())


@app.command(
    name="import",
    epilog=(
        "Examples:\n\n"
        "  hubmine import librarian-bots/model_cards_with_metadata   # a Hub dataset, through HF_ENDPOINT\n\n"
        "  hubmine import ./dump --snapshot dump-2026-11   # a folder of the dump's Parquet files\n\n"
        "  hubmine import ./dump && hubmine crawl   # then fetch only the cards changed since the dump"
    ),
)
def import_dump(
    source: Annotated[str, typer.Argument(help="A Hub dataset id, or a local folder of Parquet files.")],
    data_dir: DataDir = None,
    snapshot: Annotated[
        str | None, typer.Option("--snapshot", help="Snapshot id (default: the UTC start time).")
    ] = None,
) -> None:
    """Make a complete snapshot from a published dump of model cards, for a crawl to build on."""
    from pipeline.longitudinal.imports import run_import

    with (
        _one_line_errors("--data-dir"),
        _interruptible("nothing was kept, run the same `hubmine import` again"),
    ):
        result = run_import(data_dir or data_dir_from_env(), source, snapshot_id=snapshot)
    typer.echo(result.summary_line())


def main() -> None:
    app()
