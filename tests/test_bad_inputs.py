"""Bad input, systematically: every public entry point against a battery of bad inputs.

Each case is a row of data: the entry point, the argument given the bad value, what is wrong with it, the call,
and what must happen — a ValueError or TypeError whose message names the argument (in backticks, as bpxp's own
messages do; the CLI names its option; the estimators' checks of host data keep scikit-learn's wording, which
its estimator checks and users rely on) — or WORKS, with a check of the result. Cases whose entry point takes
arrays run on every backend. After every case the host arrays it drew from are compared with pristine copies,
and pytest's ``filterwarnings = error`` turns any warning that leaks out into a failure.

Tally of the last full run (every backend); ``test_report_how_many_cases_were_tried`` prints it again:

- 590 cases (rows of the tables below: 433 run on each backend variant, 157 once), 2257 runs in all;
- 489 raised a clear error naming the argument, or worked correctly, as the code was;
- 101 needed a fix (their ``fixed=`` field names it), of 27 kinds: bool arrays are numbers (were refused); object
  arrays of numbers are read as numbers; float64 beyond float32 says "exceeds the float32 range" (was a
  RuntimeWarning, then "NaN or infinite values"); read-only arrays are copied before torch shares them (it warned);
  int labels are one-hot encoded in the default integer dtype (uint8 labels with > 255 classes set two ones per
  row); 'mse' targets whose squares overflow are refused; R² of a constant target is 0, not −1e30 (JAX); estimator
  options are checked for type and finiteness (shuffle/verbose/early_stopping, inf, NaN and bool numbers,
  random_state, hidden_layer_sizes=None); partial_fit refuses labels outside ``classes`` (it added them silently)
  (a single class now fits, as scikit-learn's); the regressor's text or too-large y; the CLI's parser errors fit on
  one line and check --epochs/--seed/--l2/--learning-rate/--validation-split themselves; missing or infinite values
  name their column; a model is refused on a bundled dataset with other features (it predicted silently); an empty
  CSV says so; unseen classes name the column and the file; ``MLP.fit`` checks ``verbose``, ``random_state`` and
  ``optimizer_state`` (nesting, shapes, dtypes) first; ``MLP(random_state=...)`` names the argument;
  ``layer_sizes`` as a NumPy array works; ``bpxp.load`` of a non-path, or of a checkpoint whose metadata is not an
  object or lacks a key, says so (were pathlib's TypeError, AttributeError or KeyError);
- 0 wait for a fix elsewhere.
"""

from __future__ import annotations

import contextlib
import io
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import Backend

import bpxp
from bpxp import optimizers
from bpxp.backend import namespaces as _backend
from bpxp.backprop import Gradients

WORKS = "works"
pytestmark = pytest.mark.filterwarnings("ignore:Stochastic Optimizer. Maximum iterations:UserWarning")


class CLIError(Exception):
    """The CLI's one-line error on stderr (exit status 2), raised so that CLI cases read like the others."""


@dataclass(frozen=True)
class Case:
    """One bad input: ``call(env)`` must raise ``expect`` with a message naming ``argument``, or work (``check``)."""

    entry: str  # the public entry point
    argument: str  # the argument given the bad value
    bad: str  # what is wrong with it
    call: Callable[[Env], Any]
    expect: Any  # an exception type, or WORKS
    match: str = ""  # a regex the message must also contain
    check: Callable[[Env, Any], None] | None = None  # for WORKS: checks the result
    names: str | None = None  # a regex naming the argument where backticks are not the convention
    fixed: str = ""  # the fix this case needed ("" if it passed as the code was)
    pending: str = ""  # the fix it waits for in a file another engineer is changing (xfail, strict)
    only: tuple[str, ...] = ()  # backend variants it applies to (default: all)
    jax: bool = True  # False: skipped on JAX, where every new shape compiles (~60 ms an operation on a small
    #                   machine) and the case tests nothing JAX-specific that cheaper cases do not

    @property
    def id(self) -> str:
        return f"{self.entry}:{self.argument}:{self.bad}"

    @property
    def naming(self) -> str:
        return self.names if self.names is not None else f"`{re.escape(self.argument)}`"


class Env:
    """What a case works with: the backend, host data (checked for mutation after the case), fresh networks."""

    def __init__(self, backend: Backend, tmp_path: Path | None = None):
        self.b = backend
        self.tmp = tmp_path
        rng = np.random.default_rng(0)
        self.X = rng.normal(size=(6, 4))
        self.y = np.array([0, 1, 2, 0, 1, 2])
        self.r = rng.normal(size=6)
        self._pristine = [a.copy() for a in (self.X, self.y, self.r)]

    def clf(self, **options) -> bpxp.MLP:
        return self.b.mlp([4, 5, 3], hidden="sigmoid", output="softmax", loss="cross_entropy", random_state=0,
                          **options)

    def reg(self, n_outputs: int = 1, **options) -> bpxp.MLP:
        return self.b.mlp([4, 5, n_outputs], hidden="sigmoid", output="identity", random_state=0, **options)

    def binary(self) -> bpxp.MLP:
        return self.b.mlp([4, 5, 1], output="sigmoid", loss="binary_cross_entropy", random_state=0, hidden="sigmoid")

    def arr(self, host, dtype=None):
        """Host data as an array of the backend under test, on its device."""
        return self.b.asarray(host, dtype)

    def foreign(self, host):
        """Host data as an array of another backend than the one under test."""
        if self.b.name != "array_api_strict":
            strict = pytest.importorskip("array_api_strict")
            return strict.asarray(np.asarray(host))
        torch = pytest.importorskip("torch")
        return torch.asarray(np.asarray(host))

    def elsewhere(self, host):
        """Host data on array-api-strict's other device than the network's."""
        import array_api_strict

        other = "CPU_DEVICE" if self.b.device is not None else "device1"
        return array_api_strict.asarray(np.asarray(host), device=array_api_strict.Device(other))

    def fit(self, net: bpxp.MLP, X: Any = ..., y: Any = ..., **options):
        """Train one epoch (options override) and return the weights and biases, for comparisons."""
        options = {"epochs": 1, "learning_rate": 0.1, "optimizer": "sgd", "batch_size": None, **options}
        net.fit(self.X if X is ... else X, self.y if y is ... else y, **options)
        return [*net.weights, *(net.biases or ())]

    def assert_untouched(self) -> None:
        for now, before in zip((self.X, self.y, self.r), self._pristine):
            np.testing.assert_array_equal(now, before)


# -- comparing results -------------------------------------------------------------------------------------------
def _as_arrays(result) -> list[np.ndarray]:
    if isinstance(result, Gradients):
        return [*map(bpxp.to_numpy, result.weights), *map(bpxp.to_numpy, result.biases or ()),
                bpxp.to_numpy(result.loss)]
    if isinstance(result, list | tuple):
        return [a for item in result for a in _as_arrays(item)]
    if isinstance(result, bpxp.History):
        return [np.asarray(result.loss)]
    if isinstance(result, int | float):
        return [np.asarray(result)]
    return [np.asarray(bpxp.to_numpy(result))]


def same_as(reference: Callable[[Env], Any], *, rtol: float = 1e-6) -> Callable[[Env, Any], None]:
    """A check: the result equals ``reference(env)`` (the same call on clean input)."""
    def check(env: Env, result) -> None:
        for got, expected in zip(_as_arrays(result), _as_arrays(reference(env)), strict=True):
            np.testing.assert_allclose(got.astype(np.float64), expected.astype(np.float64), rtol=rtol, atol=1e-7)
    return check


def finite(env: Env, result) -> None:
    assert all(np.isfinite(a.astype(np.float64)).all() for a in _as_arrays(result))


# -- the battery -----------------------------------------------------------------------------------------------
def _with(host: np.ndarray, row: int, column: int, value) -> np.ndarray:
    out = np.array(host, dtype=np.float64)
    out[row, column] = value
    return out


def _read_only(host: np.ndarray) -> np.ndarray:
    out = np.array(host)
    out.flags.writeable = False
    return out


def _strided(host: np.ndarray) -> np.ndarray:
    """The same values as a non-contiguous view (every other column of a wider array)."""
    wide = np.repeat(host[..., None], 2, axis=-1).reshape(*host.shape[:-1], 2 * host.shape[-1])
    return wide[..., ::2]


def _strided_rows(host: np.ndarray) -> np.ndarray:
    return np.stack([host, host], axis=-1)[..., 0]


def _pandas_frame(host):
    pandas = pytest.importorskip("pandas")
    return pandas.DataFrame(host)


FIX_BOOL = "bool arrays accepted and cast (_inputs.to_network)"
FIX_OBJECT = "object arrays of numbers read as numbers (_inputs._host_numbers)"
FIX_FLOAT32 = "values beyond float32 refused as 'exceeds the float32 range' (_inputs._narrowed)"
FIX_ONE_HOT = "labels compared in the default integer dtype (_inputs.one_hot)"
FIX_MSE = "targets whose squares overflow refused for 'mse' (_inputs._check_range_of_loss)"
FIX_READ_ONLY = "read-only arrays copied before torch would share them and warn (_inputs._shareable)"

