"""The Python API: grid shapes and order, dtypes and the no-copy path, errors (with the
command's messages), the released GIL, Ctrl-C, the process's session, pandas and plots."""

import math
import os
import signal
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

import klgrid
from klgrid import _core
from conftest import ROOT, cli_error, need


def test_the_acceptance_one_liner_finds_the_truth():
    s = klgrid.sweep("normal", sample="normal(mu=1.5,sigma=2)", n=10**6,
                     grid={"mu": (0, 3, 64), "sigma": (1, 3, 64)})
    assert s.best is not None and s.identity["holds"]
    assert abs(s.best["theta"]["mu"] - 1.5) < 0.05 and abs(s.best["theta"]["sigma"] - 2) < 0.05
    assert s.loglik.shape == (64, 64)


def test_arrays_are_shaped_like_the_grid_in_dict_order():
    x = np.random.default_rng(0).normal(1.0, 2.0, 2000)
    s = klgrid.sweep("normal", x, grid={"sigma": (1, 3, 5), "mu": (0, 2, 3)}, backend="cpu-ref")
    assert list(s.axes) == ["sigma", "mu"] and s.shape == (5, 3)
    for name in ("loglik", "mean_loglik", "cross_entropy", "outside_support"):
        assert getattr(s, name).shape == (5, 3)
    assert s.kl is None and s.kl_exact is None  # continuous data, P unknown
    # loglik[i, j] is the point (sigma_i, mu_j): check one against a direct sum.
    sig, mu = s.axes["sigma"][3], s.axes["mu"][1]
    direct = np.sum(-0.5 * np.log(2 * np.pi) - np.log(sig) - 0.5 * ((x - mu) / sig) ** 2)
    assert s.loglik[3, 1] == pytest.approx(direct, rel=1e-12)
    np.testing.assert_array_equal(s.mean_loglik, s.loglik / 2000)
    np.testing.assert_array_equal(s.cross_entropy, -s.mean_loglik)
    # Flat indices of the report are row-major over this shape.
    i = s.best["index"]
    assert s.loglik.ravel()[i] == s.loglik.max()
    assert np.unravel_index(i, s.shape) == np.unravel_index(np.argmax(s.loglik), s.shape)


def test_axis_forms_fixed_list_logspace_and_spec_text():
    s = klgrid.sweep("student_t", sample="student_t(nu=5, mu=0, sigma=1)", n=3000,
                     grid={"nu": klgrid.logspace(1, 30, 7), "mu": [-0.2, 0.0, 0.2],
                           "sigma": 1.0}, backend="cpu")
    assert s.shape == (7, 3, 1)
    axes = {a["name"]: a for a in s.to_dict()["grid"]["axes"]}
    assert [axes[k]["spacing"] for k in ("nu", "mu", "sigma")] == ["log", "list", "fixed"]
    np.testing.assert_allclose(s.axes["nu"], np.geomspace(1, 30, 7), rtol=1e-14)
    assert s.axes["nu"][0] == 1 and s.axes["nu"][-1] == 30
    np.testing.assert_array_equal(np.asarray(klgrid.logspace(1, 30, 7)), s.axes["nu"])
    t = klgrid.sweep("student_t", sample="student_t(nu=5, mu=0, sigma=1)", n=3000,
                     grid={"nu": "log:1:30:7", "mu": np.array([-0.2, 0.0, 0.2]),
                           "sigma": "1"}, backend="cpu")
    np.testing.assert_array_equal(s.loglik, t.loglik)
    assert s.intervals.keys() == {"nu", "mu"}  # the fixed axis has no interval


def same_values(n=20_001):
    rng = np.random.default_rng(11)
    return rng.integers(0, 9, n)  # integers: exact in every dtype below


@pytest.mark.parametrize("dtype", ["float64", "float32", "float16", ">f8", "<f4", "int8",
                                   "int32", "int64", "uint16", "uint64"])
