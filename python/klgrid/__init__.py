"""klgrid: sweep parameter grids of statistical models over millions of samples, from Python.

For a model family Q(x|θ), samples x₁…xₙ and every θ of a grid, :func:`sweep` evaluates the
log-likelihood S(θ) = Σᵢ log Q(xᵢ|θ), the mean log-likelihood S/n, the cross-entropy
H(P̂, Q_θ) = −S/n and, with the data-generating P known, D_KL(P‖Q_θ) = H(P, Q_θ) − H(P). Since
H(P) does not depend on θ, argmax likelihood = argmin cross-entropy = argmin KL, and the result
shows it with numbers, beside the MLE, likelihood-ratio intervals and joint regions.

The sums run as WGSL compute shaders through wgpu (or Mesa's lavapipe without a GPU), on the
fast CPU path, or on the f64 reference path, exactly as the ``klgrid`` command runs them: the
same job gives the same numbers, bit for bit, and :meth:`Sweep.to_dict` is the command's JSON
document. One session per process keeps the device and the compiled kernels, so repeated sweeps
in a notebook compile nothing twice. The GIL is released while the engine works; Ctrl-C stops a
sweep between two chunks of 2²² samples (KeyboardInterrupt).

Example::

    import numpy as np, klgrid
    x = np.random.default_rng(1).normal(1.5, 2.0, 1_000_000).astype(np.float32)
    s = klgrid.sweep("normal", x, grid={"mu": (0, 3, 64), "sigma": (1, 3, 64)})
    s.best["theta"], s.mle["theta"], s.identity["holds"]
    s.loglik.shape                      # (64, 64): axes in the order of the grid dict
    s.plot("surface.png")
"""

from __future__ import annotations

import json
import logging
import numbers
import os
import pathlib
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np

from . import _core
from ._core import GpuError, InputError

__version__: str = _core.__version__

__all__ = [
    "sweep",
    "bench",
    "merge",
    "families",
    "adapters",
    "logspace",
    "session_info",
    "release_buffers",
    "Sweep",
    "LogSpace",
    "InputError",
    "GpuError",
    "CHUNK",
]

#: Samples per chunk: the engine evaluates (and checks for Ctrl-C) chunk by chunk.
CHUNK: int = _core.CHUNK

_log = logging.getLogger("klgrid")


# ---------------------------------------------------------------------------------------------
# Arguments: Python values → the command's specifications.


class LogSpace:
    """``count`` log-spaced values from ``start`` to ``stop`` (both > 0, both ends included):
    ln θₖ is linear between ln start and ln stop. As a grid axis it is the command's
    ``--grid NAME=log:START:STOP:COUNT`` (spacing "log" in the report, log-scaled plot axis).
    ``np.asarray(klgrid.logspace(0.1, 10, 5))`` gives the values."""

    __slots__ = ("start", "stop", "count")

    def __init__(self, start: float, stop: float, count: int) -> None:
        self.start = start
        self.stop = stop
        self.count = count

    def spec(self) -> str:
        """The right-hand side of the command's ``--grid``: ``log:START:STOP:COUNT``."""
        return f"log:{_number(self.start)}:{_number(self.stop)}:{_count(self.count)}"

    def values(self) -> np.ndarray:
        """The values, as the grid parser computes them (exact ends)."""
        return _core.axis_values("x=" + self.spec())

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        v = self.values()
        return v if dtype is None else v.astype(dtype)

    def __len__(self) -> int:
        return len(self.values())

    def __iter__(self):
        return iter(self.values().tolist())

    def __repr__(self) -> str:
        return f"klgrid.logspace({self.start!r}, {self.stop!r}, {self.count!r})"


def logspace(start: float, stop: float, count: int) -> LogSpace:
    """A log-spaced grid axis: ``count`` values from ``start`` to ``stop`` (> 0), ends
    included. Use it as a value of ``grid=``: ``grid={"sigma": klgrid.logspace(0.1, 10, 50)}``."""
    return LogSpace(start, stop, count)


def _number(v: Any) -> str:
    """A number as the grid parser reads it back exactly: an integer as written, a float as
    Python's shortest repr (so messages show the values as the user wrote them)."""
    if isinstance(v, (bool, np.bool_)):
        raise TypeError(f"grid value {v!r} is a bool, not a number")
    if isinstance(v, numbers.Integral):
        return str(int(v))
    if isinstance(v, numbers.Real):
        return repr(float(v))
    raise TypeError(f"grid value {v!r} is not a number")


