"""Type stubs of the compiled module ``klgrid._core`` (python/src/*.rs). Use the ``klgrid``
package: it turns Python values into these arguments and wraps the results."""

import os
from typing import Dict, List, Optional, Sequence, Tuple, Union

import numpy as np

__version__: str
CHUNK: int

class InputError(ValueError):
    """Bad input (the command's exit code 2); the message is the command's."""

class GpuError(RuntimeError):
    """No GPU adapter for backend='gpu', or a device failure (the command's exit code 1)."""

class SweepResult:
    """One finished sweep: the evaluation, its analysis, and the report writers."""

    shape: List[int]
    params: List[str]
    notes: List[str]
    data_address: int
    data_copied: bool
    data_format: Optional[str]
    phases: List[Tuple[str, float]]
    complete_seconds: Optional[float]
    def head_json(self, complete: bool = True) -> str: ...
    def complete_analysis(self) -> None: ...
    def write(self, format: str) -> str: ...
    def arrays(self) -> Dict[str, np.ndarray]: ...
    def axes(self) -> List[Tuple[str, np.ndarray]]: ...
    def plot(
        self,
        path: Union[str, os.PathLike],
        metric: str = "loglik",
        size: str = "1200x800",
        pair: Optional[str] = None,
    ) -> None: ...

def sweep(
    family: str,
    *,
    grid: Sequence[str],
    data: Union[np.ndarray, str, None] = None,
    data_copied: bool = False,
    sample: Optional[str] = None,
    n: Optional[int] = None,
    seed: int = 42,
    backend: str = "auto",
    compare: Optional[str] = None,
    strategy: str = "auto",
    refine: int = 0,
    truth: Optional[str] = None,
    units: str = "nats",
    adapter: Optional[str] = None,
    kernel_shape: Optional[str] = None,
    format_in: Optional[str] = None,
    column: Optional[str] = None,
    skip_nonfinite: bool = False,
) -> SweepResult: ...
def merge(
    paths: Sequence[Union[str, os.PathLike]], *, units: str = "nats"
) -> SweepResult: ...
def bench(
    family: str,
    *,
    grid: Sequence[str],
    data: Union[np.ndarray, str, None] = None,
    data_copied: bool = False,
    sample: Optional[str] = None,
    n: Optional[int] = None,
    seed: int = 42,
    backends: Optional[Sequence[str]] = None,
    repeat: int = 5,
    ref_repeat: int = 1,
    strategy: str = "direct",
    adapter: Optional[str] = None,
    kernel_shape: Optional[str] = None,
    format_in: Optional[str] = None,
    column: Optional[str] = None,
    skip_nonfinite: bool = False,
) -> str: ...
def families() -> str: ...
def adapters() -> str: ...
def session_info(adapter: Optional[str] = None, kernel_shape: Optional[str] = None) -> str: ...
def axis_values(spec: str) -> np.ndarray: ...
def release_buffers() -> int: ...
def _kept_buffer_bytes() -> int: ...
def _selftest_panic() -> None: ...
