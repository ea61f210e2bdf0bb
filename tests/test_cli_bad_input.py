"""Every sub-command on bad input: exit code 2, exactly one line on stderr, no traceback, nothing written."""

import hashlib
import sqlite3

import pytest
import torch

from rhm_theory.cli import main

G = ["--v", "4", "--nc", "2", "--m", "2", "--s", "2", "--L", "2"]
SWEEP = "[grammar]\nv = 4\nn_c = 2\nm = 2\ns = 2\nL = 2\n[data]\nP = [4]\nP_test = 4\n[training]\nwidth = 4\nmax_epochs = 1\n{extra}"


def _setup(root):
    """Files the bad inputs point at: an existing output, a plain file, results files of every kind."""
    (root / "existing.npz").write_bytes(b"old")
    (root / "existing.csv").write_text("old")
    (root / "afile").write_text("not a folder")
    (root / "folder").mkdir()
    (root / "full").mkdir()
    (root / "full" / "old.md").write_text("old")
    (root / "empty.sqlite").write_bytes(b"")
    (root / "corrupt.sqlite").write_bytes(b"garbage " * 512)
    with sqlite3.connect(root / "foreign.sqlite") as connection:
        connection.execute("CREATE TABLE notes (id INTEGER)")
    connection.close()
    for name, extra in {"ok": "", "neg_lr": "lr = -1\n", "bad_device": 'device = "foo"\n'}.items():
        (root / f"{name}.toml").write_text(SWEEP.format(extra=extra))
    (root / "broken.toml").write_text("[grammar\n")


