"""The `hubmine` command line: thin wrappers over the pipeline's stages."""

from __future__ import annotations

import inspect
import shlex
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from enum import Enum
from pathlib import Path
from types import FrameType
from typing import Annotated, Any

import typer
from typer.core import TyperCommand

from pipeline import __version__
from pipeline.crawl.params import SortKey
from pipeline.errors import HubmineError, HubUnreachable, UsageError
from pipeline.extras import require_extra

# The help is plain text: it reads the same in a terminal, a pipe and a log, and starts without Rich.
app = typer.Typer(
    name="hubmine",
    help="Mine the Hugging Face model registry into Parquet snapshots and measure them.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)

DataDir = Annotated[
    Path | None,
    typer.Option(
        "--data-dir", metavar="DIR", help="Where snapshots live (env HUBMINE_DATA_DIR; default: data)."
    ),
]
SnapshotId = Annotated[
    str | None,
    typer.Option("--snapshot", metavar="ID", help="Snapshot id (default: the newest complete one)."),
]
# The models a network step measures (hubmine risks, hubmine history).
TopModels = Annotated[
    int | None,
    typer.Option(min=1, metavar="N", help="The N most-downloaded models of the snapshot (default 100)."),
]
ChosenModels = Annotated[
    list[str] | None,
    typer.Option("--models", metavar="ID", help="Only these models of the snapshot (repeatable)."),
]


def _data_dir(chosen: Path | None) -> Path:
    from pipeline.store.snapshot import data_dir_from_env

    return chosen or data_dir_from_env()


def _examples(*lines: str) -> str:
    """An epilog of example command lines, kept as written (click's `\\b`) rather than rewrapped."""
    return "Examples:\n\n\b\n" + "\n".join(lines)


# The crawl's options that choose its models -> the CrawlParams fields they set.
CRAWL_PARAM_OPTIONS = {o: o for o in ("limit", "sort", "author", "cards", "authors")} | {"filter": "filters"}


def _given(ctx: typer.Context, fields: dict[str, str]) -> frozenset[str]:
    """The fields (values of `fields`) whose options (its keys) this command line set itself."""
    return frozenset(
        field
        for option, field in fields.items()
        # By name: typer and click each have their own ParameterSource.
        if getattr(ctx.get_parameter_source(option), "name", None) == "COMMANDLINE"
    )


def _print_version(wanted: bool) -> None:
    if wanted:
        typer.echo(f"hubmine {__version__}")
        raise typer.Exit()


@app.callback()
def _hubmine(
    version: Annotated[
        bool,
        typer.Option(
            "--version", is_eager=True, callback=_print_version, help="Print hubmine's version and exit."
        ),
    ] = False,
) -> None:
    """Mine the Hugging Face model registry into Parquet snapshots and measure them."""


NO_HUB_HINT = (
    "check the network, or set HF_ENDPOINT to a reachable Hub or mirror; "
    "to try hubmine offline, run `make demo` in its checkout"
)

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
    except HubUnreachable as exc:
        raise _fail(f"{exc}; {NO_HUB_HINT}") from None
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
    epilog=_examples(
        "hubmine crawl --limit 1000     # the 1,000 most-downloaded models, cards too",
        "hubmine crawl --no-cards       # metadata of every model",
        "hubmine crawl --author google --filter text-classification",
        "hubmine crawl --resume         # finish the last interrupted crawl",
        "hubmine crawl --authors        # also tell organizations from users",
        "HF_ENDPOINT=http://127.0.0.1:8080 hubmine crawl   # a Hub mirror",
    )
)
def crawl(
    ctx: typer.Context,
    data_dir: DataDir = None,
    snapshot: Annotated[
        str | None,
        typer.Option("--snapshot", metavar="ID", help="Snapshot id (default: the UTC start time)."),
    ] = None,
    limit: Annotated[
        int | None, typer.Option(metavar="N", min=1, help="Stop after this many models.")
    ] = None,
    sort: Annotated[SortKey, typer.Option(help="Listing order (always descending).")] = SortKey.downloads,
    author: Annotated[
        str | None, typer.Option(metavar="NAME", help="Only models of this user or organization.")
    ] = None,
    filter: Annotated[
        list[str] | None,
        typer.Option("--filter", metavar="TAG", help="Only models with this tag (repeatable)."),
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
            metavar="ID",
            help="Reuse unchanged cards and eval-results files from this snapshot "
            "(default: the newest complete one).",
        ),
    ] = None,
    workers: Annotated[
        int,
        typer.Option(metavar="N", min=1, max=256, help="Concurrent file downloads (cards, eval-results)."),
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
            _data_dir(data_dir),
            params,
            snapshot_id=snapshot,
            resume=resume,
            since=since,
            set_by_user=_given(ctx, CRAWL_PARAM_OPTIONS),
        )
    typer.echo(result.summary_line())
    raise typer.Exit(result.exit_code)


