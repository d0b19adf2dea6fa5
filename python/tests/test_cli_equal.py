"""The Python result is the command's: the same job gives the same JSON document (every number
bit for bit, timings aside), the same CSV, and arrays equal to the document's points."""

import json
import math
import struct

import numpy as np
import pytest

import klgrid
from conftest import cli_json, need, run_cli

VOLATILE = ("timings",)


def strip(doc):
    """The document without what differs between two runs: wall-clock timings."""
    doc = {k: v for k, v in doc.items() if k not in VOLATILE}
    if doc.get("profile"):
        doc["profile"] = {k: v for k, v in doc["profile"].items() if k != "seconds"}
    if doc.get("refined"):
        doc["refined"] = {k: v for k, v in doc["refined"].items() if k != "eval_s"}
    return doc


def assert_same(a, b, path="$"):
    """Equal JSON values, floats by their bits (so -0.0 differs from 0.0) and types alike."""
    assert type(a) is type(b), f"{path}: {a!r} ({type(a).__name__}) vs {b!r} ({type(b).__name__})"
    if isinstance(a, float):
        assert struct.pack("<d", a) == struct.pack("<d", b), f"{path}: {a!r} != {b!r}"
    elif isinstance(a, dict):
        assert list(a) == list(b), f"{path}: keys {list(a)} != {list(b)}"
        for k in a:
            assert_same(a[k], b[k], f"{path}.{k}")
    elif isinstance(a, list):
        assert len(a) == len(b), f"{path}: length {len(a)} != {len(b)}"
        for i, (x, y) in enumerate(zip(a, b)):
            assert_same(x, y, f"{path}[{i}]")
    else:
        assert a == b, f"{path}: {a!r} != {b!r}"


NORMAL = dict(sample="normal(mu=1.5, sigma=2)", n=20_000)
NORMAL_GRID = {"mu": (0, 3, 16), "sigma": (1, 3, 12)}
NORMAL_CLI = ["--sample", "normal(mu=1.5, sigma=2)", "-n", "20000", "--grid", "mu=0:3:16",
              "--grid", "sigma=1:3:12"]


@pytest.mark.parametrize("backend", ["cpu", "cpu-ref"])
@pytest.mark.parametrize("strategy", ["direct", "auto"])
def test_sampled_job_gives_the_clis_json_bit_for_bit(cli, backend, strategy):
    if backend == "cpu-ref" and strategy == "auto":
        strategy = "direct"
    s = klgrid.sweep("normal", grid=NORMAL_GRID, backend=backend, strategy=strategy, **NORMAL)
    ref = cli_json(cli, "--family", "normal", *NORMAL_CLI, "--backend", backend,
                   "--strategy", strategy)
    assert_same(strip(s.to_dict()), strip(ref))
    assert s.backend == backend and s.best == ref["best"] and s.mle == ref["mle"]


def test_gpu_job_gives_the_clis_json_bit_for_bit(cli, gpu):
    s = klgrid.sweep("normal", grid=NORMAL_GRID, backend="gpu", strategy="direct", **NORMAL)
    ref = cli_json(cli, "--family", "normal", *NORMAL_CLI, "--backend", "gpu",
                   "--strategy", "direct")
    assert_same(strip(s.to_dict()), strip(ref))
    assert s.adapter == ref["adapter"] and s.kernel == ref["kernel"]


def test_refine_bits_and_discrete_entropy_match_the_cli(cli):
    s = klgrid.sweep("poisson", sample="poisson(rate=3)", n=5000, seed=7,
                     grid={"rate": klgrid.logspace(1, 6, 25)}, refine=3, units="bits",
                     backend="cpu")
    ref = cli_json(cli, "--family", "poisson", "--sample", "poisson(rate=3)", "-n", "5000",
                   "--seed", "7", "--grid", "rate=log:1:6:25", "--refine", "3",
                   "--units", "bits", "--backend", "cpu")
    assert_same(strip(s.to_dict()), strip(ref))
    assert s.refined["rounds"] == 3 and s.units == "bits"