# (what is wrong, value(env), expected, regex, clean equivalent for WORKS, fix, only)
X_VALUES: list[tuple] = [
    ("1-D", lambda e: e.X[0], ValueError, r"must be 2-D \(n_samples, n_features\).*reshape", None, "", ()),
    ("3-D", lambda e: e.X[None], ValueError, r"must be 2-D", None, "", ()),
    ("scalar", lambda e: 3.0, ValueError, r"must be 2-D.*got shape \(\)", None, "", ()),
    ("too few columns", lambda e: e.X[:, :3], ValueError, r"has 3 columns but the network's input layer has 4",
     None, "", ()),
    ("no columns", lambda e: e.X[:, :0], ValueError, r"has 0 columns", None, "", ()),
    ("no rows", lambda e: e.X[:0], ValueError, r"is empty \(shape \(0, 4\)\)", None, "", ()),
    ("NaN", lambda e: _with(e.X, 2, 1, np.nan), ValueError, r"contains NaN or infinite values", None, "", ()),
    ("inf", lambda e: _with(e.X, 0, 0, np.inf), ValueError, r"contains NaN or infinite values", None, "", ()),
    ("-inf", lambda e: _with(e.X, 5, 3, -np.inf), ValueError, r"contains NaN or infinite", None, "", ()),
    ("NaN in a backend array", lambda e: e.arr(_with(e.X, 2, 1, np.nan)), ValueError, r"contains NaN", None, "",
     ()),
    ("strings", lambda e: np.full((6, 4), "a"), TypeError, r"must hold real numbers.*dtype <U1", None, "", ()),
    ("numbers as strings", lambda e: e.X.astype(str), TypeError, r"must hold real numbers", None, "", ()),
    ("complex", lambda e: e.X + 1j, TypeError, r"must hold real numbers.*complex128", None, "", ()),
    ("complex backend array", lambda e: e.arr(e.X + 1j), TypeError, r"must hold real numbers.*complex", None, "",
     ()),
    ("None", lambda e: None, TypeError, r"must hold real numbers", None, "", ()),
    ("a dict", lambda e: {"a": [1, 2]}, TypeError, r"must hold real numbers", None, "", ()),
    ("None inside", lambda e: np.array([[1.0, None, 2.0, 3.0]] * 6, dtype=object), TypeError,
     r"must hold real numbers.*got dtype object", None, "", ()),
    ("ragged lists", lambda e: [[1, 2, 3, 4], [1, 2]], ValueError, r"must be a rectangular array of numbers",
     None, "", ()),
    ("another backend's array", lambda e: e.foreign(e.X), TypeError,
     r"is a \w+ array but this network runs on \w+; convert it with bpxp.to_numpy", None, "", ()),
    ("another device", lambda e: e.elsewhere(e.X), ValueError, r"is on device .* move it there first", None, "",
     ("array_api_strict", "array_api_strict-device1")),
    ("float64 beyond float32", lambda e: e.X * 1e39, ValueError,
     r"exceeds the float32 range: its largest magnitude is 2.\d+e\+39", None, FIX_FLOAT32, ()),
    ("float64 backend array beyond float32", lambda e: e.arr(e.X * 1e39), ValueError,
     r"exceeds the float32 range", None, FIX_FLOAT32, ()),
    # works, and gives what the clean equivalent gives
    ("bool", lambda e: e.X > 0, WORKS, "", lambda e: (e.X > 0).astype(float), FIX_BOOL, ()),
    ("bool backend array", lambda e: e.arr(e.X > 0), WORKS, "", lambda e: (e.X > 0).astype(float), FIX_BOOL, ()),
    ("object array of numbers", lambda e: e.X.astype(object), WORKS, "", lambda e: e.X, FIX_OBJECT, ()),
    ("lists of ints and floats", lambda e: [[1, 2.5, 3, 4]] * 6, WORKS, "",
     lambda e: np.array([[1, 2.5, 3, 4]] * 6), "", ()),
    ("a pandas DataFrame", lambda e: _pandas_frame(e.X), WORKS, "", lambda e: e.X, "", ()),
    ("int8", lambda e: (10 * e.X).astype(np.int8), WORKS, "", lambda e: (10 * e.X).astype(np.int8) * 1.0, "", ()),
    ("uint8", lambda e: np.abs(10 * e.X).astype(np.uint8), WORKS, "",
     lambda e: np.abs(10 * e.X).astype(np.uint8) * 1.0, "", ()),
    ("integer backend array", lambda e: e.arr((10 * e.X).astype(np.int64)), WORKS, "",
     lambda e: (10 * e.X).astype(np.int64) * 1.0, "", ()),
    ("float16", lambda e: e.X.astype(np.float16), WORKS, "", lambda e: e.X.astype(np.float16) * 1.0, "", ()),
    ("float64 backend array into float32", lambda e: e.arr(e.X), WORKS, "", lambda e: e.X, "", ()),
    ("read-only", lambda e: _read_only(e.X), WORKS, "", lambda e: e.X, "", ()),
    ("read-only float32", lambda e: _read_only(e.X.astype(np.float32)), WORKS, "",
     lambda e: e.X.astype(np.float32), FIX_READ_ONLY, ()),
    ("non-contiguous", lambda e: _strided(e.X), WORKS, "", lambda e: e.X, "", ()),
    ("negative strides", lambda e: e.X[:, ::-1], WORKS, "", lambda e: e.X[:, ::-1].copy(), "", ()),
    ("Fortran order", lambda e: np.asfortranarray(e.X), WORKS, "", lambda e: e.X, "", ()),
    ("read-only non-contiguous Fortran", lambda e: _read_only(np.asfortranarray(_strided(e.X))), WORKS, "",
     lambda e: e.X, "", ()),
    ("non-contiguous backend array", lambda e: e.arr(np.repeat(e.X, 2, axis=1))[:, ::2], WORKS, "",
     lambda e: e.X, "", ()),
    # huge but representable: the network saturates, outputs and gradients stay finite
    ("1e30 in float32", lambda e: e.X * 1e30, WORKS, "", None, "", ()),
    ("2**62 as int64", lambda e: np.full((6, 4), 2**62, dtype=np.int64), WORKS, "", None, "", ()),
]

# Every entry point that takes X: (name, call(env, X)). The classifier's y is valid, so X is what is judged.
X_ENTRIES: dict[str, Callable] = {
    "MLP.forward": lambda e, X: e.clf().forward(X),
    "MLP.predict": lambda e, X: e.clf().predict(X),
    "MLP.backward": lambda e, X: e.clf().backward(X, e.y),
    "MLP.loss_value": lambda e, X: e.clf().loss_value(X, e.y),
    "MLP.score": lambda e, X: e.clf().score(X, e.y),
    "MLP.fit": lambda e, X: e.fit(e.clf(), X),
    "MLP.fit(validation_data)": lambda e, X: e.fit(e.clf(), validation_data=(X, e.y)),
}
# WORKS cases compare three entry points with the clean input (forward, score and loss_value share predict's
# and backward's checks).
X_WORKS_ENTRIES = ("MLP.predict", "MLP.backward", "MLP.fit")


def _x_cases() -> list[Case]:
    cases = []
    for bad, value, expect, regex, clean, fixed, only in X_VALUES:
        for entry, call in X_ENTRIES.items():
            argument = "validation_data[0]" if "validation_data" in entry else "X"
            if expect is WORKS and entry not in X_WORKS_ENTRIES:
                continue
            if expect is WORKS:
                check = finite if clean is None else same_as(lambda e, c=call, k=clean: c(e, k(e)))
            else:
                check = None
            cases.append(Case(entry, argument, bad, lambda e, c=call, v=value: c(e, v(e)), expect, regex, check,
                              fixed=fixed, only=only))
    return cases


def _labels(values, dtype=None):
    return lambda e: np.asarray(values, dtype=dtype)


Y_VALUES: list[tuple] = [
    ("too few rows", lambda e: e.y[:5], ValueError, r"has 5 rows but `X` has 6", None, "", ()),
    ("scalar", lambda e: 1, ValueError, r"must be 1-D or 2-D, got shape \(\)", None, "", ()),
    ("3-D", lambda e: e.y[:, None, None], ValueError, r"must be 1-D or 2-D", None, "", ()),
    ("wrong width", lambda e: np.zeros((6, 2)), ValueError, r"has 2 columns but the network has 3 outputs", None,
     "", ()),
    ("NaN", lambda e: np.where(e.y == 1, np.nan, e.y), ValueError, r"contains NaN or infinite values", None, "",
     ()),
    ("inf", lambda e: np.where(e.y == 1, np.inf, e.y), ValueError, r"contains NaN or infinite values", None, "",
     ()),
    ("label = number of classes", _labels([0, 1, 3, 0, 1, 2]), ValueError,
     r"holds class labels from 0 to 3; expected labels in \[0, 3\)", None, "", ()),
    ("negative label", _labels([0, -1, 2, 0, 1, 2]), ValueError, r"labels in \[0, 3\)", None, "", ()),
    ("uint8 label 255", _labels([0, 255, 2, 0, 1, 2], np.uint8), ValueError, r"from 0 to 255", None, "", ()),
    ("huge int64 label", _labels([0, 2**62, 2, 0, 1, 2]), ValueError, r"labels in \[0, 3\)", None, "", ()),
    ("non-integer label", _labels([0, 0.5, 2, 0, 1, 2]), ValueError, r"must be whole numbers", None, "", ()),
    ("strings", lambda e: np.array(list("abcabc")), TypeError, r"must hold real numbers", None, "", ()),
    ("complex", lambda e: e.y + 0j, TypeError, r"must hold real numbers", None, "", ()),
    ("None", lambda e: None, TypeError, r"must hold real numbers", None, "", ()),
    ("another backend's array", lambda e: e.foreign(e.y), TypeError, r"is a \w+ array but this network runs on",
     None, "", ()),
    ("another device", lambda e: e.elsewhere(e.y), ValueError, r"is on device", None, "",
     ("array_api_strict", "array_api_strict-device1")),
    ("one-hot rows beyond [0, 1]", lambda e: 2 * np.eye(3)[e.y], ValueError, r"must lie in \[0, 1\]", None, "",
     ()),
    ("bool labels", lambda e: e.y > 0, WORKS, "", lambda e: (e.y > 0).astype(int), FIX_BOOL, ()),
    ("bool backend labels", lambda e: e.arr(e.y > 0), WORKS, "", lambda e: (e.y > 0).astype(int), FIX_BOOL, ()),
    ("object array of labels", lambda e: e.y.astype(object), WORKS, "", lambda e: e.y, FIX_OBJECT, ()),
    ("float labels", lambda e: e.y.astype(float), WORKS, "", lambda e: e.y, "", ()),
    ("int8 labels", lambda e: e.y.astype(np.int8), WORKS, "", lambda e: e.y, "", ()),
    ("uint8 labels", lambda e: e.y.astype(np.uint8), WORKS, "", lambda e: e.y, "", ()),
    ("a list", lambda e: e.y.tolist(), WORKS, "", lambda e: e.y, "", ()),
    ("one-hot rows", lambda e: np.eye(3)[e.y], WORKS, "", lambda e: e.y, "", ()),
    ("backend labels", lambda e: e.arr(e.y), WORKS, "", lambda e: e.y, "", ()),
    ("read-only", lambda e: _read_only(e.y), WORKS, "", lambda e: e.y, FIX_READ_ONLY, ()),
    ("non-contiguous", lambda e: _strided_rows(e.y), WORKS, "", lambda e: e.y, "", ()),
    ("Fortran-order one-hot rows", lambda e: np.asfortranarray(np.eye(3)[e.y]), WORKS, "", lambda e: e.y, "", ()),
]
Y_ENTRIES: dict[str, Callable] = {
    "MLP.backward": lambda e, y: e.clf().backward(e.X, y),
    "MLP.loss_value": lambda e, y: e.clf().loss_value(e.X, y),
    "MLP.score": lambda e, y: e.clf().score(e.X, y),
    "MLP.fit": lambda e, y: e.fit(e.clf(), y=y),
    "MLP.fit(validation_data)": lambda e, y: e.fit(e.clf(), validation_data=(e.X, y)),
}
Y_WORKS_ENTRIES = ("MLP.backward", "MLP.fit")


