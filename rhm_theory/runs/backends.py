"""Executing many runs: a local process pool (default) or a Ray cluster, with one writer.

Workers only compute (``runner(spec) -> row``) and return rows or error messages; the driver alone
writes the results file, appending each row as it arrives. A run that raises is recorded as a
failure (with its error) and is run again by the next invocation; a worker or node that dies loses
only the runs in flight (recorded as failures, retried next time). Every run of an invocation ends
up either stored, recorded as failed, or (after Ctrl-C) not started, whatever the timing.

Ctrl-C (SIGINT) in the driver: the first one starts no new run and stores the runs in flight as they
finish, then raises :class:`Interrupted`; a second one abandons the runs in flight at once (their
workers are stopped; nothing of them is stored, the next invocation runs them again) and raises
KeyboardInterrupt. Workers ignore SIGINT, so a Ctrl-C at the terminal reaches the driver only.
A worker's job is one run, or (``ensemble_size`` > 1) several runs that differ only in their seed,
trained as one ensemble (rhm_theory.runs.batched.run_many); the rules above hold for every run of a
job, and a job that raises records each of its runs as failed.
Ray is imported only by the Ray backend (``pip install rhm-theory[ray]``).

Local devices (``devices=["cuda:0", "cuda:1"]``): each run is handed the next device round-robin,
skipping to the one with the fewest runs in flight when the devices are unevenly loaded; the runner
is then called as ``runner(spec, device=name)``. A run's key and row keep its spec's ``device``: where it
happened to execute does not make it another run, so a resumed sweep skips it whatever devices it
is given.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from types import FrameType
from typing import Any

from tqdm.auto import tqdm

from rhm_theory.core.validation import check_int
from rhm_theory.learning.training import check_device
from rhm_theory.runs.batched import ensemble_groups, run_many
from rhm_theory.runs.experiment import check_runs, run_one
from rhm_theory.runs.spec import RunSpec, run_key
from rhm_theory.runs.store import ResultsStore

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


class Interrupted(KeyboardInterrupt):
    """Ctrl-C stopped an invocation after its runs in flight were stored; ``outcome`` counts them."""

    def __init__(self, outcome: SweepOutcome, not_started: int):
        super().__init__(
            f"{outcome.finished} runs stored and {outcome.failed} failed now, "
            f"{not_started} not started; rerun the same command to resume"
        )
        self.outcome, self.not_started = outcome, not_started


class _StopOnInterrupt:
    """While active in the main thread: the first SIGINT sets ``requested`` (and says so on stderr),
    the second raises KeyboardInterrupt."""

    def __init__(self) -> None:
        self.requested = False
        self._previous: Callable[[int, FrameType | None], Any] | int | signal.Handlers | None = None

    def __enter__(self) -> _StopOnInterrupt:
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True
        print(
            "Ctrl-C: no new runs start; the runs in flight are stored as they finish (Ctrl-C again abandons them)",
            file=sys.stderr,
            flush=True,
        )


@contextlib.contextmanager
def _sigint_ignored() -> Iterator[None]:
    """SIGINT ignored in this block (in the main thread): processes started here inherit it."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _init_worker(threads: int, driver_pid: int) -> None:
    """Pool initializer: use ``threads`` torch threads, and exit as soon as the driver process is gone
    (killed drivers would otherwise leave workers finishing runs that nobody stores)."""
    import torch

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the driver's to handle
    torch.set_num_threads(threads)

    def exit_with_driver() -> None:
        while os.getppid() == driver_pid:
            time.sleep(1.0)
        os._exit(1)

    threading.Thread(target=exit_with_driver, daemon=True).start()


def guarded_run(
    runner: Callable[..., dict], job: list[RunSpec], threads: int | None = None, device: str | None = None
) -> tuple[str, object]:
    """Run one job in a worker (on ``device`` when given): ("ok", its rows) or ("error", message);
    never raises for a failed run. A job is one spec, run by ``runner``, or several specs equal but for
    their seed, trained as one ensemble (rhm_theory.runs.batched.run_many; ``runner`` is then run_one)."""
    if threads is not None:
        import torch

        torch.set_num_threads(threads)
    try:
        if len(job) > 1:
            return "ok", run_many(job, max_members=len(job), device=device)
        return "ok", [runner(job[0]) if device is None else runner(job[0], device=device)]
    except Exception as error:  # reported to the driver, which records it
        return "error", f"{type(error).__name__}: {error}\n{traceback.format_exc(limit=8)}"