def test_both_with_compare_and_true_on_a_file_matches_the_cli(cli, tmp_path):
    x = np.random.default_rng(3).gamma(2.5, 1 / 1.5, 30_000)
    path = tmp_path / "gamma.npy"
    np.save(path, x)
    s = klgrid.sweep("gamma", str(path), grid={"shape": (1.5, 3.5, 9), "rate": [1.0, 1.25, 1.5, 2.0]},
                     backend="both", compare=("cpu", "cpu-ref"), true="gamma(shape=2.5, rate=1.5)")
    ref = cli_json(cli, "--family", "gamma", "--data", path, "--grid", "shape=1.5:3.5:9",
                   "--grid", "rate=1.0,1.25,1.5,2.0", "--backend", "both",
                   "--compare", "cpu,cpu-ref", "--true", "gamma(shape=2.5, rate=1.5)")
    assert_same(strip(s.to_dict()), strip(ref))
    assert s.agreement["reference"] == "cpu-ref" and s.agreement["within_tolerance"]
    assert s.kl is not None and s.kl_exact is not None


def test_an_array_gives_the_numbers_of_the_same_values_in_a_file(cli, tmp_path):
    x = np.random.default_rng(5).normal(-4.0, 0.5, 50_001).astype(np.float32)
    path = tmp_path / "x.npy"
    np.save(path, x)
    for backend in ["cpu", "cpu-ref"]:
        s = klgrid.sweep("normal", x, grid={"sigma": (0.3, 0.8, 6), "mu": (-5, -3, 11)},
                         backend=backend, strategy="direct")
        ref = cli_json(cli, "--family", "normal", "--data", path, "--grid", "sigma=0.3:0.8:6",
                       "--grid", "mu=-5:-3:11", "--backend", backend, "--strategy", "direct")
        doc = strip(s.to_dict())
        assert doc["data"] == "<array float32>" and doc["data_format"] == "array"
        assert ref["data_format"] == "npy"
        for k in ("data", "data_format"):
            doc.pop(k), ref.pop(k)
        assert_same(doc, strip(ref))
        # The same file, streamed by the readers, is the document itself.
        f = klgrid.sweep("normal", path, grid={"sigma": (0.3, 0.8, 6), "mu": (-5, -3, 11)},
                         backend=backend, strategy="direct")
        full = cli_json(cli, "--family", "normal", "--data", path, "--grid", "sigma=0.3:0.8:6",
                        "--grid", "mu=-5:-3:11", "--backend", backend, "--strategy", "direct")
        assert_same(strip(f.to_dict()), strip(full))


def test_a_csv_column_with_missing_values_skipped_matches_the_cli(cli, tmp_path):
    path = tmp_path / "t.csv"
    rows = ["a,x"] + [f"{i},{(i * 0.37) % 5 + 0.1:.6f}" for i in range(3000)]
    rows[10] = "9,"
    rows[20] = "19,nan"
    path.write_text("\n".join(rows) + "\n")
    s = klgrid.sweep("exponential", path, column="x", skip_nonfinite=True,
                     grid={"rate": (0.1, 1.5, 29)}, backend="cpu")
    ref = cli_json(cli, "--family", "exponential", "--data", path, "--column", "x",
                   "--skip-nonfinite", "--grid", "rate=0.1:1.5:29", "--backend", "cpu")
    assert_same(strip(s.to_dict()), strip(ref))
    assert s.skipped_nonfinite == 2 and s.n == 2998


def test_arrays_are_the_documents_points_bit_for_bit():
    s = klgrid.sweep("uniform", sample="uniform(low=0, high=2)", n=4000,
                     grid={"low": (-0.5, 0.5, 5), "high": (1.5, 2.5, 7)}, backend="cpu")
    doc = s.to_dict()
    pts = doc["points"]
    assert len(pts) == s.loglik.size == 35
    flat = {k: getattr(s, k).ravel() for k in
            ("loglik", "mean_loglik", "cross_entropy", "kl", "kl_exact", "outside_support")}
    for i, p in enumerate(pts):
        for k in ("loglik", "mean_loglik", "cross_entropy", "kl", "kl_exact"):
            v = flat[k][i]
            if p[k] is None:
                assert not math.isfinite(v), (i, k, v)
            else:
                assert struct.pack("<d", p[k]) == struct.pack("<d", float(v)), (i, k)
        assert p["outside_support"] == int(flat["outside_support"][i])
    # Some points miss samples: likelihood 0, +inf cross-entropy and KL.
    out = s.outside_support > 0
    assert out.any() and np.all(s.loglik[out] == -np.inf) and np.all(s.kl[out] == np.inf)
    assert s.outside_support.dtype == np.uint64