def _count(c: Any) -> str:
    if isinstance(c, (bool, np.bool_)):
        raise TypeError(f"COUNT {c!r} is a bool, not an integer")
    if isinstance(c, numbers.Integral):
        return str(int(c))
    # Not an integer: let the grid parser say so, in the command's words.
    return repr(c)


AxisValue = Union[
    Tuple[float, float, int], Sequence[float], np.ndarray, LogSpace, float, int, str
]


def _axis_spec(name: Any, value: Any) -> str:
    """One grid axis as the command's ``--grid NAME=...``."""
    if not isinstance(name, str):
        raise TypeError(f"grid keys are parameter names (str); got {name!r}")
    if isinstance(value, LogSpace):
        rhs = value.spec()
    elif isinstance(value, str):
        rhs = value
    elif isinstance(value, tuple):
        if len(value) != 3:
            raise InputError(
                f"grid[{name!r}]: a tuple is (start, stop, count); give a list or an array "
                f"for explicit values (got a tuple of {len(value)})"
            )
        a, b, c = value
        rhs = f"{_number(a)}:{_number(b)}:{_count(c)}"
    elif isinstance(value, (numbers.Real, np.number)) and not isinstance(value, (bool, np.bool_)):
        rhs = _number(value)
    else:
        try:
            vals = np.asarray(value, dtype=np.float64)
        except (TypeError, ValueError) as e:
            raise TypeError(
                f"grid[{name!r}]: expected (start, stop, count), a list or array of values, a "
                f"number or klgrid.logspace(...); got {type(value).__name__} ({e})"
            ) from None
        if vals.ndim > 1:
            raise InputError(f"grid[{name!r}]: values must be 1-D (got shape {vals.shape})")
        vals = vals.reshape(-1)
        if vals.size == 0:
            raise InputError(f"grid[{name!r}]: no values")
        rhs = ",".join(repr(float(v)) for v in vals)
    return f"{name}={rhs}"


def _grid_specs(grid: Any) -> List[str]:
    """``grid=`` as the command's ``--grid`` options, in order."""
    if grid is None:
        raise InputError(
            "grid= is required: a dict name -> (start, stop, count), values, a number or "
            "klgrid.logspace(...), one entry per parameter"
        )
    if isinstance(grid, Mapping):
        return [_axis_spec(k, v) for k, v in grid.items()]
    if isinstance(grid, str):
        return [grid]
    if isinstance(grid, (list, tuple)) and all(isinstance(g, str) for g in grid):
        return list(grid)
    raise TypeError(
        "grid= must be a dict (name -> axis) or a list of the command's 'NAME=SPEC' strings"
    )


def _model(obj: Any) -> str:
    """The model argument as the engine takes it: a built-in family's name today. This is the
    seam for user models (expressions, issue #12): a model object or its source text will be
    resolved here into what ``_core.sweep`` takes."""
    if isinstance(obj, str):
        return obj
    raise TypeError(
        f"expected a family name (str; see klgrid.families()), got {type(obj).__name__}"
    )


def _data(data: Any) -> Tuple[Any, bool]:
    """``data`` as the engine takes it: a path (str), or a 1-D native float64/float32 array
    (evaluated in place when contiguous float64). Other dtypes and lists are converted to
    float64 here. Returns it with whether a copy was made."""
    if data is None:
        return None, False
    if isinstance(data, bytes):
        return os.fsdecode(data), False
    if isinstance(data, (str, os.PathLike)):
        return os.fspath(data), False
    arr = data if isinstance(data, np.ndarray) else np.asarray(data)
    copied = isinstance(data, (list, tuple, range))
    if arr.ndim != 1:
        raise InputError(
            f"data must be 1-D (got shape {arr.shape}); pass one column, e.g. data[:, 0]"
        )
    dt = arr.dtype
    if dt.kind == "f" and dt.itemsize in (4, 8) and dt.isnative:
        return arr, copied
    if dt.kind in "biuf":
        return arr.astype(np.float64), True
    if dt.kind == "O":
        try:
            return arr.astype(np.float64), True
        except (TypeError, ValueError) as e:
            raise InputError(f"data: cannot convert to float64: {e}") from None
    raise InputError(f"data: values of dtype {dt} are not numbers")