class _Recorder:
    """The driver's side: appends rows and failures to the store and keeps the progress bar."""

    def __init__(self, store: ResultsStore, total: int, skipped: int, progress: bool) -> None:
        self.store, self.finished, self.failed = store, 0, 0
        self.bar = tqdm(total=total, initial=skipped, desc="runs", disable=not progress)
        self.bar.set_postfix(done=skipped, failed=0, remaining=total - skipped, refresh=False)

    def _advance(self) -> None:
        done = self.bar.n + 1
        self.bar.set_postfix(done=done, failed=self.failed, remaining=self.bar.total - done, refresh=False)
        self.bar.update(1)

    def record(self, job: list[RunSpec], status: str, payload: Any) -> None:
        """Store what a worker returned for a job: ("ok", its rows) or ("error", message: every run of
        the job failed)."""
        for i, spec in enumerate(job):
            if status == "ok":
                self.ok(spec, payload[i])
            else:
                self.error(spec, payload)

    def ok(self, spec: RunSpec, row: dict) -> None:
        if row.get("key") != run_key(spec):
            raise ValueError(
                f"runner returned a row with key {row.get('key')!r}, expected run_key(spec) = {run_key(spec)!r}"
            )
        self.store.append(row)
        self.finished += 1
        self._advance()

    def error(self, spec: RunSpec, message: str) -> None:
        self.store.record_failure(run_key(spec), message)
        self.failed += 1
        self._advance()


def check_devices(devices: Sequence[str]) -> list[str]:
    """``devices`` (a non-empty list of torch device names, repeats allowed) checked usable on this
    machine (rhm_theory.learning.training.check_device), else ValueError naming the bad one."""
    if isinstance(devices, str) or not devices:
        raise ValueError(
            f"devices must be a non-empty list of torch device names such as ['cuda:0', 'cuda:1'], got {devices!r}"
        )
    for name in devices:
        if not isinstance(name, str):
            raise ValueError(f"device names must be strings, got {name!r}")
        check_device(name)
    return list(devices)


class _DeviceRota:
    """Hands out the device slots of ``devices`` (None: no device, the spec's own): round-robin,
    skipping ahead to the slot with the fewest runs in flight."""

    def __init__(self, devices: Sequence[str] | None) -> None:
        self.devices, self.turn = devices, 0
        self.load = [0] * len(devices or ())

    def take(self) -> int | None:
        if not self.devices:
            return None
        n = len(self.devices)
        slot = min(((self.turn + j) % n for j in range(n)), key=lambda i: (self.load[i], (i - self.turn) % n))
        self.turn, self.load[slot] = (slot + 1) % n, self.load[slot] + 1
        return slot

    def give_back(self, slot: int | None) -> None:
        if slot is not None:
            self.load[slot] -= 1

    def name(self, slot: int | None) -> str | None:
        if slot is None:
            return None
        assert self.devices is not None  # take() gives a slot only when there are devices
        return self.devices[slot]


