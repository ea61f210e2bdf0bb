"""The SQLite results store: rows round-trip, keys are unique, files persist, CSV export, bad rows."""

import csv
import math
import sys

import pytest
from hypothesis import given, settings, strategies as st
from strategies import examples

from rhm_theory.runs.store import ResultsStore

values = st.one_of(
    st.none(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=False),
    st.text(max_size=20),
)
rows = st.dictionaries(
    st.from_regex(r"[a-z][a-z0-9_]{0,8}", fullmatch=True).filter(lambda n: n != "key"), values, max_size=6
)


@settings(max_examples=examples(25), deadline=None)
@given(st.lists(rows, min_size=1, max_size=4))
def test_rows_round_trip_with_union_of_columns(tmp_path_factory, fields):
    path = tmp_path_factory.mktemp("store") / "runs.sqlite"
    with ResultsStore(path) as store:
        for i, row in enumerate(fields):
            store.append({"key": f"run{i}", **row})
        stored = store.rows()
    all_names = {"key"}.union(*fields)
    assert [row["key"] for row in stored] == [f"run{i}" for i in range(len(fields))]
    for original, back in zip(fields, stored):
        assert set(back) == all_names
        for name in all_names - {"key"}:
            assert back[name] == original.get(name)


def test_finished_keys_persist_and_duplicates_are_refused(tmp_path):
    path = tmp_path / "sub" / "runs.sqlite"
    with ResultsStore(path) as store:
        store.append({"key": "a", "P": 10, "test_error": 0.5})
        store.append({"key": "b", "P": 20, "test_error": 0.25, "S_k1_l1": 0.3})
    with ResultsStore(path) as store:
        assert store.finished_keys() == {"a", "b"}
        with pytest.raises(ValueError, match="'a' is already stored"):
            store.append({"key": "a", "P": 10, "test_error": 0.1})
        with pytest.raises(ValueError, match="'a' is already stored"):
            store.append({"key": "a", "new_field": 1})  # refused whole: no new column either
        assert len(store.rows()) == 2
        assert store.columns() == ["key", "P", "test_error", "S_k1_l1"]
        with pytest.raises(ValueError, match="'p' clashes with the stored column 'P'"):
            store.append({"key": "c", "p": 1})


def test_numpy_scalars_bools_and_nan(tmp_path):
    import numpy as np

    with ResultsStore(tmp_path / "r.sqlite") as store:
        store.append({"key": "k", "n": np.int64(7), "x": np.float32(0.5), "flag": True, "missing": math.nan})
        (row,) = store.rows()
    assert row == {"key": "k", "n": 7, "x": 0.5, "flag": 1, "missing": None}
    assert type(row["n"]) is int
    assert type(row["x"]) is float


def test_csv_export_matches_rows(tmp_path):
    with ResultsStore(tmp_path / "r.sqlite") as store:
        store.append({"key": "a", "P": 10, "model": "cnn"})
        store.append({"key": "b", "P": 20, "test_error": 0.125})
        path = store.to_csv(tmp_path / "r.csv")
    with open(path, newline="") as f:
        read = list(csv.DictReader(f))
    assert read == [
        {"key": "a", "P": "10", "model": "cnn", "test_error": ""},
        {"key": "b", "P": "20", "model": "", "test_error": "0.125"},
    ]


@pytest.mark.parametrize(
    "row, message",
    [
        ({"P": 1}, "needs a non-empty string 'key'"),
        ({"key": ""}, "needs a non-empty string 'key'"),
        ({"key": "k", "bad name": 1}, "column name 'bad name'"),
        ({"key": "k", 'x"; DROP TABLE runs; --': 1}, "column name"),
        ({"key": "k", "S": [1, 2]}, r"row field S = \[1, 2\] \(list\)"),
        ({"key": "k", "big": 2**70}, "does not fit SQLite's 64-bit integers"),
    ],
)
def test_bad_rows_are_refused_and_nothing_is_stored(tmp_path, row, message):
    with ResultsStore(tmp_path / "r.sqlite") as store:
        with pytest.raises(ValueError, match=message):
            store.append(row)
        assert store.rows() == []


def test_not_a_dict(tmp_path):
    with (
        ResultsStore(tmp_path / "r.sqlite") as store,
        pytest.raises(ValueError, match="a row must be a dict, got list"),
    ):
        store.append([("key", "k")])


def test_to_pandas_matches_rows(tmp_path):
    import pandas as pd  # in the test extra, so this test runs in CI

    with ResultsStore(tmp_path / "r.sqlite") as store:
        store.append({"key": "a", "P": 10})
        store.append({"key": "b", "test_error": 0.5})
        frame = store.to_pandas()
    assert isinstance(frame, pd.DataFrame)
    assert list(frame.columns) == ["key", "P", "test_error"]
    assert list(frame["key"]) == ["a", "b"]


def test_to_pandas_without_pandas_says_so(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "pandas", None)  # makes `import pandas` raise ImportError
    with ResultsStore(tmp_path / "r.sqlite") as store, pytest.raises(ImportError, match=r"to_pandas\(\) needs pandas"):
        store.to_pandas()