def _int(v: Any, name: str, low: int = 0, high: Optional[int] = None) -> int:
    """An integer argument (an integral float such as 1e6 is accepted)."""
    if isinstance(v, (bool, np.bool_)):
        raise TypeError(f"{name}= must be an integer, not a bool")
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    if not isinstance(v, numbers.Integral):
        raise TypeError(f"{name}= must be an integer (got {v!r})")
    v = int(v)
    if v < low or (high is not None and v > high):
        bound = f"at least {low}" if high is None else f"between {low} and {high}"
        raise InputError(f"{name} must be {bound} (got {v})")
    return v


def _pair(v: Any) -> Optional[str]:
    """``("cpu", "cpu-ref")`` or ``"cpu,cpu-ref"`` as the command's ``A,B``."""
    if v is None or isinstance(v, str):
        return v
    return ",".join(str(x) for x in v)


def _shape(v: Any) -> Optional[str]:
    """A kernel shape ``(P, W, C)`` or ``"P,W,C"`` as the command's ``--kernel-shape``."""
    return _pair(v)


def _data_kwargs(
    data: Any,
    sample: Optional[str],
    n: Any,
    seed: Any,
    format_in: Optional[str],
    column: Any,
    skip_nonfinite: bool,
) -> Dict[str, Any]:
    d, copied = _data(data)
    return dict(
        data=d,
        data_copied=copied,
        sample=sample,
        n=None if n is None else _int(n, "n", 1),
        seed=_int(seed, "seed", 0, 2**64 - 1),
        format_in=format_in,
        column=None if column is None else str(column),
        skip_nonfinite=bool(skip_nonfinite),
    )


# ---------------------------------------------------------------------------------------------
# The sweep.


#: The fields of the JSON document that the rest of the analysis (after the sweep) writes:
#: read from a :class:`Sweep` they compute it, once. Every other field is final after the sweep.
_LAZY = frozenset(
    {
        "mle",
        "mle_note",
        "intervals",
        "regions",
        "errors",
        "covariance",
        "correlation",
        "hessian",
        "profile",
        "warnings",
    }
)