def execute(
    specs: Iterable[RunSpec],
    store: ResultsStore,
    backend: str = "local",
    workers: int | None = None,
    address: str | None = None,
    gpus_per_run: float = 0,
    runner: Callable[..., dict] = run_one,
    progress: bool = True,
    devices: Sequence[str] | None = None,
    ensemble_size: int = 1,
) -> SweepOutcome:
    """Run every spec whose key is not stored yet; rows and failures go to ``store`` as they come.

    backend "local": a process pool of ``workers`` processes (default: CPU cores; 1 = in this process).
    backend "ray": tasks on the Ray cluster at ``address`` (a local Ray instance with ``workers`` CPUs
    when None), each asking for one CPU and ``gpus_per_run`` GPUs. ``runner`` must be a picklable
    top-level function spec -> row with ``row["key"] == run_key(spec)``. Ctrl-C: see the module
    docstring (raises :class:`Interrupted` once the runs in flight are stored). ``devices`` (local
    backend): spread the runs over these torch devices (module docstring); ``runner`` must then take
    a ``device`` keyword; ``workers`` defaults to one per device. ``ensemble_size`` > 1: the specs
    that differ only in their seed train together, up to that many per ensemble (one job of a worker;
    rhm_theory.runs.batched.run_many), which at small widths is several times faster; ``runner`` must
    then be run_one, and a job that fails records every run of it as failed.
    """
    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}: expected one of {BACKENDS}")
    if gpus_per_run < 0:
        raise ValueError(f"gpus_per_run must be >= 0, got {gpus_per_run}")
    if gpus_per_run and backend != "ray":
        raise ValueError("gpus_per_run is a Ray resource request: use backend='ray' (locally, set the spec's device)")
    if address is not None and backend != "ray":
        raise ValueError(
            f"address {address!r} is the address of a Ray cluster: use backend='ray' (the local backend runs on this machine)"
        )
    ensemble_size = check_int("ensemble_size", ensemble_size)
    if ensemble_size > 1 and runner is not run_one:
        raise ValueError("ensemble_size > 1 trains specs with rhm_theory.runs.batched.run_many: runner must be run_one")
    if devices is not None:
        if backend != "local":
            raise ValueError(
                "devices spreads runs over this machine's devices: backend 'local' only (Ray places runs by gpus_per_run)"
            )
        devices = check_devices(devices)
    specs = check_runs(list(specs), members=ensemble_size)  # every run's sizes and row, before any run starts
    keys = [run_key(spec) for spec in specs]
    if len(set(keys)) != len(keys):
        raise ValueError("specs must be distinct: the same run is listed twice")
    done = store.finished_keys()
    todo = [spec for spec, key in zip(specs, keys) if key not in done]
    if (
        backend == "local" and devices is None
    ):  # the runs use this machine's devices: refuse unusable ones before any run
        for device in sorted({spec.device for spec in todo}):
            check_device(device)
    jobs = (
        [[todo[i] for i in group] for group in ensemble_groups(todo, ensemble_size)]
        if ensemble_size > 1
        else [[spec] for spec in todo]
    )
    recorder = _Recorder(store, len(specs), len(specs) - len(todo), progress)
    try:
        with _StopOnInterrupt() as stop:
            if backend == "ray":
                _run_ray(jobs, recorder, runner, workers, address, gpus_per_run, stop)
            else:
                default = len(devices) if devices else (os.cpu_count() or 1)
                workers = default if workers is None else check_int("workers", workers)
                _run_local(jobs, recorder, runner, workers, stop, _DeviceRota(devices))
    finally:
        recorder.bar.close()
    outcome = SweepOutcome(skipped=len(specs) - len(todo), finished=recorder.finished, failed=recorder.failed)
    if stop.requested:
        raise Interrupted(outcome, len(todo) - outcome.finished - outcome.failed)
    if outcome.finished + outcome.failed != len(todo):  # every run is accounted for
        raise RuntimeError(f"{len(todo)} runs to do but {outcome.finished} finished and {outcome.failed} failed")
    return outcome


def _new_pool(workers: int, threads: int) -> ProcessPoolExecutor:
    """The local backend's process pool (spawned workers that ignore SIGINT and exit with the driver)."""
    return ProcessPoolExecutor(
        max_workers=workers,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_init_worker,
        initargs=(threads, os.getpid()),
    )


def _stop_workers(pool: ProcessPoolExecutor) -> None:
    """Terminate the pool's worker processes now (runs in flight are abandoned)."""
    for process in list((getattr(pool, "_processes", None) or {}).values()):
        process.terminate()


