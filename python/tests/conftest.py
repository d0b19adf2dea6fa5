"""Shared fixtures. Under CI=true nothing is skipped: a missing tool (the klgrid command, an
optional package, a GPU adapter with KLGRID_REQUIRE_GPU=1) fails the test instead."""

import importlib
import json
import os
import pathlib
import subprocess

import pytest

import klgrid

ROOT = pathlib.Path(__file__).resolve().parents[2]
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def missing(what: str):
    """Skips, or fails under CI=true."""
    if IN_CI:
        pytest.fail(f"{what} (CI=true: nothing may be skipped)")
    pytest.skip(what)


def need(module: str):
    """Imports an optional package, or skips (fails under CI)."""
    try:
        return importlib.import_module(module)
    except ImportError:
        missing(f"{module} is not installed")


@pytest.fixture(scope="session")
def cli() -> pathlib.Path:
    """The klgrid command built from this repository (KLGRID_CLI overrides)."""
    path = pathlib.Path(os.environ.get("KLGRID_CLI", ROOT / "target" / "release" / "klgrid"))
    if not path.is_file():
        missing(f"the klgrid command is not built at {path} (cargo build --release)")
    return path


@pytest.fixture(scope="session")
def gpu() -> bool:
    """Whether a GPU adapter exists; without one, GPU tests skip (fail with
    KLGRID_REQUIRE_GPU=1, as the Rust tests do)."""
    if klgrid.adapters():
        return True
    if os.environ.get("KLGRID_REQUIRE_GPU") == "1":
        pytest.fail("no GPU adapter, and KLGRID_REQUIRE_GPU=1")
    pytest.skip("no GPU adapter")


def run_cli(cli, *args, check=True):
    """Runs the command; returns (exit code, stdout, stderr)."""
    p = subprocess.run([str(cli), *map(str, args)], capture_output=True, text=True)
    if check and p.returncode != 0:
        raise AssertionError(f"klgrid {' '.join(map(str, args))}: exit {p.returncode}\n{p.stderr}")
    return p.returncode, p.stdout, p.stderr


def cli_json(cli, *args):
    """`klgrid sweep ... --format json --quiet`, parsed."""
    _, out, _ = run_cli(cli, "sweep", *args, "--format", "json", "--quiet")
    return json.loads(out)


def cli_error(cli, *args):
    """The command's one-line error for a failing job: (exit code, message)."""
    code, _, err = run_cli(cli, *args, check=False)
    assert code != 0, f"klgrid {args} succeeded"
    line = err.strip().splitlines()[-1]
    prefix = "klgrid: error: "
    assert line.startswith(prefix), err
    return code, line[len(prefix):]