class Sweep:
    """The result of :func:`sweep`.

    Arrays (NumPy, shaped like the grid: ``(len(axis₁), len(axis₂), ...)`` in the order of the
    ``grid`` dict, the last axis fastest, as the command's row-major grid order):

    - ``loglik``: S(θ) = Σᵢ log Q(xᵢ|θ), nats; −inf where a sample lies outside the support;
    - ``mean_loglik``: S(θ)/n, nats;
    - ``cross_entropy``: H(P̂, Q_θ) = −S/n, in ``units``;
    - ``kl``: cross_entropy − H(P), in ``units``, when H(P) is known (``sample=``, ``true=``,
      or discrete data), else None;
    - ``kl_exact``: the closed-form D_KL(P‖Q_θ) when P is of the swept family, NaN where none,
      else None;
    - ``outside_support``: the number of samples outside the support of Q_θ (uint64).

    ``axes`` maps each axis name to its values (float64 arrays), in grid order.

    Plain Python objects, exactly the fields of the command's JSON document (see the README's
    JSON schema): ``best``, ``mle``, ``identity``, ``intervals``, ``regions``, ``refined``,
    ``agreement`` (``backend="both"`` only, else None), ``timings``, ``backend``,
    ``strategy``, ``adapter``, ``kernel``, ``entropy``, ``truth``, ``units``, ``n``, ...;
    :meth:`to_dict` is the whole document, :meth:`to_csv` the CSV, ``str(sweep)`` the table.

    The sweep returns once the grid is evaluated: the MLE, the intervals, the regions and the
    errors at the MLE (which pass over the samples again, in f64) are computed on first access
    to one of them, to :meth:`head`, :meth:`to_dict`, :meth:`to_csv`, :meth:`table` or
    :meth:`plot`, and then kept; the numbers are the same either way. An array handed over as
    ``data`` is read again then, and must be unchanged since the sweep (an :class:`InputError`
    says so otherwise): change it only after reading them, or hand over a copy.
    """

    def __init__(self, core: "_core.SweepResult") -> None:
        self._core = core
        # The fields the sweep itself settled (the rest of the analysis — MLE, intervals,
        # errors, passes over the samples — is computed on first access to one of the
        # _LAZY fields, then kept: see `_full`).
        self._summary: Dict[str, Any] = self._read_head(complete=False)
        self._whole: Optional[Dict[str, Any]] = None
        shape = tuple(core.shape)
        arrays = core.arrays()
        self.shape: Tuple[int, ...] = shape
        self.loglik: np.ndarray = arrays["loglik"].reshape(shape)
        self.mean_loglik: np.ndarray = arrays["mean_loglik"].reshape(shape)
        self.cross_entropy: np.ndarray = arrays["cross_entropy"].reshape(shape)
        self.outside_support: np.ndarray = arrays["outside_support"].reshape(shape)
        kl = arrays.get("kl")
        kl_exact = arrays.get("kl_exact")
        self.kl: Optional[np.ndarray] = None if kl is None else kl.reshape(shape)
        self.kl_exact: Optional[np.ndarray] = (
            None if kl_exact is None else kl_exact.reshape(shape)
        )
        self.axes: Dict[str, np.ndarray] = {name: values for name, values in core.axes()}
        #: One-line notes the command prints on stderr (the path ``backend="auto"`` chose).
        self.notes: List[str] = list(core.notes)
        #: Whether the samples evaluated are a copy of the data handed over (False for a
        #: contiguous float64 array, evaluated in place).
        self.data_copied: bool = core.data_copied
        #: Wall seconds of this call's phases: ``data_s`` (converting, checking or drawing the
        #: samples), ``engine_s`` (the evaluation, with any compilation) and ``analysis_s``
        #: (entropy, KL, refinement) — the rest of the call is the binding's. The MLE,
        #: intervals and errors come later, on first access (``analysis_seconds``).
        self.phases: Dict[str, float] = dict(core.phases)

    def _read_head(self, complete: bool) -> Dict[str, Any]:
        head = json.loads(self._core.head_json(complete))
        head.pop("points", None)
        if self._core.data_format is not None:
            head["data_format"] = self._core.data_format
        return head

    @property
    def _head(self) -> Dict[str, Any]:
        """The whole document but ``points``: computes the rest of the analysis if not yet
        done (the MLE, intervals and errors read the samples again: an array handed over must
        be unchanged since the sweep, else :class:`InputError`)."""
        if self._whole is None:
            self._whole = self._read_head(complete=True)
        return self._whole

    def _field(self, key: str) -> Any:
        """One field of the document: from the sweep's own part when it is final there."""
        return (self._head if key in _LAZY else self._summary).get(key)

    @property
    def analysis_seconds(self) -> Optional[float]:
        """Wall seconds the rest of the analysis (MLE, intervals, errors) took, computed on
        first access to ``mle``, ``intervals``, ... or the whole document; None until then."""
        return self._core.complete_seconds

    # The document's fields, as attributes.
    family = property(lambda self: self._field("family"), doc="The family swept.")
    params = property(
        lambda self: list(self._field("params")),
        doc="The family's parameters, in its canonical order (``best['theta']``'s keys).",
    )
    n = property(lambda self: self._field("n"), doc="Number of samples evaluated.")
    best = property(
        lambda self: self._field("best"),
        doc="The best grid point: index, theta, mean_loglik, cross_entropy (kl, kl_exact); "
        "None when every point has likelihood 0.",
    )
    mle = property(
        lambda self: self._field("mle"),
        doc="The maximum-likelihood estimate: theta, method ('closed_form' or 'numeric'), "
        "mean_loglik; None when not computed (see mle_note).",
    )
    mle_note = property(lambda self: self._field("mle_note"), doc="Why mle is None.")
    identity = property(
        lambda self: self._field("identity"),
        doc="argmax_loglik, argmin_cross_entropy, argmin_kl (flat indices) and holds.",
    )
    intervals = property(
        lambda self: self._field("intervals"),
        doc="95% profile-likelihood interval per free parameter: low, high, level, "
        "open_low, open_high, round.",
    )
    regions = property(
        lambda self: self._field("regions"),
        doc="Joint 68% and 95% likelihood-ratio regions (two free parameters only).",
    )
    refined = property(lambda self: self._field("refined"), doc="The refinement (refine=K).")
    agreement = property(
        lambda self: self._field("agreement"),
        doc="backend='both': the comparison of the two paths, else None.",
    )
    timings = property(lambda self: self._field("timings"), doc="Seconds: data, compile, eval.")
    backend = property(lambda self: self._field("backend"), doc="'gpu', 'cpu' or 'cpu-ref'.")
    strategy = property(lambda self: self._field("strategy"), doc="'direct' or 'suffstats'.")
    adapter = property(lambda self: self._field("adapter"), doc="The GPU adapter, or None.")
    kernel = property(lambda self: self._field("kernel"), doc="The GPU kernel shape, or None.")
    entropy = property(
        lambda self: self._field("entropy"), doc="H(P) (or H(P̂) for discrete data), or None."
    )
    truth = property(lambda self: self._field("truth"), doc="P, when known, or None.")
    units = property(lambda self: self._field("units"), doc="'nats' or 'bits'.")
    tolerance = property(lambda self: self._field("tolerance"), doc="The family's tolerance.")
    skipped_nonfinite = property(
        lambda self: self._field("skipped_nonfinite"),
        doc="Values dropped by skip_nonfinite=True.",
    )

    def head(self) -> Dict[str, Any]:
        """Every field of the JSON document but ``points`` (a copy)."""
        return json.loads(json.dumps(self._head))

    def to_dict(self) -> Dict[str, Any]:
        """The command's JSON document (``klgrid sweep --format json``), written by the
        library's JSON writer and parsed: for data handed over as an array, ``data`` is
        ``"<array float64>"`` (or float32) and ``data_format`` is ``"array"``."""
        doc = json.loads(self._core.write("json"))
        if self._core.data_format is not None:
            doc["data_format"] = self._core.data_format
        return doc

    def to_csv(self) -> str:
        """The command's CSV (``--format csv``): one row per grid point."""
        return self._core.write("csv")

    def table(self) -> str:
        """The command's table (``--format table``), as ``str(sweep)``."""
        return self._core.write("table")

    def to_pandas(self):
        """A pandas DataFrame with one row per grid point, in grid order, indexed by the flat
        grid index: the parameters (in the family's order, as the CSV), ``loglik``,
        ``mean_loglik``, ``cross_entropy``, ``outside_support``, then ``kl`` and ``kl_exact``
        where known. Needs pandas (``pip install pandas``)."""
        try:
            import pandas as pd
        except ImportError as e:  # pragma: no cover - depends on the environment
            raise ImportError("Sweep.to_pandas() needs pandas: pip install pandas") from e
        mesh = np.meshgrid(*self.axes.values(), indexing="ij")
        by_name = dict(zip(self.axes, mesh))
        cols: Dict[str, np.ndarray] = {p: by_name[p].ravel() for p in self.params}
        cols["loglik"] = self.loglik.ravel()
        cols["mean_loglik"] = self.mean_loglik.ravel()
        cols["cross_entropy"] = self.cross_entropy.ravel()
        cols["outside_support"] = self.outside_support.ravel()
        if self.kl is not None:
            cols["kl"] = self.kl.ravel()
        if self.kl_exact is not None:
            cols["kl_exact"] = self.kl_exact.ravel()
        df = pd.DataFrame(cols)
        df.index.name = "index"
        return df

    def plot(
        self,
        path: Union[str, os.PathLike],
        *,
        metric: str = "loglik",
        size: Union[Tuple[int, int], str] = (1200, 800),
        pair: Union[Tuple[str, str], str, None] = None,
    ) -> pathlib.Path:
        """Draws the sweep as ``klgrid sweep --plot PATH`` does (PNG or SVG by the extension):
        the curve (one free parameter), the heatmap with the 68%/95% contours (two), or profile
        curves (more; ``pair=("a", "b")`` draws the 2-D profile of two). ``metric``:
        ``"loglik"``, ``"cross_entropy"``, ``"kl"`` (needs H(P)), ``"deviance"`` (Δ(−2 ln L),
        the command's default) or ``"delta_loglik"``. Returns the path."""
        p = pathlib.Path(os.fspath(path))
        size_s = size if isinstance(size, str) else "x".join(str(int(v)) for v in size)
        self._core.plot(p, metric, size_s, _pair(pair))
        return p

    def __str__(self) -> str:
        return self.table()

    def __repr__(self) -> str:
        dims = "×".join(str(s) for s in self.shape)
        best = self.best
        where = (
            ", ".join(f"{k}={v:.6g}" for k, v in best["theta"].items()) if best else "none"
        )
        return (
            f"<klgrid.Sweep {self.family}: n={self.n}, {dims} grid ({', '.join(self.axes)}), "
            f"{self.backend}/{self.strategy}, best {where}>"
        )