def test_every_numeric_dtype_gives_the_float64_numbers(dtype):
    v = same_values()
    ref = klgrid.sweep("poisson", v.astype(np.float64), grid={"rate": (1, 8, 15)}, backend="cpu")
    s = klgrid.sweep("poisson", v.astype(dtype), grid={"rate": (1, 8, 15)}, backend="cpu")
    assert s.loglik.tobytes() == ref.loglik.tobytes()
    assert s.entropy == ref.entropy and s.mle == ref.mle


def test_lists_bools_and_pandas_series_are_data():
    v = same_values(5000)
    ref = klgrid.sweep("poisson", v.astype(np.float64), grid={"rate": (1, 8, 15)}, backend="cpu")
    assert klgrid.sweep("poisson", v.tolist(), grid={"rate": (1, 8, 15)},
                        backend="cpu").loglik.tobytes() == ref.loglik.tobytes()
    b = (v > 4)
    s = klgrid.sweep("bernoulli", b, grid={"p": (0.05, 0.95, 19)}, backend="cpu")
    assert s.mle["theta"]["p"] == pytest.approx(b.mean(), abs=1e-12)
    pd = need("pandas")
    series = pd.Series(v.astype(np.float64), name="counts")
    s = klgrid.sweep("poisson", series, grid={"rate": (1, 8, 15)}, backend="cpu")
    assert s.loglik.tobytes() == ref.loglik.tobytes() and not s.data_copied


def test_contiguous_float64_is_evaluated_in_place_and_others_are_copied():
    x = np.random.default_rng(2).normal(size=10_000)
    grid = {"mu": (-1, 1, 5), "sigma": (0.5, 2, 4)}
    s = klgrid.sweep("normal", x, grid=grid, backend="cpu")
    assert not s.data_copied and s._core.data_address == x.ctypes.data
    strided = klgrid.sweep("normal", x[::2], grid=grid, backend="cpu")
    assert strided.data_copied and strided._core.data_address != x.ctypes.data
    assert strided.loglik.tobytes() == klgrid.sweep(
        "normal", x[::2].copy(), grid=grid, backend="cpu").loglik.tobytes()
    f32 = klgrid.sweep("normal", x.astype(np.float32), grid=grid, backend="cpu")
    assert f32.data_copied
    assert klgrid.sweep("normal", x.tolist(), grid=grid, backend="cpu").data_copied
    # A read-only array is evaluated in place too.
    ro = x.copy()
    ro.flags.writeable = False
    s = klgrid.sweep("normal", ro, grid=grid, backend="cpu")
    assert not s.data_copied and s._core.data_address == ro.ctypes.data


