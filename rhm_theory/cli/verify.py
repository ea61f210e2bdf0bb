"""``rhm verify``: run every check under verification/ and write one report (markdown + PNG)."""

from __future__ import annotations

import importlib.util
import json
import multiprocessing
import sys
import time
import traceback
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from pathlib import Path

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

from rhm_theory.core.files import write_atomically
from rhm_theory.core.validation import check_int
from rhm_theory.report.checks import Check, Section, exit_status, summary, write_report

from . import add_force_arg, output_folder


def find_checks_dir(explicit: str | None) -> Path:
    """The folder given by --checks, else verification/ of the rhm-theory source tree this package
    runs from (an editable install). Never a folder of the working directory: only scripts the user
    pointed at, or the project's own, are run."""
    if explicit:
        candidate = Path(explicit)
        if not candidate.is_dir():
            raise ValueError(f"--checks {explicit}: no such folder")
        return candidate
    root = Path(__file__).resolve().parents[2]
    if _is_source_tree(root) and (root / "verification").is_dir():
        return root / "verification"
    raise ValueError(
        f"rhm_theory runs from {root}, which is not an rhm-theory source tree with a verification/ folder: "
        "pass --checks DIR (the verification/ folder of the source tree)"
    )


def _is_source_tree(root: Path) -> bool:
    """Whether ``root`` holds the pyproject.toml of rhm-theory (and this package)."""
    try:
        project = tomllib.loads((root / "pyproject.toml").read_text()).get("project", {})
    except (OSError, tomllib.TOMLDecodeError):
        return False
    return project.get("name") == "rhm-theory" and (root / "rhm_theory" / "cli" / "verify.py").is_file()