@app.command(epilog=_examples("hubmine analyze", "hubmine analyze --snapshot 20261126T060000Z"))
def analyze(data_dir: DataDir = None, snapshot: SnapshotId = None) -> None:
    """Parse the model cards of a snapshot and write its findings (Parquet and summary.json)."""
    from pipeline.analyze import run_analyze

    with _one_line_errors("--data-dir"):
        line = run_analyze(_data_dir(data_dir), snapshot)
    typer.echo(line)


@app.command(epilog=_examples("hubmine report", "hubmine report --out /tmp/report"))
def report(
    data_dir: DataDir = None,
    snapshot: SnapshotId = None,
    out: Annotated[
        Path | None, typer.Option(metavar="DIR", help="Report folder (default: reports/<snapshot>).")
    ] = None,
) -> None:
    """Write a Markdown and HTML report with PNG figures from a snapshot's findings."""
    from pipeline.report import run_report

    with _one_line_errors("--data-dir and --out"):
        options = {"--data-dir": data_dir, "--snapshot": snapshot, "--out": out}
        command = shlex.join(
            ["hubmine", "report", *(w for o, v in options.items() if v is not None for w in (o, str(v)))]
        )
        line = run_report(_data_dir(data_dir), snapshot, out, command=command)
    typer.echo(line)


class Device(str, Enum):
    auto = "auto"
    cpu = "cpu"
    cuda = "cuda"


class Executor(str, Enum):
    local = "local"
    ray = "ray"


@app.command(
    epilog=_examples(
        "hubmine evaluate --sample 20 --max-examples 200",
        "    # 20 models, 200 examples per claimed split",
        "hubmine evaluate --models cardiffnlp/twitter-roberta-base-sentiment",
        "hubmine evaluate --tasks text-classification --device cuda",
        "hubmine evaluate --executor ray --address auto --gpus-per-model 1",
        "    # on a Ray cluster",
        "hubmine evaluate               # again: only what is not settled yet",
    )
)
def evaluate(
    data_dir: DataDir = None,
    snapshot: SnapshotId = None,
    models: Annotated[
        list[str] | None, typer.Option("--models", metavar="ID", help="Only these models (repeatable).")
    ] = None,
    tasks: Annotated[
        list[str] | None,
        typer.Option(
            "--tasks", metavar="TASK", help="Only claims of this task or pipeline tag (repeatable)."
        ),
    ] = None,
    sample: Annotated[
        int | None, typer.Option(metavar="N", min=1, help="Only N models, the same N on every run.")
    ] = None,
    max_examples: Annotated[
        int | None, typer.Option(metavar="N", min=1, help="The first N examples of each split.")
    ] = None,
    batch_size: Annotated[
        int, typer.Option(metavar="N", min=1, max=4096, help="Examples per forward pass.")
    ] = 32,
    device: Annotated[Device, typer.Option(help="auto: cuda when available, else cpu.")] = Device.auto,
    executor: Annotated[Executor, typer.Option(help="local: one model after another; ray: Ray tasks.")] = (
        Executor.local
    ),
    address: Annotated[
        str | None,
        typer.Option(metavar="ADDR", help="Ray cluster address (default: a local Ray on this machine)."),
    ] = None,
    gpus_per_model: Annotated[
        float, typer.Option(metavar="G", min=0, help="GPUs each Ray task asks for.")
    ] = 0,
    allow_pickle: Annotated[
        bool, typer.Option("--allow-pickle", help="Load pickle-only weights (they can run code: trust them).")
    ] = False,
) -> None:
    """Re-measure claimed results by running each model on its claimed dataset split."""
    with _one_line_errors("--data-dir"):
        require_extra("evaluate", "hubmine evaluate")
        if executor is Executor.ray:
            require_extra("ray", "hubmine evaluate --executor ray")
    from pipeline.evaluate.plan import Selection
    from pipeline.evaluate.run import run_evaluate
    from pipeline.evaluate.runner import Options

    with _one_line_errors("--data-dir"), _interruptible("run the same `hubmine evaluate` again to continue"):
        result = run_evaluate(
            _data_dir(data_dir),
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


def _step_switches() -> list[Any]:
    """One `--<flag>` switch per registered risk step, as typer builds options."""
    from pipeline.risks.catalog import STEPS

    def switches() -> None:
        """The risk steps' switches."""

    switches.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [
            inspect.Parameter(
                step.flag.replace("-", "_"),
                inspect.Parameter.KEYWORD_ONLY,
                default=False,
                annotation=Annotated[bool, typer.Option(f"--{step.flag}", help=step.help)],
            )
            for step in STEPS
        ]
    )
    probe = typer.Typer(add_completion=False)
    probe.command()(switches)
    return [param for param in typer.main.get_command(probe).params if param.name != "help"]