PSTAR = ["pstar", *G, "--P", "4", "--P-test", "4", "--seeds", "1", "--width", "4", "--max-epochs", "1"]
CASES = {
    "sample: missing output folder": ["sample", *G, "--P", "4", "--out", "{T}/missing/x.npz"],
    "sample: output folder is a file": ["sample", *G, "--P", "4", "--out", "{T}/afile/x.npz"],
    "sample: output exists": ["sample", *G, "--P", "4", "--out", "{T}/existing.npz"],
    "sample: output is a folder": ["sample", *G, "--P", "4", "--out", "{T}/folder"],
    "sample: P > p_max": ["sample", *G, "--P", "17", "--out", "{T}/x.npz"],
    "sample: d = 2**40": ["sample", *G[:-1], "40", "--P", "4", "--out", "{T}/x.npz"],
    "sample: s = 10**9": ["sample", *G[:6], "--s", "1000000000", "--L", "13", "--P", "4", "--out", "{T}/x.npz"],
    "sample: v = 0": ["sample", "--v", "0", *G[2:], "--P", "4", "--out", "{T}/x.npz"],
    "sample: not an integer": ["sample", *G, "--P", "four", "--out", "{T}/x.npz"],
    "info: v = -1": ["info", "--v", "-1", *G[2:]],
    "theory: L = 40": ["theory", *G[:-1], "40"],
    "theory: v = 1": ["theory", "--v", "1", "--nc", "1", "--m", "1", "--s", "2", "--L", "2"],
    "train: lr = -1": ["train", *G, "--P", "4", "--P-test", "4", "--lr", "-1"],
    "train: device foo": ["train", *G, "--P", "4", "--P-test", "4", "--device", "foo"],
    "train: max_steps = 0": ["train", *G, "--P", "4", "--P-test", "4", "--max-steps", "0"],
    "train: P = 0": ["train", *G, "--P", "0"],
    "train: momentum = 1": ["train", *G, "--P", "4", "--P-test", "4", "--momentum", "1"],
    "train: unknown model": ["train", *G, "--P", "4", "--model", "mlp"],
    "train: lr = nan": ["train", *G, "--P", "4", "--P-test", "4", "--lr", "nan"],
    "pstar: threshold = -1": [*PSTAR, "--threshold", "-1", "--results", "{T}/r.sqlite"],
    "pstar: threshold = nan": [*PSTAR, "--threshold", "nan", "--results", "{T}/r.sqlite"],
    "pstar: lr = -1": [*PSTAR, "--lr", "-1", "--results", "{T}/r.sqlite"],
    "pstar: device foo": [*PSTAR, "--device", "foo", "--results", "{T}/r.sqlite"],
    "pstar: max_steps = 0": [*PSTAR, "--max-steps", "0", "--results", "{T}/r.sqlite"],
    "pstar: seeds = 0": [*PSTAR, "--seeds", "0", "--results", "{T}/r.sqlite"],
    "pstar: workers = 0": [*PSTAR, "--workers", "0", "--results", "{T}/r.sqlite"],
    "pstar: results is a folder": [*PSTAR, "--results", "{T}/folder"],
    "pstar: results is foreign SQLite": [*PSTAR, "--results", "{T}/foreign.sqlite"],
    "pstar: results is not SQLite": [*PSTAR, "--results", "{T}/corrupt.sqlite"],
    "pstar: results is empty": [*PSTAR, "--results", "{T}/empty.sqlite"],
    "pstar: csv exists": [*PSTAR, "--csv", "{T}/existing.csv", "--results", "{T}/r.sqlite"],
    "pstar: adaptive bracket reversed": [
        *PSTAR[:12],
        "--P-min",
        "8",
        "--P-max",
        "4",
        "--adaptive",
        "2",
        "--results",
        "{T}/r.sqlite",
    ],
    "pstar: no sizes": [*PSTAR[:12], "--results", "{T}/r.sqlite"],
    "sweep: lr = -1 in the file": ["sweep", "{T}/neg_lr.toml", "--results", "{T}/r.sqlite"],
    "sweep: device foo in the file": ["sweep", "{T}/bad_device.toml", "--results", "{T}/r.sqlite"],
    "sweep: missing file": ["sweep", "{T}/missing.toml", "--results", "{T}/r.sqlite"],
    "sweep: invalid TOML": ["sweep", "{T}/broken.toml", "--results", "{T}/r.sqlite"],
    "sweep: results is foreign SQLite": ["sweep", "{T}/ok.toml", "--results", "{T}/foreign.sqlite"],
    "sweep: results is a folder": ["sweep", "{T}/ok.toml", "--results", "{T}/folder"],
    "sweep: results folder is a file": ["sweep", "{T}/ok.toml", "--results", "{T}/afile/r.sqlite"],
    "sweep: gpus without ray": ["sweep", "{T}/ok.toml", "--results", "{T}/r.sqlite", "--gpus-per-run", "1"],
    "sweep: workers = 0": ["sweep", "{T}/ok.toml", "--results", "{T}/r.sqlite", "--workers", "0"],
    "sweep: ensemble size 0": ["sweep", "{T}/ok.toml", "--results", "{T}/r.sqlite", "--ensemble-size", "0"],
    "sweep: ensembles saving models": [
        "sweep",
        "{T}/ok.toml",
        "--results",
        "{T}/r.sqlite",
        "--ensemble-size",
        "4",
        "--save-model",
        "{T}/models",
    ],
    "report: missing results": ["report", "{T}/missing.sqlite", "--out", "{T}/out"],
    "report: empty results": ["report", "{T}/empty.sqlite", "--out", "{T}/out"],
    "report: foreign SQLite": ["report", "{T}/foreign.sqlite", "--out", "{T}/out"],
    "report: not SQLite": ["report", "{T}/corrupt.sqlite", "--out", "{T}/out"],
    "report: results is a folder": ["report", "{T}/folder", "--out", "{T}/out"],
    "report: output folder not empty": ["report", "{T}/foreign.sqlite", "--out", "{T}/full"],
    "report: output is a file": ["report", "{T}/foreign.sqlite", "--out", "{T}/afile"],
    "verify: missing checks folder": ["verify", "--checks", "{T}/missing", "--out", "{T}/out"],
    "verify: output folder not empty": ["verify", "--checks", "{T}/folder", "--out", "{T}/full"],
    "verify: output under a file": ["verify", "--checks", "{T}/folder", "--out", "{T}/afile/out"],
}
if not torch.cuda.is_available():
    CASES["train: device cuda without a GPU"] = ["train", *G, "--P", "4", "--P-test", "4", "--device", "cuda"]
    CASES["pstar: device cuda without a GPU"] = [*PSTAR, "--device", "cuda", "--results", "{T}/r.sqlite"]


def _snapshot(root):
    return {
        str(p.relative_to(root)): (hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "dir")
        for p in sorted(root.rglob("*"))
    }


@pytest.mark.parametrize("argv", CASES.values(), ids=CASES.keys())
def test_bad_input_is_one_line_exit_2_and_writes_nothing(tmp_path, capsys, argv):
    _setup(tmp_path)
    before = _snapshot(tmp_path)
    code = main([arg.replace("{T}", str(tmp_path)) for arg in argv])
    out, err = capsys.readouterr()
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 2, err
    assert len(lines) == 1, err
    assert lines[0].startswith(f"rhm {argv[0]}: error: "), err
    assert "Traceback" not in err + out
    assert _snapshot(tmp_path) == before
