"""Executing many runs: a local process pool (default) or a Ray cluster, with one writer.

Workers only compute (``runner(spec) -> row``) and return rows or error messages; the driver alone
writes the results file, appending each row as it arrives. A run that raises is recorded as a
failure (with its error) and is run again by the next invocation; a worker or node that dies loses
only the runs in flight (recorded as failures, retried next time). Ray is imported only by the
Ray backend (``pip install rhm-theory[ray]``).
"""

from __future__ import annotations

import multiprocessing
import os
import threading
import time
import traceback
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass

from tqdm.auto import tqdm

from rhm_theory.runs.experiment import run_one
from rhm_theory.runs.spec import RunSpec, run_key
from rhm_theory.runs.store import ResultsStore
from rhm_theory.core.validation import check_int

BACKENDS = ("local", "ray")


@dataclass
class SweepOutcome:
    """Counts of one invocation: runs already stored (skipped), finished now, failed now."""

    skipped: int
    finished: int
    failed: int

    @property
    def complete(self) -> bool:
        return self.failed == 0


def _init_worker(threads: int, driver_pid: int) -> None:
    """Pool initializer: use ``threads`` torch threads, and exit as soon as the driver process is gone
    (killed drivers would otherwise leave workers finishing runs that nobody stores)."""
    import torch

    torch.set_num_threads(threads)

    def exit_with_driver() -> None:
        while os.getppid() == driver_pid:
            time.sleep(1.0)
        os._exit(1)

    threading.Thread(target=exit_with_driver, daemon=True).start()


def guarded_run(runner, spec: RunSpec, threads: int | None = None) -> tuple[str, object]:
    """Run one spec in a worker: ("ok", row) or ("error", message); never raises for a failed run."""
    if threads is not None:
        import torch

        torch.set_num_threads(threads)
    try:
        return "ok", runner(spec)
    except Exception as error:  # reported to the driver, which records it
        return "error", f"{type(error).__name__}: {error}\n{traceback.format_exc(limit=8)}"


class _Recorder:
    """The driver's side: appends rows and failures to the store and keeps the progress bar."""

    def __init__(self, store: ResultsStore, total: int, skipped: int, progress: bool):
        self.store, self.finished, self.failed = store, 0, 0
        self.bar = tqdm(total=total, initial=skipped, desc="runs", disable=not progress)
        self.bar.set_postfix(done=skipped, failed=0, remaining=total - skipped, refresh=False)

    def _advance(self) -> None:
        done = self.bar.n + 1
        self.bar.set_postfix(done=done, failed=self.failed, remaining=self.bar.total - done, refresh=False)
        self.bar.update(1)

    def record(self, spec: RunSpec, status: str, payload) -> None:
        """Store what a worker returned: ("ok", row) or ("error", message)."""
        if status == "ok":
            self.ok(spec, payload)
        else:
            self.error(spec, payload)

    def ok(self, spec: RunSpec, row: dict) -> None:
        if row.get("key") != run_key(spec):
            raise ValueError(f"runner returned a row with key {row.get('key')!r}, expected run_key(spec) = {run_key(spec)!r}")
        self.store.append(row)
        self.finished += 1
        self._advance()

    def error(self, spec: RunSpec, message: str) -> None:
        self.store.record_failure(run_key(spec), message)
        self.failed += 1
        self._advance()


def execute(specs, store: ResultsStore, backend: str = "local", workers=None, address: str | None = None,
            gpus_per_run: float = 0, runner=run_one, progress: bool = True) -> SweepOutcome:
    """Run every spec whose key is not stored yet; rows and failures go to ``store`` as they come.

    backend "local": a process pool of ``workers`` processes (default: CPU cores; 1 = in this process).
    backend "ray": tasks on the Ray cluster at ``address`` (a local Ray instance with ``workers`` CPUs
    when None), each asking for one CPU and ``gpus_per_run`` GPUs. ``runner`` must be a picklable
    top-level function spec -> row with ``row["key"] == run_key(spec)``.
    """
    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}: expected one of {BACKENDS}")
    if gpus_per_run < 0:
        raise ValueError(f"gpus_per_run must be >= 0, got {gpus_per_run}")
    if gpus_per_run and backend != "ray":
        raise ValueError("gpus_per_run is a Ray resource request: use backend='ray' (locally, set the spec's device)")
    specs = list(specs)
    keys = [run_key(spec) for spec in specs]
    if len(set(keys)) != len(keys):
        raise ValueError("specs must be distinct: the same run is listed twice")
    done = store.finished_keys()
    todo = [spec for spec, key in zip(specs, keys) if key not in done]
    recorder = _Recorder(store, len(specs), len(specs) - len(todo), progress)
    try:
        if backend == "ray":
            _run_ray(todo, recorder, runner, workers, address, gpus_per_run)
        else:
            workers = (os.cpu_count() or 1) if workers is None else check_int("workers", workers)
            _run_local(todo, recorder, runner, workers)
    finally:
        recorder.bar.close()
    return SweepOutcome(skipped=len(specs) - len(todo), finished=recorder.finished, failed=recorder.failed)


def _run_local(todo: list[RunSpec], recorder: _Recorder, runner, workers: int) -> None:
    if workers == 1 or len(todo) <= 1:  # in this process: no pool to start
        for spec in todo:
            recorder.record(spec, *guarded_run(runner, spec))
        return
    threads = max(1, (os.cpu_count() or 1) // workers)
    queue = list(reversed(todo))
    while queue:  # a new pool after a worker death; only the runs in flight are lost
        pool = ProcessPoolExecutor(
            max_workers=workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_init_worker,
            initargs=(threads, os.getpid()),
        )
        in_flight = {}
        try:
            while queue or in_flight:
                while queue and len(in_flight) < workers:  # bounded: in flight = running
                    spec = queue.pop()
                    in_flight[pool.submit(guarded_run, runner, spec)] = spec
                finished, _ = wait(in_flight, return_when=FIRST_COMPLETED)
                for future in finished:
                    status, payload = future.result()  # raises BrokenProcessPool if a worker died
                    recorder.record(in_flight.pop(future), status, payload)
        except BrokenProcessPool as error:
            for spec in in_flight.values():
                recorder.error(spec, f"worker process died: {error}")
        finally:
            pool.shutdown(wait=True, cancel_futures=True)


def _run_ray(todo: list[RunSpec], recorder: _Recorder, runner, workers, address, gpus_per_run) -> None:
    try:
        import ray
    except ImportError as error:
        raise ImportError("the Ray backend needs Ray: pip install 'rhm-theory[ray]'") from error
    started_here = not ray.is_initialized()
    if started_here:
        options = {"address": address} if address else {"num_cpus": workers or os.cpu_count()}
        ray.init(**options, include_dashboard=False, log_to_driver=False)
    try:
        task = ray.remote(guarded_run).options(num_cpus=1, num_gpus=gpus_per_run, max_retries=0)
        pending = {task.remote(runner, spec, 1): spec for spec in todo}
        while pending:
            ready, _ = ray.wait(list(pending), num_returns=1)
            for ref in ready:
                spec = pending.pop(ref)
                try:
                    status, payload = ray.get(ref)
                except ray.exceptions.RayError as error:  # worker or node died: the run is lost, not the sweep
                    status, payload = "error", f"Ray task lost: {type(error).__name__}: {error}"
                recorder.record(spec, status, payload)
    finally:
        if started_here:
            ray.shutdown()
