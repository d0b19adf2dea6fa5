"""The rest of the analysis (MLE, intervals, errors) is computed on first access, once, from
the same samples: the same numbers as a whole analysis, and an error — never a silently
different MLE — when the array handed over was changed in between."""

import numpy as np
import pytest

import klgrid
from klgrid import _LAZY


def sample(n=20_000, dtype=np.float64):
    return np.random.default_rng(7).normal(1.5, 2.0, n).astype(dtype)


GRID = {"mu": (0, 3, 31), "sigma": (1, 3, 21)}


def test_the_sweep_returns_before_the_mle_and_computes_it_once_on_access():
    s = klgrid.sweep("normal", sample(), grid=GRID, backend="cpu")
    assert s.analysis_seconds is None
    assert s.best is not None and s.identity["holds"]  # final after the sweep
    assert s.analysis_seconds is None
    mle = s.mle
    first = s.analysis_seconds
    assert mle is not None and first is not None and first >= 0
    assert s.intervals and s.analysis_seconds == first  # kept, not recomputed


def test_the_sweeps_own_fields_are_those_of_the_whole_document():
    s = klgrid.sweep("normal", sample(), grid=GRID, backend="cpu")
    summary = s._summary
    whole = s.head()
    assert set(summary) == set(whole)
    for key in whole:
        if key not in _LAZY:
            assert summary[key] == whole[key], key


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_lazy_results_equal_those_computed_at_once(dtype):
    x = sample(dtype=dtype)
    lazy = klgrid.sweep("normal", x, grid=GRID, backend="cpu")
    eager = klgrid.sweep("normal", x, grid=GRID, backend="cpu")
    eager_doc = eager.to_dict()  # completes at once
    # Another sweep in between must not disturb the first one's pending analysis.
    klgrid.sweep("normal", sample(5000) * 3, grid=GRID, backend="cpu").mle
    doc = lazy.to_dict()
    for d in (doc, eager_doc):
        d.pop("timings")
        d["profile"].pop("seconds", None)
    assert doc == eager_doc


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_an_array_changed_after_the_sweep_is_an_error_not_a_different_mle(dtype):
    x = sample(dtype=dtype)
    s = klgrid.sweep("normal", x, grid=GRID, backend="cpu")
    x[123] += 1.0
    with pytest.raises(klgrid.InputError, match="changed since"):
        s.mle
    # Put back, it is the same data again.
    x[123] -= 1.0
    assert s.mle is not None


def test_a_reordered_array_is_a_change_too():
    x = sample()
    s = klgrid.sweep("normal", x, grid=GRID, backend="cpu")
    x[[0, 1]] = x[[1, 0]]
    with pytest.raises(klgrid.InputError, match="changed since"):
        s.intervals


def test_changing_the_array_after_reading_the_mle_changes_nothing():
    x = sample()
    s = klgrid.sweep("normal", x, grid=GRID, backend="cpu")
    mle = s.mle
    x[:] = 0.0
    assert s.mle == mle and s.to_dict()["mle"] == mle


def test_samples_drawn_and_files_complete_lazily(tmp_path):
    s = klgrid.sweep("normal", sample="normal(mu=1,sigma=2)", n=10_000, grid=GRID, backend="cpu")
    assert s.analysis_seconds is None and s.mle is not None
    path = tmp_path / "x.npy"
    np.save(path, sample())
    f = klgrid.sweep("normal", str(path), grid=GRID, backend="cpu")
    a = klgrid.sweep("normal", sample(), grid=GRID, backend="cpu")
    assert f.mle == a.mle and f.intervals == a.intervals


def test_scan_checksum_sees_one_ulp():
    x = sample()
    y = x.copy()
    y[-1] = np.nextafter(y[-1], np.inf)
    a = klgrid.sweep("normal", x, grid=GRID, backend="cpu")
    b = klgrid.sweep("normal", y, grid=GRID, backend="cpu")
    x[-1] = y[-1]
    with pytest.raises(klgrid.InputError):
        a.mle
    assert b.mle is not None