def _y_cases() -> list[Case]:
    cases = []
    for bad, value, expect, regex, clean, fixed, only in Y_VALUES:
        for entry, call in Y_ENTRIES.items():
            if expect is WORKS and entry not in Y_WORKS_ENTRIES:
                continue
            argument = "validation_data[1]" if "validation_data" in entry else "y"
            regex_here = regex.replace("`X`", re.escape("`validation_data[0]`")) if argument != "y" else regex
            check = same_as(lambda e, c=call, k=clean: c(e, k(e))) if expect is WORKS else None
            cases.append(Case(entry, argument, bad, lambda e, c=call, v=value: c(e, v(e)), expect, regex_here,
                              check, fixed=fixed, only=only))
    return cases


def _many_classes(n_classes: int):
    def net(e: Env):
        return e.b.mlp([4, 3, n_classes], output="softmax", loss="cross_entropy", random_state=0, hidden="sigmoid")
    return net


TARGET_CASES = [
    Case("MLP.loss_value", "y", "uint8 labels, 300 classes",
         lambda e: _many_classes(300)(e).loss_value(e.X, np.array([5, 1, 2, 0, 1, 255], dtype=np.uint8)), WORKS,
         check=same_as(lambda e: _many_classes(300)(e).loss_value(e.X, np.array([5, 1, 2, 0, 1, 255]))),
         fixed=FIX_ONE_HOT, jax=False),
    Case("MLP.loss_value", "y", "int8 labels, 200 classes",
         lambda e: _many_classes(200)(e).loss_value(e.X, np.array([5, 1, 127, 0, 1, 2], dtype=np.int8)), WORKS,
         check=same_as(lambda e: _many_classes(200)(e).loss_value(e.X, np.array([5, 1, 127, 0, 1, 2]))),
         jax=False),
    Case("MLP.fit", "y", "bool labels of a binary classifier", lambda e: e.fit(e.binary(), y=e.y > 0), WORKS,
         check=same_as(lambda e: e.fit(e.binary(), y=(e.y > 0) * 1.0)), fixed=FIX_BOOL, jax=False),
    Case("MLP.fit", "y", "beyond [0, 1] for binary_cross_entropy", lambda e: e.fit(e.binary(), y=2.0 * e.y),
         ValueError, r"must lie in \[0, 1\] for loss 'binary_cross_entropy'"),
    Case("MLP.fit", "y", "1-D for two outputs", lambda e: e.fit(e.reg(2), y=e.r), ValueError,
         r"has shape \(6,\) but the network has 2 outputs"),
    Case("MLP.fit", "y", "float64 beyond float32", lambda e: e.fit(e.reg(), y=e.r * 1e39), ValueError,
         r"exceeds the float32 range", fixed=FIX_FLOAT32),
    Case("MLP.score", "y", "float64 backend array beyond float32", lambda e: e.reg().score(e.X, e.arr(e.r * 1e39)),
         ValueError, r"exceeds the float32 range", fixed=FIX_FLOAT32),
    Case("MLP.loss_value", "y", "1e30 in float32 with loss 'mse'", lambda e: e.reg().loss_value(e.X, e.r * 1e30),
         ValueError, r"too large for loss 'mse' in float32: their squares overflow", fixed=FIX_MSE),
    Case("MLP.score", "y", "1e30 in float32 with loss 'mse'", lambda e: e.reg().score(e.X, e.r * 1e30),
         ValueError, r"too large for loss 'mse'", fixed=FIX_MSE),
    Case("MLP.loss_value", "y", "1e30 in float64 with loss 'mse'",
         lambda e: e.reg(dtype="float64").loss_value(e.X, e.r * 1e30), WORKS, check=finite, jax=False),
    Case("MLP.loss_value", "y", "2**62 as int64 with loss 'mse'",
         lambda e: e.reg().loss_value(e.X, np.full(6, 2**62)), WORKS, check=finite),
    Case("MLP.score", "y", "a zero-variance target", lambda e: e.reg().score(e.X, np.full(6, 0.1)), WORKS,
         check=lambda e, score: score == 0.0,
         fixed="R² of a constant target was -1e+30 on JAX: constancy tested exactly (metrics.r2)"),
    Case("MLP.fit", "X", "a zero-variance column", lambda e: e.fit(e.reg(), np.where([1, 0, 1, 1], e.X, 1e-3), e.r),
         WORKS, check=finite, jax=False),
]


def _described(value) -> str:
    """``repr(value)`` for a test id, without the object addresses that differ between processes (xdist)."""
    return re.sub(r" at 0x[0-9a-fA-F]+", "", repr(value))[:40]


def _option(name: str, value, expect, regex: str = "", *, check=None, pending: str = "", fixed: str = "",
            bad: str = "", jax: bool = True, **others) -> Case:
    """A case of ``MLP.fit`` with one option set to ``value`` (and ``others`` alongside)."""
    return Case("MLP.fit", name, bad or _described(value), lambda e: e.fit(e.clf(), **{name: value, **others}),
                expect, regex, check, pending=pending, fixed=fixed, jax=jax)


def _fit_like(**options) -> Callable[[Env], Any]:
    return lambda e: e.fit(e.clf(), **options)


FIXED_FIT = "MLP.fit checks `{}` before training (it did not)"

FIT_OPTION_CASES = [
    _option("epochs", 0, ValueError, r"must be a positive integer, got 0"),
    _option("epochs", -1, ValueError, r"must be a positive integer"),
    _option("epochs", 2.5, TypeError, r"must be a positive integer, got 2.5 \(float\)"),
    _option("epochs", "3", TypeError, r"must be a positive integer"),
    _option("epochs", None, TypeError, r"must be a positive integer"),
    _option("epochs", True, TypeError, r"must be a positive integer"),
    _option("epochs", np.int64(1), WORKS, check=same_as(_fit_like())),
    _option("learning_rate", 0.0, ValueError, r"must be a positive finite number"),
    _option("learning_rate", -0.1, ValueError, r"must be a positive finite number"),
    _option("learning_rate", float("nan"), ValueError, r"must be a positive finite number, got nan"),
    _option("learning_rate", float("inf"), ValueError, r"must be a positive finite number, got inf"),
    _option("learning_rate", "fast", TypeError, r"must be a positive number"),
    # None: the optimizer's default η (0.1 for SGD, bpxp.defaults)
    _option("learning_rate", None, WORKS, check=same_as(_fit_like(learning_rate=0.1))),
    _option("batch_size", "auto", WORKS, check=same_as(_fit_like(batch_size=32))),
    _option("learning_rate", True, TypeError, r"must be a positive number"),
    _option("learning_rate", np.float64(0.1), WORKS, check=same_as(_fit_like())),
    _option("batch_size", 0, ValueError, r"must be a positive integer"),
    _option("batch_size", -2, ValueError, r"must be a positive integer"),
    _option("batch_size", 1.5, TypeError, r"must be a positive integer"),
    _option("batch_size", "8", TypeError, r"must be a positive integer"),
    _option("batch_size", True, TypeError, r"must be a positive integer"),
    _option("batch_size", 100, WORKS, check=same_as(_fit_like(batch_size=None))),
    _option("batch_size", np.int64(2), WORKS, check=same_as(_fit_like(batch_size=2, random_state=0)),
            random_state=0, jax=False),
    _option("optimizer", "lbfgs", ValueError, r"must be one of \['sgd', 'momentum', 'nesterov', 'adam'\]"),
    _option("optimizer", 3, ValueError, r"must be one of"),
    _option("optimizer", None, ValueError, r"must be one of"),
    _option("optimizer", optimizers.Adam, ValueError, r"must be one of .* or a bpxp.optimizers.Optimizer"),
    _option("optimizer", optimizers.Adam(), WORKS, check=same_as(_fit_like(optimizer="adam")), jax=False),
    _option("shuffle", "yes", TypeError, r"must be True or False, got 'yes'"),
    _option("shuffle", None, TypeError, r"must be True or False"),
    _option("shuffle", 1, TypeError, r"must be True or False"),
    _option("validation_data", "abc", TypeError, r"must be a pair \(X_val, y_val\), got str"),
    _option("validation_data", (np.ones((2, 4)),), TypeError, r"must be a pair", bad="X_val alone"),
    _option("validation_data", (np.ones((2, 4)), np.ones(2), np.ones(2)), TypeError, r"must be a pair",
            bad="a triple"),
    _option("validation_data", np.ones((2, 4)), TypeError, r"must be a pair .* got ndarray", bad="an array"),
    _option("early_stopping", 0, ValueError, r"must be a positive integer"),
    _option("early_stopping", 1.5, TypeError, r"must be a positive integer"),
    _option("early_stopping", True, TypeError, r"must be a positive integer"),
    _option("early_stopping", 2, ValueError, r"needs `validation_data`"),
    Case("MLP.fit", "random_state", "a Generator", lambda e: e.fit(e.clf(), batch_size=2,
                                                                  random_state=np.random.default_rng(0)),
         WORKS, check=same_as(_fit_like(batch_size=2, random_state=0)), jax=False),
    _option("random_state", "abc", TypeError, r"must be None, an integer",
            fixed=FIXED_FIT.format("random_state"), batch_size=2),
    _option("random_state", -1, ValueError, r"must be None, an integer", fixed=FIXED_FIT.format("random_state"),
            batch_size=2),
    _option("callback", 3, TypeError, r"must be callable"),
    _option("callback", "print", TypeError, r"must be callable"),
    _option("callback", lambda epoch, history: None, WORKS, check=same_as(_fit_like())),
    _option("l2", -1.0, ValueError, r"must be a positive finite number"),
    _option("l2", float("nan"), ValueError, r"must be a positive finite number"),
    _option("l2", float("inf"), ValueError, r"must be a positive finite number"),
    _option("l2", "a", TypeError, r"must be a positive number"),
    _option("l2", None, TypeError, r"must be a positive number"),
    _option("l2", True, TypeError, r"must be a positive number"),
    _option("l2", np.float64(0.0), WORKS, check=same_as(_fit_like())),
    _option("optimizer_state", (), ValueError, r"does not match", fixed=FIXED_FIT.format("optimizer_state"),
            optimizer="adam"),
    _option("optimizer_state", "abc", TypeError, r"must be a tuple of arrays",
            fixed=FIXED_FIT.format("optimizer_state"),
            optimizer="momentum"),
    _option("verbose", "yes", TypeError, r"must be True or False", fixed=FIXED_FIT.format("verbose")),
    _option("verbose", False, WORKS, check=same_as(_fit_like())),
    _option("clip_norm", 0.0, ValueError, r"must be a positive finite number"),
    _option("clip_norm", "1", TypeError, r"must be a positive number"),
    _option("clip_norm", float("nan"), ValueError, r"must be a positive finite number"),
    _option("on_divergence", "ignore", ValueError, r"must be one of"),
    _option("on_divergence", None, ValueError, r"must be one of"),
    _option("snapshot", "yes", TypeError, r"must be True or False"),
    _option("checkpoint_every", 0, ValueError, r"must be a positive integer"),
    _option("checkpoint", 3, TypeError, r"must be a file path"),
    _option("resume", "/no/such/checkpoint.npz", FileNotFoundError, r"no checkpoint at"),
]


