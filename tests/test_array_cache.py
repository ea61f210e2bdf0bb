import numpy as np
import pytest

from rhm_theory.runs.array_cache import ArrayCache


def test_a_piece_is_computed_once_and_read_back_equal(tmp_path):
    cache = ArrayCache(tmp_path / "cache")
    calls = []

    def compute():
        calls.append(1)
        return {"errors": np.arange(6.0).reshape(2, 3), "grid": np.array([1, 2, 3])}

    first = cache.get({"what": "x", "params": [8, 4]}, compute)
    again = ArrayCache(tmp_path / "cache").get({"params": [8, 4], "what": "x"}, compute)  # key order does not matter
    assert len(calls) == 1
    assert set(again) == {"errors", "grid"}
    np.testing.assert_array_equal(again["errors"], first["errors"])
    assert again["grid"].dtype == first["grid"].dtype
    ArrayCache(tmp_path / "cache").get({"what": "x", "params": [8, 5]}, compute)  # another key: computed
    assert len(calls) == 2


def test_an_interrupted_computation_leaves_nothing_behind(tmp_path):
    cache = ArrayCache(tmp_path / "cache")

    def interrupted():
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        cache.get({"what": "y"}, interrupted)
    assert not (tmp_path / "cache").exists() or not any((tmp_path / "cache").iterdir())
    assert cache.get({"what": "y"}, lambda: {"a": np.ones(2)})["a"].tolist() == [1.0, 1.0]


def test_a_file_in_place_of_the_folder_is_refused(tmp_path):
    (tmp_path / "cache").write_text("")
    with pytest.raises(ValueError, match="a file, not a folder"):
        ArrayCache(tmp_path / "cache")