def run_script(path: Path, out_dir: Path, quick: bool) -> tuple[Section, bool]:
    """Import one verification script and run it: (its section, whether it finished). An exception,
    a ``sys.exit`` inside the script or a result that is not a Section becomes a section of one
    failed check, and the script counts as not finished."""
    try:
        spec = importlib.util.spec_from_file_location(f"verification_{path.stem}", path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module  # dataclasses with postponed annotations look their module up
        spec.loader.exec_module(module)
        section = module.run(out_dir, quick=quick)
    except (Exception, SystemExit) as error:  # report it and go on with the other scripts
        where = traceback.extract_tb(error.__traceback__)[-1]
        return _did_not_run(
            path, f"{type(error).__name__}: {error} (at {Path(where.filename).name}:{where.lineno})"
        ), False
    if not isinstance(section, Section):
        return _did_not_run(path, f"run() returned {type(section).__name__}, not a Section"), False
    return section, True


def _did_not_run(path: Path, detail: str) -> Section:
    """The section of a script that did not finish: one failed check saying why."""
    return Section(path.stem, [Check(f"{path.stem} ran", False, detail)])


def section_file(out_dir: Path, stem: str, full: bool) -> Path:
    """Where the finished section of one script is kept (JSON), for ``--resume``."""
    return out_dir / "sections" / f"{stem}_{'full' if full else 'quick'}.json"


def load_section(path: Path) -> Section | None:
    """The section stored at ``path``, or None when there is none or it does not validate (said on
    stderr: the script then runs again)."""
    if not path.is_file():
        return None
    try:
        return Section.from_dict(json.loads(path.read_text()))
    except (OSError, ValueError, TypeError) as error:
        print(f"rhm verify: stored section {path} is not valid ({error}): running its script again", file=sys.stderr)
        return None


def store_section(path: Path, section: Section) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(path, lambda f: f.write(json.dumps(section.to_dict(), allow_nan=False).encode()))


def run(args) -> int:
    jobs = check_int("jobs", args.jobs)
    out_dir = output_folder(args.out, args.force)
    checks_dir = find_checks_dir(args.checks)
    scripts = sorted(p for p in checks_dir.glob("*.py") if not p.name.startswith("_"))
    if args.only:
        unknown = sorted(set(args.only) - {p.stem for p in scripts})
        if unknown:
            raise ValueError(
                f"--only {' '.join(unknown)}: no such verification script in {checks_dir} "
                f"(expected some of {', '.join(p.stem for p in scripts)})"
            )
        scripts = [p for p in scripts if p.stem in args.only]
    if not scripts:
        raise ValueError(f"no verification scripts to run in {checks_dir} (only={args.only})")
    out_dir.mkdir(parents=True, exist_ok=True)
    mode = "full" if args.full else "quick"
    sections: dict[Path, Section] = {}
    to_run = []
    for path in scripts:
        section = load_section(section_file(out_dir, path.stem, args.full)) if args.resume else None
        if section is None:
            to_run.append(path)
        else:
            print(f"== {path.stem} ({mode}, finished before: reused)", flush=True)
            _print_section(section)
            sections[path] = section

    def header(path: Path) -> None:
        print(f"== {path.stem} ({mode})", flush=True)

    for path, section, finished, seconds in _run_scripts(to_run, out_dir, not args.full, jobs, header):
        if finished:  # a script that crashed is run again by the next --resume
            store_section(section_file(out_dir, path.stem, args.full), section)
        _print_section(section)
        print(f"   {path.stem}: {seconds:.1f} s", flush=True)
        sections[path] = section
    ordered = [sections[path] for path in scripts]  # the report keeps the scripts' order, whatever finished first
    report = write_report(ordered, out_dir)
    every = [c for s in ordered for c in s.checks]
    print(f"{summary(every)}; report: {report}")
    return exit_status(every, args.strict)


def _print_section(section: Section) -> None:
    for check in section.checks:
        print(check.line(), flush=True)


def _timed_run(path: Path, out_dir: Path, quick: bool) -> tuple[Section, bool, float]:
    """run_script and its wall time: (section, finished, seconds)."""
    start = time.perf_counter()
    section, finished = run_script(path, out_dir, quick)
    return section, finished, time.perf_counter() - start


def _run_in_own_process(path: Path, out_dir: Path, quick: bool) -> tuple[dict, bool, float]:
    """_timed_run in a worker process, its section as a dict (what crosses back to this process)."""
    section, finished, seconds = _timed_run(path, out_dir, quick)
    return section.to_dict(), finished, seconds


def _run_scripts(paths: list[Path], out_dir: Path, quick: bool, jobs: int, header):
    """Yield (path, section, finished, seconds) for every script, as each finishes, calling ``header(path)``
    before its checks are yielded. jobs = 1 runs the scripts one after another in this process (each
    header before its script runs); jobs > 1 runs up to ``jobs`` of them at once, each in a fresh process
    of its own (each header when its script finishes). A script's own worker processes and seeds do
    not depend on ``jobs``, so neither do its results."""
    if jobs == 1 or len(paths) <= 1:
        for path in paths:
            header(path)
            yield path, *_timed_run(path, out_dir, quick)
        return
    context = multiprocessing.get_context("spawn")
    pending, running = list(paths), {}
    print(f"== running {len(paths)} scripts, {min(jobs, len(paths))} at a time", flush=True)
    try:
        while pending or running:
            while pending and len(running) < jobs:  # one single-use process per script: a crash ends only it
                path = pending.pop(0)
                executor = ProcessPoolExecutor(max_workers=1, mp_context=context)
                running[executor.submit(_run_in_own_process, path, out_dir, quick)] = (path, executor)
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in sorted(done, key=lambda f: running[f][0]):
                path, executor = running.pop(future)
                executor.shutdown()
                header(path)
                try:
                    section_dict, finished, seconds = future.result()
                except Exception as error:  # the process running the script died (e.g. killed for memory)
                    yield path, _did_not_run(path, f"its process died: {type(error).__name__}: {error}"), False, 0.0
                    continue
                yield path, Section.from_dict(section_dict), finished, seconds
    finally:
        for _, executor in running.values():
            executor.shutdown(cancel_futures=True)


def register(subparsers) -> None:
    parser = subparsers.add_parser("verify")
    parser.add_argument("--out", default="verification-report", help="report folder (default: %(default)s)")
    parser.add_argument("--full", action="store_true", help="full mode (default: quick)")
    parser.add_argument("--only", nargs="+", metavar="NAME", help="run only these scripts (file stems)")
    parser.add_argument(
        "--strict",
        action="store_true",
        help="exit 1 on INCONCLUSIVE checks too (default: 1 only when a check FAILs; 2 on bad usage)",
    )
    parser.add_argument("--checks", default=None, help="folder of verification scripts (default: the repository's)")
    parser.add_argument(
        "--resume",
        action="store_true",
        help="reuse the sections of scripts that finished in an earlier call into the same --out "
        "(with --force); the learning scripts also reuse their stored runs without it",
    )
    parser.add_argument(
        "--jobs",
        type=int,
        default=1,
        help="run up to this many scripts at once, each in its own process (default: %(default)s; "
        "the results do not depend on it)",
    )
    add_force_arg(parser)
    parser.set_defaults(func=run)