def _continued(e: Env, state_from: str, optimizer: str):
    net = e.clf()
    e.fit(net, optimizer=state_from)
    return e.fit(net, optimizer=optimizer, optimizer_state=net.optimizer_state_)


FIT_OPTION_CASES += [
    Case("MLP.fit", "optimizer_state", "another optimizer's state", lambda e: _continued(e, "adam", "momentum"),
         ValueError, r"does not match", fixed=FIXED_FIT.format("optimizer_state"), jax=False),
    Case("MLP.fit", "optimizer_state", "the state of an earlier fit", lambda e: _continued(e, "adam", "adam"),
         WORKS, check=finite, jax=False),
]

W0, W1 = np.linspace(-1, 1, 12).reshape(4, 3), np.linspace(-1, 1, 6).reshape(3, 2)
B0, B1 = np.zeros(3), np.ones(2)


def _weights(*weights, biases=None, **options) -> Callable[[Env], Any]:
    return lambda e: e.b.from_weights(list(weights) if weights else [W0, W1], biases, **options).weights


def _from_weights(bad: str, weights, expect, regex="", *, argument="weights", biases=None, check=None, fixed="",
                  only=(), **options) -> Case:
    """A case of ``MLP.from_weights``; ``weights``/``biases`` may be functions of the env (backend arrays)."""
    def call(e: Env):
        ws = weights(e) if callable(weights) else weights
        bs = biases(e) if callable(biases) else biases
        placed = "backend" in options or "device" in options  # named here instead of by the backend under test
        net = (bpxp.MLP.from_weights if placed else e.b.from_weights)(ws, bs, **options)
        return [*net.weights, *(net.biases or ())]
    return Case("MLP.from_weights", argument, bad, call, expect, regex, check, fixed=fixed, only=only)


def _reference_weights(e: Env, **options):
    net = e.b.from_weights([W0, W1], [B0, B1], **options)
    return [*net.weights, *net.biases]


NON_NUMPY = ("array_api_strict", "array_api_strict-device1", "torch", "jax", "cupy")

FROM_WEIGHTS_CASES = [
    _from_weights("a string", "abc", TypeError, r"must be a non-empty list of 2-D arrays, got str"),
    _from_weights("an empty list", [], TypeError, r"must be a non-empty list"),
    _from_weights("one array, not a list", W0, TypeError, r"must be a non-empty list of 2-D arrays, got ndarray"),
    _from_weights("None", None, TypeError, r"must be a non-empty list"),
    _from_weights("1-D", [np.ones(4)], ValueError, r"`weights\[0\]` must be 2-D", argument="weights[0]"),
    _from_weights("layers that do not chain", [W0, np.ones((2, 2))], ValueError,
                  r"`weights\[1\]` has 2 rows but `weights\[0\]` has 3 columns", argument="weights[1]"),
    _from_weights("NaN", [_with(W0, 1, 1, np.nan), W1], ValueError, r"contains NaN", argument="weights[0]"),
    _from_weights("strings", [np.full((4, 3), "w"), W1], TypeError, r"must hold real numbers",
                  argument="weights[0]"),
    _from_weights("complex", [W0 + 1j, W1], TypeError, r"must hold real numbers", argument="weights[0]"),
    _from_weights("ragged", [[[1.0, 2.0], [3.0]]], ValueError, r"must be a rectangular array",
                  argument="weights[0]"),
    _from_weights("beyond float32", [W0 * 1e39, W1], ValueError, r"exceeds the float32 range",
                  argument="weights[0]", fixed=FIX_FLOAT32, dtype="float32"),
    _from_weights("two backends", lambda e: [e.arr(W0), e.foreign(W1)], TypeError,
                  r"`weights` and `biases` mix arrays of backends", only=NON_NUMPY),
    _from_weights("another device", lambda e: [e.elsewhere(W0), e.elsewhere(W1)], ValueError, r"is on device",
                  argument="weights[0]", only=("array_api_strict-device1",)),
    _from_weights("a string", [W0, W1], ValueError, r"must be None or a list of 2 arrays", argument="biases",
                  biases="abc"),
    _from_weights("one too few", [W0, W1], ValueError, r"must be None or a list of 2 arrays", argument="biases",
                  biases=[B0]),
    _from_weights("wrong shape", [W0, W1], ValueError, r"`biases\[0\]` has shape \(2,\), expected \(3,\)",
                  argument="biases[0]", biases=[B1, B1]),
    _from_weights("NaN", [W0, W1], ValueError, r"`biases\[1\]` contains NaN", argument="biases[1]",
                  biases=[B0, np.array([0.0, np.nan])]),
    _from_weights("bogus", [W0, W1], ValueError, r"must be one of", argument="hidden", hidden="bogus"),
    _from_weights("cross_entropy with sigmoid", [W0, W1], ValueError, r"needs `output` 'softmax'",
                  argument="loss", loss="cross_entropy"),
    _from_weights("float16", [W0, W1], ValueError, r"must be one of \['float32', 'float64'\]", argument="dtype",
                  dtype="float16"),
    _from_weights("bogus", [W0, W1], ValueError, r"must be one of", argument="backend", backend="bogus"),
    _from_weights("bogus", [W0, W1], ValueError, r"must be one of", argument="device", device="tpu:7"),
    _from_weights("bool", lambda e: [W0 > 0, W1 > 0], WORKS, biases=[B0, B1], fixed=FIX_BOOL,
                  check=same_as(lambda e: [*e.b.from_weights([(W0 > 0) * 1.0, (W1 > 0) * 1.0], [B0, B1]).weights,
                                           B0, B1])),
    _from_weights("integers and lists", [W0.round().astype(int), W1.round().tolist()], WORKS, biases=[B0, B1],
                  check=same_as(lambda e: [*e.b.from_weights([W0.round(), W1.round()], [B0, B1]).weights, B0, B1])),
    _from_weights("read-only, non-contiguous and Fortran order", [_read_only(_strided(W0)), np.asfortranarray(W1)],
                  WORKS, biases=[_read_only(B0), _strided(B1)], check=same_as(_reference_weights)),
    _from_weights("a tuple of backend arrays", lambda e: (e.arr(W0), e.arr(W1)), WORKS,
                  biases=lambda e: (e.arr(B0), e.arr(B1)), check=same_as(_reference_weights)),
]

ARRAY_CASES = _x_cases() + _y_cases() + TARGET_CASES + FIT_OPTION_CASES + FROM_WEIGHTS_CASES


# -- entry points without arrays: run once, in the numpy session ---------------------------------------------
def _mlp(argument: str, value, expect, regex="", *, check=None, pending="", fixed="", **others) -> Case:
    seeds = {"hidden": "sigmoid", "output": "sigmoid", "loss": "mse"}  # the seeds' settings, explicitly
    if argument == "layer_sizes":
        call = lambda e: bpxp.MLP(value, **seeds, **others)  # noqa: E731
    else:
        call = lambda e: bpxp.MLP([4, 3, 2], **{**seeds, argument: value, **others})  # noqa: E731
    return Case("bpxp.MLP", argument, _described(value), call, expect, regex, check, pending=pending, fixed=fixed)


FIXED_MODEL = "mlp.py: {} (fixed)"