def test_csv_is_the_clis_and_the_table_is_its_table(cli):
    s = klgrid.sweep("laplace", sample="laplace(mu=0.5, scale=1.5)", n=3000,
                     grid={"mu": (0, 1, 5), "scale": (1, 2, 3)}, backend="cpu")
    _, out, _ = run_cli(cli, "sweep", "--family", "laplace", "--sample",
                        "laplace(mu=0.5, scale=1.5)", "-n", "3000", "--grid", "mu=0:1:5",
                        "--grid", "scale=1:2:3", "--backend", "cpu", "--format", "csv")
    assert s.to_csv() == out
    table = str(s)
    assert "argmax likelihood = argmin cross-entropy = argmin KL" in table


def test_bench_gives_the_clis_document(cli):
    r = klgrid.bench("normal", sample="normal(mu=0, sigma=1)", n=5000,
                     grid={"mu": (-1, 1, 8), "sigma": (0.5, 2, 8)}, backends=["cpu", "cpu-ref"],
                     repeat=2)
    _, out, _ = run_cli(cli, "bench", "--family", "normal", "--sample", "normal(mu=0, sigma=1)",
                        "-n", "5000", "--grid", "mu=-1:1:8", "--grid", "sigma=0.5:2:8",
                        "--backends", "cpu,cpu-ref", "--repeat", "2", "--format", "json")
    ref = json.loads(out)
    assert list(r) == list(ref)
    assert [list(x) for x in r["results"]] == [list(x) for x in ref["results"]]
    assert [x["backend"] for x in r["results"]] == ["cpu-ref", "cpu"]
    assert (r["n"], r["grid_points"]) == (5000, 64)
    assert r["results"][0]["runs"] == 1 and r["results"][1]["runs"] == 2
    assert r["results"][1]["max_rel_diff"] <= 1e-6


def test_families_are_the_clis(cli):
    _, out, _ = run_cli(cli, "families", "--format", "markdown")
    rows = [line for line in out.splitlines() if line.startswith("| `")]
    fams = klgrid.families()
    assert [f["name"] for f in fams] == [r.split("`")[1] for r in rows]
    for f, r in zip(fams, rows):
        cells = [c.strip() for c in r.strip("|").split("|")]
        assert float(cells[3]) == f["tolerance"]
        assert cells[4] == ("yes" if f["closed_form_mle"] else "no")
        assert cells[5] == ("yes" if f["entropy"] else "no")
    normal = fams[0]
    assert normal["name"] == "normal" and [p["name"] for p in normal["params"]] == ["mu", "sigma"]


def test_merge_of_partial_files_is_the_clis_merge_and_the_single_run(cli, tmp_path):
    """klgrid.merge of the shards (given in any order) is `klgrid merge`'s document bit for bit,
    and its arrays are the single process's."""
    parts = []
    for i in (1, 2, 3):
        p = tmp_path / f"part{i}.klp"
        run_cli(cli, "sweep", "--family", "normal", *NORMAL_CLI, "--backend", "cpu",
                "--grid-shard", f"{i}/3", "--partials-out", p, "--quiet")
        parts.append(p)
    m = klgrid.merge(list(reversed(parts)))
    _, out, _ = run_cli(cli, "merge", *parts, "--format", "json")
    assert_same(strip(m.to_dict()), strip(json.loads(out)))
    single = klgrid.sweep("normal", grid=NORMAL_GRID, backend="cpu", **NORMAL)
    assert m.shape == single.shape == (16, 12)
    assert np.array_equal(m.loglik, single.loglik)
    assert m.best == single.best


def test_merge_of_something_else_is_an_input_error(tmp_path):
    p = tmp_path / "not-a-partial.klp"
    p.write_text("hello\n")
    with pytest.raises(klgrid.InputError):
        klgrid.merge([p])