def _run_local(
    jobs: list[list[RunSpec]],
    recorder: _Recorder,
    runner: Callable[..., dict],
    workers: int,
    stop: _StopOnInterrupt,
    rota: _DeviceRota,
) -> None:
    if workers == 1 or len(jobs) <= 1:  # in this process: no pool to start
        for job in jobs:
            if stop.requested:
                return
            slot = rota.take()
            recorder.record(job, *guarded_run(runner, job, device=rota.name(slot)))
            rota.give_back(slot)
        return
    threads = max(1, (os.cpu_count() or 1) // workers)
    queue = list(reversed(jobs))
    while queue and not stop.requested:  # a new pool after a worker death; only the runs in flight are lost
        pool = _new_pool(workers, threads)
        in_flight: dict[Future[tuple[str, object]], list[RunSpec]] = {}  # future -> job
        slots: dict[Future[tuple[str, object]], int | None] = {}  # future -> device slot
        started = 0  # runs submitted to this pool
        abandon = True  # unless the loop ends normally or on a broken pool
        try:
            while in_flight or (queue and not stop.requested):
                while queue and not stop.requested and len(in_flight) < workers:  # bounded: in flight = running
                    slot = rota.take()
                    try:
                        with _sigint_ignored():  # a worker spawned here ignores Ctrl-C from its first instruction
                            future = pool.submit(
                                guarded_run, runner, queue[-1], None, rota.name(slot)
                            )  # BrokenProcessPool: spec stays queued
                    except BaseException:
                        rota.give_back(slot)
                        raise
                    in_flight[future], slots[future] = queue.pop(), slot
                    started += 1
                finished, _ = wait(in_flight, return_when=FIRST_COMPLETED)
                for future in finished:
                    job = in_flight.pop(future)
                    rota.give_back(slots.pop(future))
                    try:
                        status, payload = future.result()
                    except BrokenProcessPool as error:  # its worker, or another one, died
                        status, payload = "error", f"worker process died: {error}"
                    recorder.record(job, status, payload)
            abandon = False
        except BrokenProcessPool as error:  # raised by submit: the pool broke between two runs
            for future, job in in_flight.items():
                rota.give_back(slots.pop(future))
                recorder.record(job, "error", f"worker process died: {error}")
            if not started:  # a pool that breaks before running anything: fail a job rather than loop
                recorder.record(queue.pop(), "error", f"worker process died before any run started: {error}")
            abandon = False
        finally:
            if abandon:  # a second Ctrl-C (or an error in the driver): do not wait for the runs in flight
                _stop_workers(pool)
            pool.shutdown(wait=not abandon, cancel_futures=True)


def _run_ray(
    jobs: list[list[RunSpec]],
    recorder: _Recorder,
    runner: Callable[..., dict],
    workers: int | None,
    address: str | None,
    gpus_per_run: float,
    stop: _StopOnInterrupt,
) -> None:
    try:
        import ray
    except ImportError as error:
        raise ImportError("the Ray backend needs Ray: pip install 'rhm-theory[ray]'") from error
    started_here = not ray.is_initialized()
    if started_here:
        options = {"address": address} if address else {"num_cpus": workers or os.cpu_count()}
        ray.init(**options, include_dashboard=False, log_to_driver=False)
    pending: dict[ray.ObjectRef, list[RunSpec]] = {}  # task -> job
    try:
        task = ray.remote(guarded_run).options(num_cpus=1, num_gpus=gpus_per_run, max_retries=0)
        resources = ray.cluster_resources()
        slots = (
            resources.get("CPU", 1)
            if not gpus_per_run
            else min(resources.get("CPU", 1), resources.get("GPU", 0) / gpus_per_run)
        )
        slots = max(1, int(slots))  # tasks submitted at once: about the runs the cluster can hold
        queue = list(reversed(jobs))
        while pending or (queue and not stop.requested):
            while queue and not stop.requested and len(pending) < slots:
                ref = task.remote(runner, queue[-1], 1)
                pending[ref] = queue.pop()
            ready, _ = ray.wait(list(pending), num_returns=1)
            for ref in ready:
                job = pending.pop(ref)
                try:
                    status, payload = ray.get(ref)
                except ray.exceptions.RayError as error:  # worker or node died: the job is lost, not the sweep
                    status, payload = "error", f"Ray task lost: {type(error).__name__}: {error}"
                recorder.record(job, status, payload)
    finally:
        for ref in pending:  # abandoned (second Ctrl-C or a driver error): stop them
            ray.cancel(ref, force=True)
        if started_here:
            ray.shutdown()