CONSTRUCTOR_CASES = [
    _mlp("layer_sizes", "abc", TypeError, r"must be a sequence of positive integers"),
    _mlp("layer_sizes", 4, TypeError, r"must be a sequence of positive integers"),
    _mlp("layer_sizes", None, TypeError, r"must be a sequence"),
    _mlp("layer_sizes", [4], ValueError, r"needs at least an input and an output size"),
    _mlp("layer_sizes", [4, 0, 3], ValueError, r"must hold positive integers, got \[4, 0, 3\]"),
    _mlp("layer_sizes", [4, -1], ValueError, r"must hold positive integers"),
    _mlp("layer_sizes", [4, 2.5], ValueError, r"must hold positive integers"),
    _mlp("layer_sizes", [4, True], ValueError, r"must hold positive integers"),
    _mlp("layer_sizes", [4, np.int64(3)], WORKS, check=lambda e, net: net.layer_sizes == (4, 3)),
    _mlp("layer_sizes", np.array([4, 3]), WORKS, check=lambda e, net: net.layer_sizes == (4, 3),
         fixed=FIXED_MODEL.format("_check_layer_sizes refuses a NumPy array of sizes (not a Sequence)")),
    _mlp("hidden", "softmax", ValueError, r"softmax is for the output layer only"),
    _mlp("hidden", None, ValueError, r"must be one of"),
    _mlp("hidden", 3, ValueError, r"must be one of"),
    _mlp("output", "bogus", ValueError, r"must be one of"),
    Case("bpxp.MLP", "output", "softmax with one unit",
         lambda e: bpxp.MLP([4, 1], output="softmax", loss="cross_entropy", hidden="sigmoid"), ValueError,
         r"'softmax' needs at least 2 output units"),
    _mlp("loss", "cross_entropy", ValueError, r"needs `output` 'softmax'"),
    _mlp("loss", None, WORKS, check=lambda e, net: net.loss == "binary_cross_entropy"),  # None: follows output
    _mlp("bias", "yes", TypeError, r"must be True or False"),
    _mlp("bias", 1, TypeError, r"must be True or False"),
    _mlp("bias", None, TypeError, r"must be True or False"),
    _mlp("dtype", "float16", ValueError, r"must be one of \['float32', 'float64'\]"),
    _mlp("dtype", "int32", ValueError, r"must be one of"),
    _mlp("dtype", None, ValueError, r"must be one of"),
    _mlp("dtype", np.float64, WORKS, check=lambda e, net: net.dtype_name == "float64"),
    _mlp("backend", "NumPy", ValueError, r"must be one of \['numpy',"),
    _mlp("backend", None, ValueError, r"must be one of"),
    _mlp("backend", 3, ValueError, r"must be one of"),
    _mlp("device", "cuda:7", ValueError, r"must be one of \['cpu'\] for backend 'numpy'"),
    _mlp("device", 3, ValueError, r"must be one of"),
    _mlp("device", object(), ValueError, r"must be one of"),
    _mlp("random_state", "abc", TypeError, r"must be None, an integer",
         fixed=FIXED_MODEL.format("MLP.__init__ lets NumPy's SeedSequence error through")),
    _mlp("random_state", -1, ValueError, r"must be None, an integer", fixed=FIXED_MODEL.format(
        "MLP.__init__ lets NumPy's SeedSequence error through")),
    _mlp("random_state", 1.5, TypeError, r"must be None, an integer", fixed=FIXED_MODEL.format(
        "MLP.__init__ lets NumPy's SeedSequence error through")),
    Case("bpxp.MLP", "random_state", "a Generator",
         lambda e: bpxp.MLP([4, 3, 2], random_state=np.random.default_rng(0), hidden="sigmoid", output="sigmoid",
                            loss="mse"),
         WORKS, check=lambda e, net: all(np.array_equal(a, b) for a, b in zip(net.weights, bpxp.MLP(
             [4, 3, 2], random_state=0, hidden="sigmoid", output="sigmoid", loss="mse").weights))),
    _mlp("random_state", np.int64(0), WORKS,
         check=lambda e, net: all(np.array_equal(a, b) for a, b in zip(net.weights, bpxp.MLP(
             [4, 3, 2], random_state=0, hidden="sigmoid", output="sigmoid", loss="mse").weights))),
]


def _checkpoint(e: Env, name: str, *, metadata=None, drop=(), arrays=None, raw: bytes | None = None) -> Path:
    """A file for ``bpxp.load``: a good checkpoint, edited (metadata replaced, arrays dropped or added)."""
    path = e.tmp / name
    if raw is not None:
        path.write_bytes(raw)
        return path
    good = bpxp.MLP([4, 3, 2], random_state=0,
                    hidden="sigmoid", output="sigmoid", loss="mse").save(e.tmp / f"good-{name}")
    with np.load(good) as archive:
        contents = {k: archive[k] for k in archive.files if k not in drop}
    if metadata is not None:
        meta = json.loads(str(contents["metadata"]))
        contents["metadata"] = np.array(metadata(meta) if callable(metadata) else metadata)
    contents.update(arrays or {})
    with open(path, "wb") as file:
        np.savez(file, **contents)
    return path


def _load(bad: str, make: Callable[[Env], Any], expect, regex="", *, argument="path", names=None, pending="",
          fixed="", check=None, **options) -> Case:
    return Case("bpxp.load", argument, bad, lambda e: bpxp.load(make(e), **options), expect, regex, check,
                names=names, pending=pending, fixed=fixed)


FIXED_CHECKPOINT = "checkpoint.read {} (fixed)"


def _truncated(e: Env) -> Path:
    good = bpxp.MLP([4, 3, 2], random_state=0, hidden="sigmoid", output="sigmoid", loss="mse").save(e.tmp / "whole.npz")
    return _checkpoint(e, "truncated.npz", raw=good.read_bytes()[:300])


def _zip_without_metadata(e: Env) -> Path:
    path = e.tmp / "plain.npz"
    with open(path, "wb") as file:
        np.savez(file, weights_0=np.ones((2, 2)))
    return path


LOAD_CASES = [
    _load("None", lambda e: None, TypeError, r"must be a str or os.PathLike",
          fixed=FIXED_CHECKPOINT.format("lets pathlib's TypeError through for a non-path")),
    _load("an int", lambda e: 3, TypeError, r"must be a str or os.PathLike",
          fixed=FIXED_CHECKPOINT.format("lets pathlib's TypeError through for a non-path")),
    _load("missing", lambda e: e.tmp / "missing.npz", FileNotFoundError, r"no checkpoint at", names=r"missing\.npz"),
    _load("a folder", lambda e: e.tmp, FileNotFoundError, r"no checkpoint at", names=r"'/"),
    _load("text", lambda e: _checkpoint(e, "text.npz", raw=b"not a checkpoint"), ValueError,
          r"is not a readable bpxp checkpoint", names=r"text\.npz"),
    _load("truncated", _truncated, ValueError, r"not a readable bpxp checkpoint \(truncated or corrupt\?\)",
          names=r"truncated\.npz"),
    _load("no metadata", _zip_without_metadata, ValueError, r"not a bpxp checkpoint: it has no 'metadata'",
          names=r"plain\.npz"),
    _load("metadata not JSON", lambda e: _checkpoint(e, "json.npz", metadata="{oops"), ValueError,
          r"has corrupt metadata", names=r"json\.npz"),
    _load("another format", lambda e: _checkpoint(e, "format.npz", metadata=lambda m: json.dumps({**m, "format": "x"})),
          ValueError, r"is not a bpxp checkpoint \(format 'x'\)", names=r"format\.npz"),
    _load("a newer format", lambda e: _checkpoint(
        e, "newer.npz", metadata=lambda m: json.dumps({**m, "format_version": 99})), ValueError,
        r"was written by a newer bpxp", names=r"newer\.npz"),
    _load("a missing weight array", lambda e: _checkpoint(e, "missing-w.npz", drop=("weights_1",)), ValueError,
          r"is incomplete: missing \['weights_1'\]", names=r"missing-w\.npz"),
    _load("NaN weights", lambda e: _checkpoint(e, "nan.npz", arrays={"weights_0": np.full((4, 3), np.nan)}),
          ValueError, r"contains NaN", argument="weights[0]"),
    _load("metadata without 'hidden'", lambda e: _checkpoint(
        e, "nohidden.npz", metadata=lambda m: json.dumps({k: v for k, v in m.items() if k != "hidden"})),
        ValueError, r"is incomplete: its metadata lacks \['hidden'\]", names=r"nohidden\.npz",
        fixed=FIXED_CHECKPOINT.format("raises KeyError for metadata without a required key")),
    _load("metadata a JSON list", lambda e: _checkpoint(e, "list.npz", metadata="[1, 2]"), ValueError,
          r"not a bpxp checkpoint", names=r"list\.npz",
          fixed=FIXED_CHECKPOINT.format("raises AttributeError for metadata that is not a JSON object")),
    _load("bogus", lambda e: _checkpoint(e, "b.npz"), ValueError, r"must be one of", argument="backend",
          backend="bogus"),
    _load("float16", lambda e: _checkpoint(e, "d.npz"), ValueError, r"must be one of", argument="dtype",
          dtype="float16"),
    _load("tpu:7", lambda e: _checkpoint(e, "v.npz"), ValueError, r"must be one of", argument="device",
          device="tpu:7"),
    _load("float64, asked for", lambda e: str(_checkpoint(e, "f.npz")), WORKS, argument="dtype", dtype="float64",
          check=lambda e, net: net.dtype_name == "float64" and net.layer_sizes == (4, 3, 2)),
]


# -- the estimators ------------------------------------------------------------------------------------------
def _classifier(**options):
    from bpxp.sklearn import MLPClassifier

    return MLPClassifier(**{"hidden_layer_sizes": (3,), "max_iter": 2, "random_state": 0, **options})


def _regressor(**options):
    from bpxp.sklearn import MLPRegressor

    return MLPRegressor(**{"hidden_layer_sizes": (3,), "max_iter": 2, "random_state": 0, **options})


FIX_ESTIMATOR = "estimator options checked for type and finiteness (sklearn._BaseMLP._check_parameters)"


def _estimator_option(name: str, value, expect=ValueError, regex="", *, fixed="", make=_classifier) -> Case:
    return Case(f"{make.__name__.strip('_').title()}.fit", name, _described(value),
                lambda e: make(**{name: value}).fit(e.X, e.y), expect, regex, fixed=fixed)


def _fitted(e: Env, make=_classifier, X=None, y=None):
    return make().fit(e.X if X is None else X, e.y if y is None else y)


SKLEARN_WORDING = r"\bX\b|Expected 2D array|Found array with|Complex data|could not convert"