def sweep(
    family_or_model: str,
    data: Any = None,
    *,
    sample: Optional[str] = None,
    n: Optional[int] = None,
    seed: int = 42,
    grid: Optional[Mapping[str, AxisValue]] = None,
    backend: str = "auto",
    strategy: str = "auto",
    refine: int = 0,
    true: Optional[str] = None,
    units: str = "nats",
    compare: Union[Tuple[str, str], str, None] = None,
    adapter: Optional[str] = None,
    kernel_shape: Union[Tuple[int, int, int], str, None] = None,
    format_in: Optional[str] = None,
    column: Union[str, int, None] = None,
    skip_nonfinite: bool = False,
) -> Sweep:
    """Evaluates every point of a parameter grid over a data set: ``klgrid sweep``.

    For every θ of the grid: S(θ) = Σᵢ log Q(xᵢ|θ), S/n, the cross-entropy −S/n and (P known)
    the KL divergence; the best point, the identity argmax likelihood = argmin cross-entropy =
    argmin KL, the MLE and likelihood-ratio intervals.

    Parameters
    ----------
    family_or_model
        A family name (see :func:`families`), e.g. ``"normal"``.
    data
        The samples: a 1-D NumPy array of any float, int or bool dtype (a contiguous float64
        array is evaluated in place, no copy; float32 is widened to float64 once, exactly;
        other dtypes are converted to float64), a list, a pandas Series, or a path to a file
        (text, .csv, .tsv, .npy, .f32, .f64, optionally .gz/.zst), streamed by the readers.
    sample, n, seed
        Instead of ``data``: draw ``n`` samples from ``sample`` (e.g.
        ``"normal(mu=1.5, sigma=2)"``) with ``seed`` (default 42), as ``--sample``.
    grid
        A dict, one entry per parameter, in grid order: ``name -> (start, stop, count)``
        (linear, ends included), a list or array of values, a number (fixed),
        ``klgrid.logspace(a, b, n)``, or the command's spec text (``"log:0.1:10:50"``).
    backend
        ``"auto"`` (GPU if an adapter exists, else the fast CPU path), ``"gpu"`` (a
        :class:`GpuError` without an adapter), ``"cpu"``, ``"cpu-ref"`` (f64 reference) or
        ``"both"`` (two paths compared: ``agreement``; ``compare=("cpu", "cpu-ref")`` picks
        them).
    strategy
        ``"auto"``, ``"direct"`` or ``"suffstats"`` (sufficient statistics).
    refine
        Refinement rounds around the best point (0–60).
    true
        The distribution behind ``data``, e.g. ``"normal(mu=1.5, sigma=2)"``: gives H(P), the KL
        column and, for P of the swept family, the exact KL.
    units
        ``"nats"`` or ``"bits"`` for entropy, cross-entropy and KL (log-likelihoods: nats).
    adapter, kernel_shape
        The GPU adapter whose name contains this text; the kernel shape ``(P, W, C)``.
    format_in, column, skip_nonfinite
        For a path: the format instead of the extension's, the column of a table or 2-D
        .npy; for files and arrays: drop NaN and infinities instead of failing.

    Raises
    ------
    InputError (a ValueError)
        Bad input: the message is the one the command prints.
    GpuError (a RuntimeError)
        No adapter for ``backend="gpu"``, or a device failure.
    KeyboardInterrupt
        Ctrl-C, between two chunks of the evaluation.
    """
    kwargs = _data_kwargs(data, sample, n, seed, format_in, column, skip_nonfinite)
    core = _core.sweep(
        _model(family_or_model),
        grid=_grid_specs(grid),
        backend=backend,
        compare=_pair(compare),
        strategy=strategy,
        refine=_int(refine, "refine", 0, 60),
        truth=true,
        units=units,
        adapter=adapter,
        kernel_shape=_shape(kernel_shape),
        **kwargs,
    )
    result = Sweep(core)
    for note in result.notes:
        _log.info(note)
    return result