class _RiskStepsCommand(TyperCommand):
    """`hubmine risks`, with one switch per registered risk step. The steps, and all they import, are
    loaded only when this command parses its arguments or shows its help, so every other command starts
    without them; the switches reach the command in `ctx.meta[RISK_STEPS]`, by step name."""

    def get_params(self, ctx: Any) -> list[Any]:
        if not any(getattr(param, "is_risk_step", False) for param in self.params):
            for switch in _step_switches():
                switch.is_risk_step = True
                self.params.append(switch)
        return super().get_params(ctx)

    def invoke(self, ctx: Any) -> Any:
        names = {param.name for param in self.params if getattr(param, "is_risk_step", False)}
        ctx.meta[RISK_STEPS] = {name: ctx.params.pop(name) for name in names if name in ctx.params}
        return super().invoke(ctx)


RISK_STEPS = "hubmine.risk_steps"


@app.command(
    epilog=_examples(
        "hubmine risks --scan-status --scan-pickles   # the 100 most-downloaded",
        "hubmine risks --scan-pickles --top 1000 --max-bytes 104857600",
        "hubmine risks --scan-status --models openai-community/gpt2",
        "hubmine risks --signatures --maintainers --top 50",
        "hubmine risks --scan-status   # again: only models not measured at their sha",
    ),
    cls=_RiskStepsCommand,
)
def risks(
    ctx: typer.Context,
    data_dir: DataDir = None,
    snapshot: SnapshotId = None,
    top: TopModels = None,
    models: ChosenModels = None,
    max_bytes: Annotated[
        int | None,
        typer.Option(
            metavar="BYTES",
            min=1,
            help="Largest file downloaded whole to scan (env HUBMINE_MAX_PICKLE_BYTES; 512 MiB).",
        ),
    ] = None,
    workers: Annotated[int, typer.Option(metavar="N", min=1, max=64, help="Models measured at once.")] = 4,
) -> None:
    """Measure the risks of chosen models over the network: the Hub's own scans, a static pickle scan,
    commit signatures and maintainers. Turn on at least one step (the switches below); each writes its
    table under findings/."""
    from pipeline.risks.run import run_risks

    flags = {name.replace("_", "-") for name, on in ctx.meta[RISK_STEPS].items() if on}
    with _one_line_errors("--data-dir"), _interruptible("run the same `hubmine risks` again to continue"):
        result = run_risks(
            _data_dir(data_dir),
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
    epilog=_examples(
        "hubmine diff 20261101T000000Z 20261201T000000Z",
        "hubmine diff OLD NEW --data-dir /data/hub   # -> /data/hub/diffs/OLD..NEW/",
    )
)
def diff(
    old: Annotated[str, typer.Argument(metavar="OLD", help="The earlier snapshot id.")],
    new: Annotated[str, typer.Argument(metavar="NEW", help="The later snapshot id.")],
    data_dir: DataDir = None,
) -> None:
    """List the models added, removed, renamed, or whose card or metadata changed between two snapshots."""
    from pipeline.longitudinal.diff import run_diff

    with _one_line_errors("--data-dir"):
        result = run_diff(_data_dir(data_dir), old, new)
    typer.echo(result.summary_line())