ESTIMATOR_CASES = [
    _estimator_option("hidden_layer_sizes", None, regex=r"must hold positive integers, got None",
                      fixed="hidden_layer_sizes=None gave a TypeError from list() (sklearn._check_parameters)"),
    _estimator_option("hidden_layer_sizes", (0,), regex=r"must hold positive integers"),
    _estimator_option("hidden_layer_sizes", (True,), regex=r"must hold positive integers", fixed=FIX_ESTIMATOR),
    _estimator_option("hidden_layer_sizes", "abc", regex=r"must hold positive integers"),
    _estimator_option("activation", "softmax", regex=r"must be one of"),
    _estimator_option("solver", "newton", regex=r"must be one of \['adam', 'sgd', 'lbfgs'\]"),
    _estimator_option("learning_rate_init", 0.0, regex=r"must be a positive"),
    _estimator_option("learning_rate_init", float("inf"), regex=r"positive finite", fixed=FIX_ESTIMATOR),
    _estimator_option("learning_rate_init", "a", regex=r"must be a positive"),
    _estimator_option("learning_rate_init", True, regex=r"must be a positive", fixed=FIX_ESTIMATOR),
    _estimator_option("alpha", -1.0, regex=r"must be a non-negative"),
    _estimator_option("alpha", float("nan"), regex=r"non-negative finite", fixed=FIX_ESTIMATOR),
    _estimator_option("tol", float("nan"), regex=r"non-negative finite", fixed=FIX_ESTIMATOR),
    _estimator_option("max_iter", 0, regex=r"must be a positive integer"),
    _estimator_option("max_iter", 2.5, regex=r"must be a positive integer"),
    _estimator_option("n_iter_no_change", 0, regex=r"must be a positive integer"),
    _estimator_option("momentum", 1.5, regex=r"must lie in \[0, 1\)"),
    _estimator_option("momentum", float("nan"), regex=r"must lie in \[0, 1\)"),
    _estimator_option("beta_1", 1.0, regex=r"must lie in \[0, 1\)"),
    _estimator_option("beta_2", -0.1, regex=r"must lie in \[0, 1\)"),
    _estimator_option("epsilon", 0.0, regex=r"must be a positive"),
    _estimator_option("epsilon", float("inf"), regex=r"positive finite", fixed=FIX_ESTIMATOR),
    _estimator_option("validation_fraction", 1.0, regex=r"must lie in \[0, 1\)"),
    _estimator_option("batch_size", 0, regex=r"must be 'auto' or a positive integer"),
    _estimator_option("batch_size", True, regex=r"must be 'auto' or a positive integer"),
    _estimator_option("shuffle", "yes", TypeError, r"must be True or False", fixed=FIX_ESTIMATOR),
    _estimator_option("verbose", "yes", TypeError, r"must be True, False or a non-negative integer",
                      fixed=FIX_ESTIMATOR),
    _estimator_option("early_stopping", "yes", TypeError, r"must be True or False", fixed=FIX_ESTIMATOR),
    _estimator_option("random_state", "abc", ValueError, r"must be None, an integer", fixed=FIX_ESTIMATOR),
    _estimator_option("random_state", -1, ValueError, r"must be None, an integer", fixed=FIX_ESTIMATOR),
    _estimator_option("backend", "bogus", regex=r"must be one of"),
    _estimator_option("dtype", "float16", regex=r"must be one of \['float32', 'float64'\]"),
    _estimator_option("device", "tpu:7", regex=r"must be one of"),
    _estimator_option("learning_rate_init", float("inf"), regex=r"positive finite", make=_regressor,
                      fixed=FIX_ESTIMATOR),
    _estimator_option("shuffle", None, TypeError, r"must be True or False", make=_regressor, fixed=FIX_ESTIMATOR),
    # host data: scikit-learn's checks and wording
    Case("MLPClassifier.fit", "X", "NaN", lambda e: _fitted(e, X=_with(e.X, 1, 1, np.nan)), ValueError,
         r"Input X contains NaN", names=SKLEARN_WORDING),
    Case("MLPClassifier.fit", "X", "1-D", lambda e: _fitted(e, X=e.X[:, 0]), ValueError, r"Expected 2D array",
         names=SKLEARN_WORDING),
    Case("MLPClassifier.fit", "X", "3-D", lambda e: _fitted(e, X=e.X[None]), ValueError, r"Found array with dim 3",
         names=SKLEARN_WORDING),
    Case("MLPClassifier.fit", "X", "no rows", lambda e: _fitted(e, X=e.X[:0], y=e.y[:0]), ValueError,
         r"Found array with 0 sample", names=SKLEARN_WORDING),
    Case("MLPClassifier.fit", "X", "complex", lambda e: _fitted(e, X=e.X + 1j), ValueError,
         r"Complex data not supported", names=SKLEARN_WORDING),
    Case("MLPClassifier.fit", "X", "strings", lambda e: _fitted(e, X=np.full((6, 4), "a")), ValueError,
         r"could not convert string to float", names=SKLEARN_WORDING),
    Case("MLPClassifier.fit", "X", "float64 beyond float32", lambda e: _classifier(dtype="float32").fit(
        e.X * 1e39, e.y), ValueError, r"exceeds the float32 range", fixed=FIX_FLOAT32),
    Case("MLPClassifier.fit", "y", "too few rows", lambda e: _fitted(e, y=e.y[:5]), ValueError,
         r"inconsistent numbers of samples: \[6, 5\]", names=r"input variables"),
    Case("MLPClassifier.fit", "y", "NaN", lambda e: _fitted(e, y=np.where(e.y == 1, np.nan, e.y)), ValueError,
         r"Input y contains NaN", names=r"\by\b"),
    Case("MLPClassifier.fit", "y", "continuous", lambda e: _fitted(e, y=e.r), ValueError,
         r"Unknown label type: continuous", names=r"label"),
    Case("MLPClassifier.fit", "y", "a single class (fits, as scikit-learn's)",
         lambda e: _fitted(e, y=np.zeros(6)).predict(e.X), WORKS, check=lambda e, labels: set(labels) == {0.0}),
    Case("MLPClassifier.partial_fit", "classes", "missing on the first call",
         lambda e: _classifier().partial_fit(e.X, e.y), ValueError, r"must be passed on the first call",
         fixed="the message names `classes` (sklearn.partial_fit)"),
    Case("MLPClassifier.partial_fit", "classes", "a single class (fits, as scikit-learn's)",
         lambda e: _classifier().partial_fit(e.X, np.zeros(6), classes=[0]).predict(e.X), WORKS,
         check=lambda e, labels: set(labels) == {0}),
    Case("MLPClassifier.partial_fit", "y", "labels outside `classes` on the first call",
         lambda e: _classifier().partial_fit(e.X, e.y, classes=[0, 1]), ValueError,
         r"has labels not in `classes` of the first fit: \[2\]",
         fixed="partial_fit added y's labels to `classes` silently (sklearn._encode_targets)"),
    Case("MLPClassifier.partial_fit", "y", "labels unseen by the first call",
         lambda e: _classifier().partial_fit(e.X, e.y, classes=[0, 1, 2]).partial_fit(e.X, e.y + 1), ValueError,
         r"has labels not .* first .*\[3\]"),
    Case("MLPClassifier.predict", "X", "too few columns", lambda e: _fitted(e).predict(e.X[:, :3]), ValueError,
         r"X has 3 features, but MLPClassifier is expecting 4 features", names=SKLEARN_WORDING),
    Case("MLPClassifier.predict", "X", "NaN", lambda e: _fitted(e).predict(_with(e.X, 0, 0, np.nan)), ValueError,
         r"Input X contains NaN", names=SKLEARN_WORDING),
    Case("MLPClassifier.predict", "X", "before fit", lambda e: _classifier().predict(e.X), ValueError,
         r"This MLPClassifier instance is not fitted yet", names=r"MLPClassifier"),
    Case("MLPClassifier.predict_proba", "X", "another backend's array than fit's",
         lambda e: _fitted(e).predict_proba(e.foreign(e.X)), ValueError,
         r"must use the same namespace and the same device as those passed to fit\(\)", names=r"convert X"),
    Case("MLPClassifier.score", "y", "labels never seen", lambda e: _fitted(e).score(e.X, e.y + 10), WORKS,
         check=lambda e, score: score == 0.0),
    Case("MLPClassifier.score", "y", "some labels never seen", lambda e: _fitted(e).score(e.X, np.where(
        e.y == 2, 7, e.y)), WORKS, check=lambda e, score: score == pytest.approx(
        np.mean(_fitted(e).predict(e.X) == np.where(e.y == 2, 7, e.y)))),
    Case("MLPClassifier.fit", "X", "bool, read-only, Fortran order", lambda e: _fitted(
        e, X=_read_only(np.asfortranarray(e.X > 0))).predict_proba(e.X), WORKS,
        check=same_as(lambda e: _fitted(e, X=(e.X > 0) * 1.0).predict_proba(e.X))),
    Case("MLPClassifier.fit", "y", "bool labels", lambda e: _fitted(e, y=e.y > 0).predict(e.X), WORKS,
         check=lambda e, labels: labels.dtype == bool and set(labels) <= {False, True}),
    Case("MLPClassifier.fit", "y", "string labels", lambda e: _fitted(e, y=np.array(list("abcabc"))).predict(e.X),
         WORKS, check=lambda e, labels: set(labels) <= set("abc")),
    Case("MLPRegressor.fit", "y", "strings", lambda e: _fitted(e, _regressor, y=np.array(list("abcabc"))),
         ValueError, r"must hold numbers for MLPRegressor, got <U1",
         fixed="the regressor's text y said 'could not convert string to float' (sklearn._encode_targets)"),
    Case("MLPRegressor.fit", "y", "float64 beyond float32", lambda e: _regressor(dtype="float32").fit(
        e.X, e.r * 1e39), ValueError, r"exceeds the float32 range",
        fixed="the regressor's y cast with a RuntimeWarning (sklearn._encode_targets, _inputs._narrowed)"),
    Case("MLPRegressor.fit", "y", "bool", lambda e: _fitted(e, _regressor, y=e.y > 0).predict(e.X), WORKS,
         check=same_as(lambda e: _fitted(e, _regressor, y=(e.y > 0) * 1.0).predict(e.X))),
    Case("MLPRegressor.fit", "y", "a zero-variance target", lambda e: _fitted(e, _regressor, y=np.full(6, 0.1)),
         WORKS, check=lambda e, reg: np.isfinite(reg.predict(e.X)).all() and reg.score(e.X, np.full(6, 0.1)) <= 1),
]

# The estimators with arrays of the backend under test: bpxp's own checks, and everything follows X.
ESTIMATOR_ARRAY_CASES = [
    Case("MLPClassifier.fit", "X", "NaN in a backend array", lambda e: _classifier(backend=e.b.name).fit(
        e.arr(_with(e.X, 1, 1, np.nan)), e.y), ValueError, r"contains NaN", only=NON_NUMPY, jax=False),
    Case("MLPClassifier.fit", "X", "1-D backend array", lambda e: _classifier().fit(e.arr(e.X[:, 0]), e.y),
         ValueError, r"must be 2-D", only=NON_NUMPY, jax=False),
    Case("MLPClassifier.fit", "y", "too few rows, X a backend array", lambda e: _classifier().fit(
        e.arr(e.X), e.y[:5]), ValueError, r"has 5 rows but `X` has 6", only=NON_NUMPY, jax=False),
    Case("MLPRegressor.fit", "y", "beyond float32, X a float32 backend array", lambda e: _regressor().fit(
        e.arr(e.X, "float32"), e.arr(e.r * 1e39)), ValueError, r"exceeds the float32 range", only=NON_NUMPY,
        fixed=FIX_FLOAT32, jax=False),
    Case("MLPClassifier.predict", "X", "too few columns, a backend array", lambda e: _fitted(
        e, X=e.arr(e.X)).predict(e.arr(e.X[:, :3])), ValueError, r"X has 3 features, but", names=r"\bX\b",
        only=NON_NUMPY, jax=False),
    Case("MLPClassifier.predict", "X", "host data after fitting on a backend", lambda e: _fitted(
        e, X=e.arr(e.X)).predict(e.X), ValueError, r"must use the same namespace", names=r"convert X",
        only=NON_NUMPY, jax=False),
    Case("MLPClassifier.fit", "y", "labels of another backend than X", lambda e: bpxp.to_numpy(_fitted(
        e, X=e.arr(e.X), y=e.foreign(e.y)).predict_proba(e.arr(e.X))), WORKS,
        check=same_as(lambda e: bpxp.to_numpy(_fitted(e, X=e.arr(e.X)).predict_proba(e.arr(e.X)))),
        only=NON_NUMPY, jax=False),
]
ARRAY_CASES += ESTIMATOR_ARRAY_CASES