def bench(
    family_or_model: str,
    data: Any = None,
    *,
    sample: Optional[str] = None,
    n: Optional[int] = None,
    seed: int = 42,
    grid: Optional[Mapping[str, AxisValue]] = None,
    backends: Optional[Iterable[str]] = None,
    repeat: int = 5,
    ref_repeat: int = 1,
    strategy: str = "direct",
    adapter: Optional[str] = None,
    kernel_shape: Union[Tuple[int, int, int], str, None] = None,
    format_in: Optional[str] = None,
    column: Union[str, int, None] = None,
    skip_nonfinite: bool = False,
) -> Dict[str, Any]:
    """Measures the paths on one job: ``klgrid bench --format json``, as a dict.

    Every path of ``backends`` (default ``["gpu", "cpu", "cpu-ref"]``, gpu left out with a log
    note when no adapter exists) runs a warm-up, then ``repeat`` timed runs (cpu-ref:
    ``ref_repeat``, no warm-up). Returns ``{"n", "grid_points", "evaluations_per_run",
    "peak_rss_bytes", "results": [{"backend", "strategy", "adapter", "kernel", "runs",
    "evals_per_s": {"median", "min", "max"}, "seconds", "device_seconds", "compile_seconds",
    "speedup_vs_cpu", "max_rel_diff"}]}``. Data and grid as in :func:`sweep`.
    """
    kwargs = _data_kwargs(data, sample, n, seed, format_in, column, skip_nonfinite)
    doc = json.loads(
        _core.bench(
            _model(family_or_model),
            grid=_grid_specs(grid),
            backends=None if backends is None else [str(b) for b in backends],
            repeat=_int(repeat, "repeat", 1),
            ref_repeat=_int(ref_repeat, "ref_repeat", 1),
            strategy=strategy,
            adapter=adapter,
            kernel_shape=_shape(kernel_shape),
            **kwargs,
        )
    )
    for note in doc["notes"]:
        _log.info(note)
    return doc["report"]