def test_widening_buffer_is_kept_reused_exact_and_released():
    rng = np.random.default_rng(3)
    n = 200_000
    grid = {"mu": (-1, 1, 5), "sigma": (0.5, 2, 4)}
    klgrid.release_buffers()
    assert _core._kept_buffer_bytes() == 0
    a = rng.normal(size=n).astype(np.float32)
    sa = klgrid.sweep("normal", a, grid=grid, backend="cpu")
    kept = _core._kept_buffer_bytes()
    assert kept >= 8 * n
    # Later calls reuse it (same size, smaller, strided): no value of an earlier array remains,
    # each equals the sweep of the same values handed over as float64.
    for x in (rng.normal(2, 1, n).astype(np.float32), rng.normal(size=n // 3).astype(np.float32),
              rng.normal(size=2 * n)[::2]):
        s = klgrid.sweep("normal", x, grid=grid, backend="cpu")
        ref = klgrid.sweep("normal", x.astype(np.float64), grid=grid, backend="cpu")
        assert s.data_copied and s.loglik.tobytes() == ref.loglik.tobytes()
        assert s.mle == ref.mle
        assert _core._kept_buffer_bytes() == kept
    # The first sweep's lazy analysis reads its own array again, not the kept buffer.
    assert sa.mle == klgrid.sweep("normal", a.astype(np.float64), grid=grid, backend="cpu").mle
    # A float64 array in place takes nothing from it and gives nothing back.
    klgrid.sweep("normal", rng.normal(size=n), grid=grid, backend="cpu")
    assert _core._kept_buffer_bytes() == kept
    assert klgrid.release_buffers() == kept and _core._kept_buffer_bytes() == 0


# -- errors -------------------------------------------------------------------------------------

CLI_ERRORS = [
    # (python kwargs, the command's arguments for the same job)
    (dict(family_or_model="gaussian", grid={"mu": 0, "sigma": 1}),
     ["--family", "gaussian", "--grid", "mu=0", "--grid", "sigma=1"]),
    (dict(family_or_model="normal", grid={"mu": (0, 3, 0), "sigma": 1}),
     ["--family", "normal", "--grid", "mu=0:3:0", "--grid", "sigma=1"]),
    (dict(family_or_model="normal", grid={"mu": (0, 3, 4), "sigma": (0, 1, 3)}),
     ["--family", "normal", "--grid", "mu=0:3:4", "--grid", "sigma=0:1:3"]),
    (dict(family_or_model="normal", grid={"mu": (0, 3, 4)}),
     ["--family", "normal", "--grid", "mu=0:3:4"]),
    (dict(family_or_model="normal", grid={"mu": 0, "sigma": 1, "nu": 2}),
     ["--family", "normal", "--grid", "mu=0", "--grid", "sigma=1", "--grid", "nu=2"]),
    (dict(family_or_model="normal", grid={"mu": klgrid.logspace(0, 1, 3), "sigma": 1}),
     ["--family", "normal", "--grid", "mu=log:0:1:3", "--grid", "sigma=1"]),
    (dict(family_or_model="normal", grid={"mu": (0, 1, 2.5), "sigma": 1}),
     ["--family", "normal", "--grid", "mu=0:1:2.5", "--grid", "sigma=1"]),
    (dict(family_or_model="normal", grid={"mu": [0, float("nan")], "sigma": 1}),
     ["--family", "normal", "--grid", "mu=0.0,nan", "--grid", "sigma=1"]),
]


@pytest.mark.parametrize("case", range(len(CLI_ERRORS)))
def test_bad_jobs_raise_value_error_with_the_clis_message(cli, case):
    kwargs, args = CLI_ERRORS[case]
    with pytest.raises(ValueError) as e:
        klgrid.sweep(sample="normal(mu=0, sigma=1)", n=100, **kwargs)
    assert isinstance(e.value, klgrid.InputError)
    code, msg = cli_error(cli, "sweep", *args, "--sample", "normal(mu=0, sigma=1)", "-n", "100")
    assert code == 2 and str(e.value) == msg


def test_bad_sample_specs_files_and_data_raise_value_error_with_the_clis_message(cli, tmp_path):
    grid = {"mu": (0, 1, 3), "sigma": 1}
    cli_grid = ["--grid", "mu=0:1:3", "--grid", "sigma=1"]
    for spec in ["normal(mu=1)", "normal(mu=1, sigma=-2)", "nosuch(a=1)", "normal(1, 2"]:
        with pytest.raises(klgrid.InputError) as e:
            klgrid.sweep("normal", sample=spec, n=10, grid=grid)
        assert str(e.value) == cli_error(cli, "sweep", "--family", "normal", "--sample", spec,
                                         "-n", "10", *cli_grid)[1]
    missing = tmp_path / "none.csv"
    with pytest.raises(ValueError) as e:
        klgrid.sweep("normal", missing, grid=grid)
    assert str(e.value) == cli_error(cli, "sweep", "--family", "normal", "--data", missing,
                                     *cli_grid)[1]
    bad = tmp_path / "bad.txt"
    bad.write_text("1.5\n2.5\nabc\n")
    with pytest.raises(ValueError) as e:
        klgrid.sweep("normal", str(bad), grid=grid)
    assert str(e.value) == cli_error(cli, "sweep", "--family", "normal", "--data", bad,
                                     *cli_grid)[1]
    with pytest.raises(ValueError) as e:
        klgrid.sweep("poisson", str(bad), grid={"rate": 1})
    frac = tmp_path / "frac.txt"
    frac.write_text("1\n2.5\n")
    with pytest.raises(ValueError) as e:
        klgrid.sweep("poisson", str(frac), grid={"rate": 1})
    assert str(e.value) == cli_error(cli, "sweep", "--family", "poisson", "--data", frac,
                                     "--grid", "rate=1")[1]


def test_bad_values_in_arrays_are_value_errors_naming_the_element():
    with pytest.raises(klgrid.InputError, match=r"element 2: non-finite value 'NaN'"):
        klgrid.sweep("normal", [1.0, 2.0, float("nan")], grid={"mu": 0, "sigma": 1})
    with pytest.raises(klgrid.InputError, match=r"element 1: value 2.5 is not an integer"):
        klgrid.sweep("poisson", np.array([1.0, 2.5]), grid={"rate": 1})
    with pytest.raises(klgrid.InputError, match="empty"):
        klgrid.sweep("normal", np.array([]), grid={"mu": 0, "sigma": 1})
    with pytest.raises(klgrid.InputError, match="empty after dropping 2"):
        klgrid.sweep("normal", [np.inf, np.nan], grid={"mu": 0, "sigma": 1},
                     skip_nonfinite=True)
    with pytest.raises(klgrid.InputError, match="1-D"):
        klgrid.sweep("normal", np.zeros((3, 2)), grid={"mu": 0, "sigma": 1})
    with pytest.raises(klgrid.InputError, match="not numbers"):
        klgrid.sweep("normal", np.array(["a", "b"]), grid={"mu": 0, "sigma": 1})
    s = klgrid.sweep("normal", [1.0, np.inf, 2.0, np.nan, 3.0], grid={"mu": 2, "sigma": 1},
                     skip_nonfinite=True)
    assert s.n == 3 and s.skipped_nonfinite == 2 and s.data_copied


def test_argument_errors():
    g = {"mu": 0, "sigma": 1}
    with pytest.raises(klgrid.InputError, match="not both"):
        klgrid.sweep("normal", [1.0], sample="normal(0, 1)", n=3, grid=g)
    with pytest.raises(klgrid.InputError, match="needs n"):
        klgrid.sweep("normal", sample="normal(0, 1)", grid=g)
    with pytest.raises(klgrid.InputError, match="n must be at least 1"):
        klgrid.sweep("normal", sample="normal(0, 1)", n=0, grid=g)
    with pytest.raises(klgrid.InputError, match="give data"):
        klgrid.sweep("normal", grid=g)
    with pytest.raises(klgrid.InputError, match="grid= is required"):
        klgrid.sweep("normal", [1.0])
    with pytest.raises(klgrid.InputError, match="unknown backend 'fast'"):
        klgrid.sweep("normal", [1.0], grid=g, backend="fast")
    with pytest.raises(klgrid.InputError, match="unknown strategy"):
        klgrid.sweep("normal", [1.0], grid=g, strategy="fastest")
    with pytest.raises(klgrid.InputError, match="compare= needs backend='both'"):
        klgrid.sweep("normal", [1.0], grid=g, compare=("cpu", "cpu-ref"))
    with pytest.raises(klgrid.InputError, match="refine must be between 0 and 60"):
        klgrid.sweep("normal", [1.0], grid=g, refine=61)
    with pytest.raises(klgrid.InputError, match="suffstats"):
        klgrid.sweep("cauchy", [1.0], grid={"mu": 0, "scale": 1}, strategy="suffstats")
    with pytest.raises(klgrid.InputError, match="true="):
        klgrid.sweep("normal", sample="normal(0, 1)", n=3, grid=g, true="normal(0, 1)")
    with pytest.raises(klgrid.InputError, match="--plot-metric kl needs H"):
        klgrid.sweep("normal", [1.0, 2.0], grid=g).plot("x.png", metric="kl")
    with pytest.raises(TypeError):
        klgrid.sweep(42, [1.0], grid=g)
    with pytest.raises(TypeError):
        klgrid.sweep("normal", [1.0], grid={1: 0, "sigma": 1})
    with pytest.raises(TypeError):
        klgrid.sweep("normal", [1.0], grid={"mu": {"a": 1}, "sigma": 1})
    with pytest.raises(TypeError):
        klgrid.sweep("normal", sample="normal(0, 1)", n="many", grid=g)
    # An integral float is a fine n.
    assert klgrid.sweep("normal", sample="normal(0, 1)", n=1e3, grid=g).n == 1000


def test_no_adapter_for_gpu_is_a_runtime_error_with_the_clis_message(cli):
    g = {"mu": 0, "sigma": 1}
    with pytest.raises(RuntimeError) as e:
        klgrid.sweep("normal", [1.0, 2.0], grid=g, backend="gpu", adapter="no-such-adapter-x")
    assert isinstance(e.value, klgrid.GpuError)
    code, msg = cli_error(cli, "sweep", "--family", "normal", "--sample", "normal(0, 1)",
                          "-n", "2", "--grid", "mu=0", "--grid", "sigma=1", "--backend", "gpu",
                          "--adapter", "no-such-adapter-x")
    assert code == 1 and str(e.value) == msg
    # auto falls back to the CPU, and says so.
    s = klgrid.sweep("normal", [1.0, 2.0], grid=g, adapter="no-such-adapter-x")
    assert s.backend == "cpu" and any("using cpu" in n for n in s.notes)


def test_a_panic_in_the_engine_is_a_runtime_error_not_an_abort():
    with pytest.raises(RuntimeError, match="internal error.*on purpose"):
        _core._selftest_panic()
    # The process and its session are still fine.
    assert klgrid.sweep("normal", [1.0, 2.0], grid={"mu": 1.5, "sigma": 1}).n == 2


def test_a_plot_that_cannot_be_written_is_an_os_error(tmp_path):
    s = klgrid.sweep("normal", [1.0, 2.0, 2.5], grid={"mu": (1, 2, 3), "sigma": (0.5, 1, 3)})
    with pytest.raises(OSError, match="--plot"):
        s.plot(tmp_path / "no-such-dir" / "x.png")


# -- threads, Ctrl-C, the session -----------------------------------------------------------------


def test_the_gil_is_released_while_the_engine_evaluates():
    x = np.random.default_rng(4).normal(size=1 << 20)
    grid = {"mu": (-1, 1, 24), "sigma": (0.5, 2, 24)}
    done = threading.Event()
    errors = []

    def work():
        try:
            klgrid.sweep("normal", x, grid=grid, backend="cpu-ref")
        except BaseException as e:  # pragma: no cover - reported below
            errors.append(e)
        finally:
            done.set()

    t = threading.Thread(target=work)
    t0 = time.perf_counter()
    t.start()
    ticks = 0
    while not done.is_set():
        ticks += 1  # Python bytecode on this thread, while the other one sweeps
        time.sleep(0.001)
    t.join()
    elapsed = time.perf_counter() - t0
    assert not errors, errors
    # Were the GIL held through the sweep, this loop could not run until the sweep ended
    # (a tick or two); released, it ticks about once a millisecond.
    assert ticks >= 20 and ticks > elapsed / 0.001 / 20, (ticks, elapsed)


def test_ctrl_c_stops_a_long_sweep_between_chunks():
    x = np.random.default_rng(6).normal(size=1 << 19)
    grid = {"mu": (-1, 1, 16), "sigma": (0.5, 2, 16)}
    t0 = time.perf_counter()
    klgrid.sweep("normal", x, grid=grid, backend="cpu-ref", strategy="direct")
    one = time.perf_counter() - t0
    # 60 refinement rounds: 61 evaluations of one chunk each (~61 × one uninterrupted); the
    # session's hook sees Ctrl-C before the next chunk, so the sweep stops within one more.
    delay = max(2 * one, 0.2)
    timer = threading.Timer(delay, lambda: os.kill(os.getpid(), signal.SIGINT))
    t0 = time.perf_counter()
    timer.start()
    with pytest.raises(KeyboardInterrupt):
        klgrid.sweep("normal", x, grid=grid, backend="cpu-ref", strategy="direct", refine=60)
    stopped = time.perf_counter() - t0
    timer.join()
    assert stopped < delay + 3 * one + 0.3 < 61 * one, (stopped, one)
    # The session still works afterwards.
    assert klgrid.sweep("normal", x, grid=grid, backend="cpu").n == x.size


def test_repeated_gpu_sweeps_reuse_the_device_and_compiled_kernels(gpu):
    grid = {"mu": (0, 3, 20), "sigma": (1, 3, 20)}
    shape = (64, 32, 4096)
    before = klgrid.session_info(kernel_shape=shape)
    for seed in (1, 2, 3):
        s = klgrid.sweep("normal", sample="normal(mu=1.5, sigma=2)", n=50_000, seed=seed,
                         grid=grid, backend="gpu", strategy="direct", kernel_shape=shape)
        assert s.kernel == {"points_per_invocation": 64, "workgroup_size": 32,
                            "chunk_len": 4096}
    after = klgrid.session_info(kernel_shape=shape)
    assert after["devices"] == 1 and after["gpu_open"]
    assert after["sweep"] - before["sweep"] <= 1 and after["sweep"] == 1
    assert after["sweep_buffers"] == 1


# -- pandas, plots, adapters --------------------------------------------------------------------


def test_to_pandas_has_one_row_per_grid_point_in_grid_order():
    need("pandas")
    s = klgrid.sweep("normal", sample="normal(mu=1, sigma=1)", n=2000,
                     grid={"sigma": (0.5, 1.5, 3), "mu": (0, 2, 5)}, backend="cpu")
    df = s.to_pandas()
    assert len(df) == 15 and df.index.name == "index"
    assert list(df.columns) == ["mu", "sigma", "loglik", "mean_loglik", "cross_entropy",
                                "outside_support", "kl", "kl_exact"]
    np.testing.assert_array_equal(df["loglik"].to_numpy(), s.loglik.ravel())
    best = df.loc[s.best["index"]]
    assert (best["mu"], best["sigma"]) == (s.best["theta"]["mu"], s.best["theta"]["sigma"])
    assert df["loglik"].idxmax() == s.best["index"]


def test_plot_writes_png_and_svg(tmp_path):
    s = klgrid.sweep("normal", sample="normal(mu=1, sigma=1)", n=2000,
                     grid={"mu": (0, 2, 21), "sigma": (0.5, 1.5, 11)}, backend="cpu")
    png = s.plot(tmp_path / "s.png", size=(400, 300))
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    svg = s.plot(str(tmp_path / "s.svg"), metric="kl", size="300x200")
    assert svg.read_text().lstrip().startswith("<svg")
    with pytest.raises(klgrid.InputError):
        s.plot(tmp_path / "s.gif")


def test_adapters_and_families_are_listed():
    for a in klgrid.adapters():
        assert {"name", "backend", "device_type", "is_software", "max_buffer_size"} <= a.keys()
    names = [f["name"] for f in klgrid.families()]
    assert len(names) == 17 and names[0] == "normal" and "negative_binomial" in names


def test_the_example_script_draws_a_surface(tmp_path):
    need("matplotlib")
    script = ROOT / "examples" / "python" / "plot_surface.py"
    out = tmp_path / "surface.png"
    p = subprocess.run([sys.executable, str(script), str(out)], capture_output=True, text=True,
                       timeout=600)
    assert p.returncode == 0, p.stderr
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "argmin KL: True" in p.stdout


def test_repr_names_the_best_point():
    s = klgrid.sweep("exponential", sample="exponential(rate=2)", n=1000,
                     grid={"rate": (1, 3, 21)}, backend="cpu")
    r = repr(s)
    assert r.startswith("<klgrid.Sweep exponential: n=1000, 21 grid (rate), cpu/")
    assert "best rate=" in r