# -- the CLI -------------------------------------------------------------------------------------------------------
def _cli(e: Env, *argv: str):
    """Run ``bpxp`` with ``argv`` (``{tmp}`` is the case's folder); raise CLIError with its one-line error."""
    from bpxp import cli

    argv = [a.replace("{tmp}", str(e.tmp)) for a in argv]
    err, out = io.StringIO(), io.StringIO()
    try:
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
            code = cli.main(argv)
    except SystemExit as exit_:  # argparse
        code = exit_.code
    if code == 0:
        return out.getvalue()
    *before, last = err.getvalue().splitlines()
    assert code == 2 and last.startswith("bpxp: error: "), err.getvalue()
    assert all(" training and " in line for line in before), f"more than the error on stderr: {err.getvalue()}"
    raise CLIError(last)


def _csv(e: Env, name: str, edit: Callable | None = None) -> None:
    pandas = pytest.importorskip("pandas")
    rng = np.random.default_rng(0)
    frame = pandas.DataFrame(rng.normal(size=(40, 3)), columns=list("abc"))
    frame["kind"] = (frame["a"] > 0).astype(int)
    frame["price"] = 2 * frame["a"]
    frame = edit(frame) if edit is not None else frame
    frame.to_csv(e.tmp / name, index=False)


def _set(column: str, row: int, value):
    def edit(frame):
        frame[column] = frame[column].astype(object if isinstance(value, str) else frame[column].dtype)
        frame.loc[row, column] = value
        return frame
    return edit


FIX_PARSER = "the parser checks the option and errs on one line (cli._number, cli._Parser)"
FIX_COLUMNS = "missing or infinite values named by column (cli.encoding, cli.targets.check_no_missing)"


# How CLI messages name what was wrong: the option, the API argument it becomes, the file or the column.
FILE, COLUMN = r"'[^']*\.(csv|npz)'", r"column '\w+'|'\w+' is not a column|the target '\w+'"


def _command(option: str, bad: str, argv: list[str], regex: str, *, csv: tuple | None = None, expect=CLIError,
             check=None, fixed="", names: str | None = None) -> Case:
    """A CLI case: ``csv=(name, edit)`` writes a data file into the case's folder first."""
    def call(e: Env):
        if csv is not None:
            _csv(e, *csv)
        return _cli(e, *argv)
    if names is None:
        names = {"data": FILE, "model": FILE, "--target": f"--target|{COLUMN}"}.get(
            option, f"{re.escape(option)}|`{option.lstrip('-')}`")
    return Case("bpxp " + argv[0], option, bad, call, expect, regex, check, names=names, fixed=fixed)


QUIET = ["--epochs", "2", "--quiet"]

CLI_CASES = [
    _command("--hidden-layers", "letters", ["train", "--hidden-layers", "a,b", *QUIET], r"positive integers"),
    _command("--hidden-layers", "zero", ["train", "--hidden-layers", "4,0", *QUIET], r"positive integers"),
    _command("--epochs", "zero", ["train", "--epochs", "0"], r"must be a positive integer, got '0'",
             fixed=FIX_PARSER),
    _command("--epochs", "letters", ["train", "--epochs", "abc"], r"must be a positive integer, got 'abc'",
             fixed=FIX_PARSER),
    _command("--batch-size", "negative", ["train", "--batch-size", "-4"], r"must be a positive integer",
             fixed=FIX_PARSER),
    _command("--learning-rate", "inf", ["train", "--learning-rate", "inf", *QUIET], r"must be a positive number",
             fixed=FIX_PARSER),
    _command("--learning-rate", "nan", ["train", "--learning-rate", "nan"], r"must be a positive number",
             fixed=FIX_PARSER),
    _command("--l2", "negative", ["train", "--l2", "-1", *QUIET], r"must be a non-negative number",
             fixed=FIX_PARSER),
    _command("--validation-split", "1.5", ["train", "--validation-split", "1.5"],
             r"must be a fraction strictly between 0 and 1, got '1.5'", fixed=FIX_PARSER),
    _command("--validation-split", "nan", ["train", "--validation-split", "nan"], r"strictly between 0 and 1",
             fixed=FIX_PARSER),
    _command("--seed", "negative", ["train", "--seed", "-1", *QUIET], r"must be a non-negative integer",
             fixed=FIX_PARSER),
    _command("--early-stopping", "zero", ["train", "--early-stopping", "0"], r"must be a positive integer",
             fixed=FIX_PARSER),
    _command("--dtype", "float16", ["train", "--dtype", "float16"], r"invalid choice: 'float16'",
             fixed=FIX_PARSER),
    _command("--backend", "bogus", ["train", "--backend", "bogus"], r"invalid choice: 'bogus'", fixed=FIX_PARSER),
    _command("--optimizer", "bogus", ["train", "--optimizer", "lbfgs"], r"invalid choice", fixed=FIX_PARSER),
    _command("--task", "bogus", ["train", "--task", "ranking"], r"invalid choice", fixed=FIX_PARSER),
    Case("bpxp", "command", "missing", lambda e: _cli(e), CLIError, r"the following arguments are required: command",
         names="command", fixed=FIX_PARSER),
    _command("command", "unknown", ["fly"], r"invalid choice: 'fly'", fixed=FIX_PARSER),
    _command("--hidden", "softmax", ["train", "--hidden", "softmax", *QUIET], r"`hidden` must be one of"),
    _command("--output", "bogus", ["train", "--output", "bogus", *QUIET], r"`output` must be one of"),
    _command("--loss", "cross_entropy with sigmoid", ["train", "--loss", "cross_entropy", "--output", "sigmoid",
                                                      *QUIET], r"`loss` 'cross_entropy' needs `output` 'softmax'"),
    _command("--device", "tpu", ["train", "--device", "tpu", *QUIET], r"`device` must be one of"),
    _command("--target", "missing column", ["train", "{tmp}/d.csv", "--target", "nope", *QUIET],
             r"--target 'nope' is not a column", csv=("d.csv",)),
    _command("data", "a missing file", ["train", "{tmp}/none.csv", "--target", "kind"], r"no such data file"),
    _command("data", "NaN in a feature column with --missing error", ["train", "{tmp}/n.csv", "--target", "kind",
                                                                       "--missing", "error", *QUIET],
             r"feature column 'b' of .* has 1 missing value\(s\) \(first at row 4\); --missing error refuses",
             csv=("n.csv", _set("b", 3, np.nan)), fixed=FIX_COLUMNS),
    _command("data", "NaN in a feature column", ["train", "{tmp}/n.csv", "--target", "kind", *QUIET], "",
             csv=("n.csv", _set("b", 3, np.nan)), expect=WORKS,
             check=lambda e, out: "validation accuracy" in out),  # --missing mean (the default) fills it
    _command("data", "inf in a feature column", ["train", "{tmp}/i.csv", "--target", "kind", *QUIET],
             r"feature column 'c' of .* holds 1 infinite value\(s\) \(first at row 6\)",
             csv=("i.csv", _set("c", 5, np.inf)), fixed=FIX_COLUMNS),
    _command("data", "a text feature column", ["train", "{tmp}/t.csv", "--target", "kind", *QUIET],
             r"feature columns \['b'\] .* are not numeric", csv=("t.csv", _set("b", 2, "x"))),
    _command("data", "no rows", ["train", "{tmp}/e.csv", "--target", "kind", *QUIET], r"has no rows",
             csv=("e.csv", lambda f: f.iloc[:0]), fixed="an empty CSV was said to have non-numeric columns "
             "(datasets.read_table)"),
    _command("data", "one row", ["train", "{tmp}/o.csv", "--target", "price", *QUIET], r"too few rows",
             csv=("o.csv", lambda f: f.iloc[:1]), names=r"validation fraction"),
    _command("--target", "NaN in the target column", ["train", "{tmp}/nt.csv", "--target", "price", *QUIET],
             r"the target column 'price' of .* has 1 missing value\(s\) \(first at row 8\)",
             csv=("nt.csv", _set("price", 7, np.nan)), fixed=FIX_COLUMNS),
    _command("--target", "a single class", ["train", "{tmp}/s.csv", "--target", "kind", *QUIET],
             r"the target 'kind' has a single class", csv=("s.csv", lambda f: f.assign(kind=1))),
    _command("--task", "regression on a text target", ["train", "{tmp}/x.csv", "--target", "kind", "--task",
                                                       "regression", *QUIET],
             r"the target column 'kind' .* is not numeric", csv=("x.csv", lambda f: f.assign(kind="a")),
             fixed="'could not convert string to float' named no column (cli.targets._numeric)"),
    _command("data", "a zero-variance column", ["train", "{tmp}/z.csv", "--target", "kind", *QUIET], "",
             csv=("z.csv", lambda f: f.assign(b=0.1)), expect=WORKS,
             check=lambda e, out: float(out.split("validation accuracy")[1].split()[0]) >= 0),
    _command("data", "a bool feature column", ["train", "{tmp}/bool.csv", "--target", "kind", *QUIET], "",
             csv=("bool.csv", lambda f: f.assign(b=f["b"] > 0)), expect=WORKS,
             check=lambda e, out: "validation accuracy" in out),
    _command("model", "a missing file", ["predict", "{tmp}/none.npz", "iris"], r"no checkpoint at"),
    _command("model", "not a checkpoint", ["info", "{tmp}/x.csv"], r"is not a readable bpxp checkpoint",
             csv=("x.csv",)),
]


def _trained(e: Env, *options: str) -> None:
    _csv(e, "train.csv")
    _cli(e, "train", "{tmp}/train.csv", "--target", "kind", "--save", "{tmp}/m.npz", *options, *QUIET)