def merge(paths: Sequence[Union[str, "os.PathLike[str]"]], *, units: str = "nats") -> Sweep:
    """Merges partial files into one sweep, as ``klgrid merge FILES`` does.

    The files are the shards of one job (``klgrid sweep --shard I/K --partials-out FILE``,
    ``--grid-shard I/K``, or MPI ranks), in any order. The sums are added exactly
    (fixed-point), so the result is bit for bit the one process's, whatever the split; the
    analysis is the one streamed data allow (closed-form MLE from the merged moments, H(P̂) of
    discrete data from the merged counts), with notes for what needs the samples.

    Raises
    ------
    InputError (a ValueError)
        A file that is not a partial file, shards of different jobs, or a part missing or
        given twice: the message is the one the command prints.
    """
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    core = _core.merge([os.fspath(p) for p in paths], units=units)
    result = Sweep(core)
    for note in result.notes:
        _log.info(note)
    return result


def families() -> List[Dict[str, Any]]:
    """The built-in families, as ``klgrid families`` lists them: ``[{"name", "params":
    [{"name", "domain"}], "support", "integer_data", "tolerance", "closed_form_mle",
    "entropy"}]``."""
    return json.loads(_core.families())


def adapters() -> List[Dict[str, Any]]:
    """The GPU adapters wgpu sees, best first, with their key limits (``klgrid adapters``)."""
    return json.loads(_core.adapters())


def session_info(
    adapter: Optional[str] = None,
    kernel_shape: Union[Tuple[int, int, int], str, None] = None,
) -> Dict[str, Any]:
    """What this process's session (for ``adapter``/``kernel_shape``) has built so far:
    ``{"devices", "sweep", "reduce", "sweep_buffers", "reduce_buffers", "gpu_open"}`` — each
    device, kernel and buffer set is built once, then reused by every later sweep."""
    return json.loads(_core.session_info(adapter, _shape(kernel_shape)))


def release_buffers() -> int:
    """Frees the float64 buffer kept between calls and returns its size in bytes.

    The engine evaluates float64 samples, so a float32 (or strided) array is widened (gathered)
    into a float64 buffer; a fresh buffer costs more in page faults than the widening, so the
    buffer of the last call is kept for the next one (at most one, of at most 2**25 samples =
    256 MiB). Call this to give that memory back, e.g. after the last sweep of a large array."""
    return _core.release_buffers()