@app.command(
    epilog=_examples(
        "hubmine trends                 # every complete, analyzed snapshot",
        "hubmine trends --snapshots 20261101T000000Z --snapshots 20261201T000000Z",
    )
)
def trends(
    data_dir: DataDir = None,
    snapshots: Annotated[
        list[str] | None, typer.Option("--snapshots", metavar="ID", help="Only these snapshots (repeatable).")
    ] = None,
) -> None:
    """Measure headline rates, weight formats, download concentration and growth across snapshots."""
    from pipeline.longitudinal.trends import run_trends

    with _one_line_errors("--data-dir"):
        result = run_trends(_data_dir(data_dir), list(snapshots or ()))
    typer.echo(result.summary_line())


class Period(str, Enum):
    week = "week"
    month = "month"


@app.command(
    epilog=_examples(
        "hubmine history                # the 100 most-downloaded models, by month",
        "hubmine history --top 1000 --period week",
        "hubmine history --models openai-community/gpt2 --models distilbert/distilgpt2",
        "hubmine history --git          # also PRIME's line counts, from a git clone",
        "hubmine history                # again: only the commits not held yet",
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
    workers: Annotated[int, typer.Option(metavar="N", min=1, max=64, help="Models listed at once.")] = 4,
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
            _data_dir(data_dir),
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
    epilog=_examples(
        "hubmine publish 20261130T221500Z --repo me/hub-models --dry-run",
        "    # the dataset folder only",
        "HF_TOKEN=hf_... hubmine publish latest --repo me/hub-models --private",
        "hubmine publish latest --repo me/hub-models",
        "    # the newest complete snapshot; a rerun is a no-op",
    )
)
def publish(
    snapshot: Annotated[
        str, typer.Argument(metavar="SNAPSHOT", help="Snapshot id, or `latest` for the newest complete one.")
    ],
    repo: Annotated[
        str, typer.Option("--repo", metavar="NAME", help="Dataset repository, `namespace/name`.")
    ],
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
            _data_dir(data_dir),
            None if snapshot == "latest" else snapshot,
            repo,
            private=private,
            dry_run=dry_run,
        )
    typer.echo(result.summary_line())


@app.command(
    epilog=_examples(
        "hubmine prune --keep 4 --dry-run   # what would go",
        "hubmine prune --keep 4",
        "hubmine prune --keep 1 --force     # also those a diff or a trend names",
    )
)
def prune(
    keep: Annotated[
        int, typer.Option("--keep", metavar="N", min=1, help="Complete snapshots to keep, newest first.")
    ],
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
        result = run_prune(_data_dir(data_dir), keep, force=force, dry_run=dry_run)
    for line in result.lines:
        typer.echo(line)
    typer.echo(result.summary_line())


@app.command(
    name="import",
    epilog=_examples(
        "hubmine import librarian-bots/model_cards_with_metadata",
        "    # a Hub dataset, through HF_ENDPOINT",
        "hubmine import ./dump --snapshot dump-2026-11   # a folder of Parquet files",
        "hubmine import ./dump && hubmine crawl",
        "    # then fetch only the cards changed since the dump",
    ),
)
def import_dump(
    source: Annotated[
        str, typer.Argument(metavar="SOURCE", help="A Hub dataset id, or a local folder of Parquet files.")
    ],
    data_dir: DataDir = None,
    snapshot: Annotated[
        str | None,
        typer.Option("--snapshot", metavar="ID", help="Snapshot id (default: the UTC start time)."),
    ] = None,
) -> None:
    """Make a complete snapshot from a published dump of model cards, for a crawl to build on."""
    from pipeline.longitudinal.imports import run_import

    with (
        _one_line_errors("--data-dir"),
        _interruptible("nothing was kept, run the same `hubmine import` again"),
    ):
        result = run_import(_data_dir(data_dir), source, snapshot_id=snapshot)
    typer.echo(result.summary_line())


@app.command(epilog=_examples("hubmine status", "hubmine status --data-dir /data/hub"))
def status(data_dir: DataDir = None) -> None:
    """List the snapshots, oldest first: id, state, models and cards, size, endpoint and parameters."""
    from pipeline.status import status_lines

    with _one_line_errors("--data-dir"):
        lines = status_lines(_data_dir(data_dir))
    for line in lines:
        typer.echo(line)


def main() -> None:
    app()