def _with_model(option: str, bad: str, argv: list[str], regex: str, *, csv: tuple | None = None, fixed="",
                names: str = FILE, trained_with: tuple[str, ...] = ()) -> Case:
    def call(e: Env):
        _trained(e, *trained_with)
        if csv is not None:
            _csv(e, *csv)
        return _cli(e, *argv)
    return Case("bpxp " + argv[0], option, bad, call, CLIError, regex, names=names, fixed=fixed)


CLI_CASES += [
    _with_model("data", "a bundled dataset with other features", ["predict", "{tmp}/m.npz", "iris"],
                r"was trained on other features than those of 'iris'",
                fixed="the model predicted on iris's features as if they were its own (cli._saved)"),
    _with_model("data", "without the model's columns", ["predict", "{tmp}/m.npz", "{tmp}/p.csv"],
                r"lacks the model's feature columns \['b'\]", csv=("p.csv", lambda f: f.drop(columns="b"))),
    _with_model("--target", "classes never seen", ["evaluate", "{tmp}/m.npz", "{tmp}/u.csv"],
                r"the target column 'kind' of .* holds classes the model never saw: \['7'\]",
                csv=("u.csv", _set("kind", 0, 7)), names=COLUMN,
                fixed="the message named neither the column nor the file (cli.evaluate)"),
    _with_model("data", "NaN in a feature column, trained with --missing error",
                ["evaluate", "{tmp}/m.npz", "{tmp}/n.csv"], r"feature column 'a' of .* has 1 missing value\(s\)",
                csv=("n.csv", _set("a", 0, np.nan)), fixed=FIX_COLUMNS, trained_with=("--missing", "error")),
]

ONCE_CASES = CONSTRUCTOR_CASES + LOAD_CASES + ESTIMATOR_CASES + CLI_CASES
ALL_CASES = ARRAY_CASES + ONCE_CASES
TALLY = {"runs": 0, "raised": 0, "worked": 0, "xfailed": 0}


# -- running the cases -------------------------------------------------------------------------------------------
def _params(cases: list[Case]) -> list:
    return [pytest.param(case, id=case.id, marks=[pytest.mark.xfail(strict=True, reason=case.pending)]
                         if case.pending else []) for case in cases]


def _run(case: Case, env: Env) -> None:
    TALLY["runs"] += 1
    if case.pending:
        TALLY["xfailed"] += 1
    if case.expect is WORKS:
        result = case.call(env)
        if case.check is not None:
            assert case.check(env, result) in (None, True)
        TALLY["worked"] += 1
    else:
        with pytest.raises(case.expect, match=case.match) as raised:
            case.call(env)
        assert re.search(case.naming, str(raised.value)), f"the message does not name {case.argument}"
        TALLY["raised"] += 1
    env.assert_untouched()


@pytest.mark.parametrize("case", _params(ARRAY_CASES))
def test_array_case(case: Case, backend, request):
    variant = request.node.callspec.params["backend"][0]
    if case.only and variant not in case.only:
        pytest.skip(f"applies to {', '.join(case.only)}")
    if backend.name == "jax" and not case.jax:
        pytest.skip("compiling its new shapes on JAX costs seconds; the other backends run it")
    _run(case, Env(backend))


@pytest.fixture
def numpy_env(request, tmp_path) -> Env:
    if "numpy" not in request.config.bpxp_backends:
        pytest.skip("cases without arrays run in the numpy session")
    return Env(Backend("numpy", _backend.namespace("numpy"), None), tmp_path)


@pytest.mark.parametrize("case", _params(ONCE_CASES))
def test_case_without_arrays(case: Case, numpy_env):
    pytest.importorskip("sklearn")
    _run(case, numpy_env)


def test_every_error_case_names_its_argument():
    for case in ALL_CASES:
        if case.expect is not WORKS:
            assert case.naming and (case.names is not None or case.match), case.id
        else:
            assert case.check is not None or case.entry.startswith("bpxp "), case.id
    assert len({case.id for case in ALL_CASES}) == len(ALL_CASES), "case ids must be unique"


# -- inputs are never mutated, on the no-copy path too ----------------------------------------------------------
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_inputs_are_never_mutated(backend, dtype):
    """Inputs already in the network's dtype travel without a copy: every entry point must leave them as they were."""
    if backend.name == "jax":
        pytest.skip("JAX arrays are immutable and jnp.asarray copies host data (and compiling costs 20 s here)")
    rng = np.random.default_rng(1)
    X, y, r = rng.normal(size=(8, 4)).astype(dtype), np.arange(8) % 3, rng.normal(size=8).astype(dtype)
    W = [rng.normal(size=(4, 5)).astype(dtype), rng.normal(size=(5, 3)).astype(dtype)]
    b = [np.zeros(5, dtype), np.zeros(3, dtype)]
    host = [X, y, r, *W, *b]
    arrays = [host, [backend.asarray(a, a.dtype) for a in host]]
    for X_, y_, r_, W0_, W1_, b0_, b1_ in arrays:
        before = [bpxp.to_numpy(a).copy() for a in (X_, y_, r_, W0_, W1_, b0_, b1_)]
        net = backend.from_weights([W0_, W1_], [b0_, b1_], output="softmax", loss="cross_entropy", dtype=dtype)
        for options in ({"optimizer": "adam", "batch_size": 4},
                        {"validation_data": (X_, y_), "early_stopping": 1}):
            net.fit(X_, y_, epochs=2, learning_rate=0.1, **{"optimizer": "sgd", "batch_size": None, **options})
        net.predict(X_), net.forward(X_), net.backward(X_, y_), net.score(X_, y_), net.loss_value(X_, y_)
        regressor = backend.mlp([4, 3, 1], output="identity", dtype=dtype, random_state=0, hidden="sigmoid", loss="mse")
        regressor.fit(X_, r_, epochs=1, learning_rate=0.1, optimizer="sgd", batch_size=None)
        regressor.score(X_, r_)
        for now, then in zip((X_, y_, r_, W0_, W1_, b0_, b1_), before):
            np.testing.assert_array_equal(bpxp.to_numpy(now), then)


def test_estimators_never_mutate_their_inputs(numpy_env):
    pytest.importorskip("sklearn")
    rng = np.random.default_rng(2)
    X, y, r = rng.normal(size=(20, 4)), np.arange(20) % 3, rng.normal(size=20)
    saved = [a.copy() for a in (X, y, r)]
    classifier = _classifier(early_stopping=True, validation_fraction=0.3).fit(X, y)
    classifier.partial_fit(X, y, validation_data=(X, y))
    classifier.predict(X), classifier.predict_proba(X), classifier.score(X, y)
    regressor = _regressor().fit(X, r, validation_data=(X, r))
    regressor.predict(X), regressor.score(X, r)
    for now, then in zip((X, y, r), saved):
        np.testing.assert_array_equal(now, then)


def test_a_network_never_shares_memory_with_the_weights_it_was_given(backend):
    if backend.name == "jax":
        pytest.skip("JAX arrays are immutable")
    W = [np.ones((4, 3)), np.ones((3, 2))]
    net = backend.from_weights([backend.asarray(w) for w in W], dtype="float64")
    given = [bpxp.to_numpy(w).copy() for w in net.weights]
    net.fit(np.ones((5, 4)), np.zeros((5, 2)), epochs=1, learning_rate=0.5, optimizer="sgd", batch_size=None)
    np.testing.assert_array_equal(W[0], np.ones((4, 3)))
    assert any(not np.array_equal(bpxp.to_numpy(w), g) for w, g in zip(net.weights, given))


# -- the standardizer of the CLI ---------------------------------------------------------------------------------
def test_standardizer_leaves_a_constant_column_centred_and_finite():
    from bpxp.cli.datasets import standardizer

    X = np.column_stack([np.arange(150.0), np.full(150, 0.1), np.full(150, 1e308), np.linspace(-1, 1, 150) * 1e308])
    mean, spread = standardizer(X)
    scaled = (X - mean) / spread
    assert np.isfinite(scaled).all() and np.array_equal(scaled[:, 1:3], np.zeros((150, 2)))
    np.testing.assert_allclose(scaled.std(axis=0), [1, 0, 0, 1], atol=1e-12)
    with pytest.raises(ValueError, match=r"finite numbers"):
        standardizer(np.array([[1.0], [np.nan]]))


def test_report_how_many_cases_were_tried(capsys):
    """Print the tally (runs are counted by the cases that ran before this test); the docstring must agree."""
    fixed = [case for case in ALL_CASES if case.fixed]
    pending = [case for case in ALL_CASES if case.pending]
    as_is, kinds = len(ALL_CASES) - len(fixed) - len(pending), len({case.fixed for case in fixed})
    lines = [f"bad inputs: {len(ALL_CASES)} cases ({len(ARRAY_CASES)} on every backend, {len(ONCE_CASES)} once); "
             f"{as_is} clear as they were, {len(fixed)} needed a fix ({kinds} kinds), {len(pending)} pending "
             f"elsewhere",
             f"this session: {TALLY['runs']} runs, {TALLY['raised']} raised the expected error, "
             f"{TALLY['worked']} worked, {TALLY['xfailed']} pending (xfail)"]
    with capsys.disabled():
        print("\n" + "\n".join(lines))
    for claim in (f"- {len(ALL_CASES)} cases", f"{len(ARRAY_CASES)} run on each backend variant",
                  f"{len(ONCE_CASES)} once", f"- {as_is} raised", f"- {len(fixed)} needed a fix",
                  f"of {kinds} kinds", f"- {len(pending)} wait for a fix"):
        assert claim in __doc__, f"the module docstring's tally is stale: no {claim!r}"


@pytest.mark.parametrize("size", ["small", "large"])
def test_nan_in_host_X_is_refused_wherever_it_is_checked(backend, size):
    """Host X up to ``HOST_CHECKED_BYTES`` is checked on the host before its move, a larger one on the device it
    lands on: either way a NaN in its last row is refused, naming the argument."""
    from bpxp.backend.inputs import HOST_CHECKED_BYTES

    rows = 8 if size == "small" else HOST_CHECKED_BYTES // (4 * 4) + 1  # float32, 4 columns: just over the limit
    X = np.zeros((rows, 4), dtype=np.float32)
    X[-1, 2] = np.nan
    net = backend.mlp([4, 3, 1], dtype="float32", random_state=0)
    with pytest.raises(ValueError, match=r"`X` contains NaN or infinite values"):
        net.predict(X)
