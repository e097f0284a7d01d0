"""Where models run: one after another in child processes (local), or as Ray tasks (ray).

Each model runs in a child process of its own, so a segfault, an OOM kill or a model that runs past
HUBMINE_EVAL_MODEL_TIMEOUT_S takes down only that child: its claims become `error` rows and the run
goes on. On the CPU the children are forked from multiprocessing's fork server, which imports torch,
transformers, datasets and the metric libraries once (a fresh interpreter spends seconds on them for
every model). A process that may use CUDA is never forked from one whose imports may have touched
it, so on `cuda` (and `auto`, which Ray workers resolve themselves), and where there is no fork
server (Windows), each model gets a fresh interpreter (spawn). Under Ray each model is one task that
does the same inside its worker, so both executors give the same rows. `record` is called in the
driver as each model ends.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.forkserver
import os
import pickle
from collections.abc import Callable, Sequence
from multiprocessing.connection import Connection

from pipeline import settings
from pipeline.errors import one_line
from pipeline.evaluate.plan import ModelJob
from pipeline.evaluate.runner import Options, Row, evaluate_model, failed

EXIT_GRACE_S = 10.0
PRELOADED = [
    "pipeline.evaluate.runner",
    "datasets",
    "transformers.modeling_utils",
    "transformers.processing_utils",
    "transformers.models.auto.modeling_auto",
    "transformers.models.auto.tokenization_auto",
    "transformers.models.auto.processing_auto",
]
# The environment and working directory the fork server started in: the modules it imported read them
# then (huggingface_hub its endpoint and caches), so the server is started again when they change.
_server_started_in: tuple[dict[str, str], str] | None = None
Record = Callable[[ModelJob, list[Row]], None]


def model_timeout_s() -> float:
    return settings.EVAL_MODEL_TIMEOUT_S.read()


def _child(job: ModelJob, options: Options, conn: Connection) -> None:
    # Downloads and loads in a child: their progress bars and warnings would bury the run's own bar.
    import datasets
    import transformers
    from huggingface_hub.utils import disable_progress_bars

    disable_progress_bars()
    datasets.disable_progress_bars()
    transformers.logging.set_verbosity_error()
    transformers.logging.disable_progress_bar()
    conn.send(evaluate_model(job, options))
    conn.close()


def evaluate_isolated(job: ModelJob, options: Options, timeout_s: float) -> list[Row]:
    """`evaluate_model` in a child process; a crash or a timeout is an `error` row per runnable claim."""
    if not job.runnable():
        return evaluate_model(job, options)  # nothing to load: no child needed
    forkable = options.device == "cpu" and "forkserver" in multiprocessing.get_all_start_methods()
    context = _fork_server() if forkable else multiprocessing.get_context("spawn")
    receiver, sender = context.Pipe(duplex=False)
    process = context.Process(target=_child, args=(job, options, sender), daemon=True)
    process.start()
    sender.close()
    try:
        if receiver.poll(timeout_s):
            try:
                rows = receiver.recv()
            except (EOFError, OSError, pickle.UnpicklingError) as exc:
                process.join()
                why = (
                    ""
                    if isinstance(exc, EOFError)
                    else f" ({type(exc).__name__}: {one_line(str(exc))[:200]})"
                )
                return failed(
                    job, f"the evaluation process died (exit code {process.exitcode}){why}; out of memory?"
                )
            # Left to end on its own, the child releases the semaphores it registered (killed, it would
            # leave them to the resource tracker's warning at exit).
            process.join(EXIT_GRACE_S)
            return rows
        return failed(job, f"timed out after {timeout_s:g} s (HUBMINE_EVAL_MODEL_TIMEOUT_S)")
    finally:
        receiver.close()
        if process.is_alive():
            process.kill()
        process.join()


def _fork_server() -> multiprocessing.context.ForkServerContext:
    global _server_started_in
    now = (dict(os.environ), os.getcwd())
    if _server_started_in != now:  # or a server that another part of this process started (card stage)
        multiprocessing.forkserver._forkserver._stop()
    _server_started_in = now
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(PRELOADED)
    return context


def run_local(jobs: Sequence[ModelJob], options: Options, record: Record) -> None:
    timeout_s = model_timeout_s()
    for job in jobs:
        record(job, evaluate_isolated(job, options, timeout_s))


def run_ray(
    jobs: Sequence[ModelJob], options: Options, record: Record, address: str | None, gpus_per_model: float
) -> None:
    """One Ray task per model on the cluster at `address`, or on a local Ray of this machine's CPUs."""
    import ray

    if address:
        ray.init(address=address, log_to_driver=False)
    else:
        cpus = settings.EVAL_RAY_CPUS.read() or os.cpu_count() or 1
        ray.init(num_cpus=cpus, include_dashboard=False, log_to_driver=False)
    try:
        task = ray.remote(num_cpus=1, num_gpus=gpus_per_model, max_retries=0)(evaluate_isolated)
        timeout_s = model_timeout_s()
        pending = {task.remote(job, options, timeout_s): job for job in jobs}
        while pending:
            ready, _ = ray.wait(list(pending), num_returns=1)
            job = pending.pop(ready[0])
            try:
                rows = ray.get(ready[0])
            except ray.exceptions.RayError as exc:
                rows = failed(job, f"the Ray task failed: {type(exc).__name__}")
            record(job, rows)
    finally:
        ray.shutdown()
