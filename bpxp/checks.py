"""Checks of user options, one place for all: ``MLP``, the scikit-learn estimators and the CLI call these.

Each numeric option obeys a :class:`Rule` (declarative, as scikit-learn's ``_parameter_constraints``): what the
option must be, said the same way wherever it is checked. A wrong type says ``must <expected>, got <value>
(<type>)``, a value out of range ``must <in_range>, got <value>``. The estimators raise ValueError for both,
as scikit-learn does for its parameters; ``MLP`` a TypeError for the type. The CLI checks the text it was given
against the same rules (:func:`parse`) and says ``must <expected>, got '<text>'``.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from numbers import Integral, Real
from pathlib import Path
from typing import Any

import numpy as np


def shown(value: Any, limit: int = 60) -> str:
    """``repr(value)`` cut to ``limit`` characters: an error quoting a 100,000-entry list stays one short line."""
    text = repr(value)
    return text if len(text) <= limit else text[:limit - 1] + "…"


@dataclass(frozen=True)
class Rule:
    """What a numeric option must be.

    Attributes
    ----------
    kind : type
        ``Integral`` or ``Real`` (bools are never numbers here: ``True`` as a rate is a mistake, not 1.0).
    expected : str
        The requirement after "must", as said of a value of the wrong type, and by the CLI.
    in_range : str
        The requirement after "must", as said of a number out of range.
    accept : callable
        Whether a number of the right kind is in range.
    """

    kind: type
    expected: str
    in_range: str
    accept: Callable[[Any], bool]

    def message(self, name: str, value: Any) -> tuple[type[Exception], str]:
        """(the error class, the message) for ``value`` of option ``name``, or (None, '') when it is acceptable."""
        if isinstance(value, bool | np.bool_) or not isinstance(value, self.kind):
            return TypeError, f"`{name}` must {self.expected}, got {shown(value)} ({type(value).__name__})"
        if not self.accept(value):
            return ValueError, f"`{name}` must {self.in_range}, got {value}"
        return None, ""


POSITIVE_INT = Rule(Integral, "be a positive integer", "be a positive integer", lambda v: v >= 1)
NON_NEGATIVE_INT = Rule(Integral, "be a non-negative integer", "be a non-negative integer", lambda v: v >= 0)
POSITIVE_FLOAT = Rule(Real, "be a positive number", "be a positive finite number",
                      lambda v: math.isfinite(v) and v > 0)
NON_NEGATIVE_FLOAT = Rule(Real, "be a non-negative number", "be a non-negative finite number",
                          lambda v: math.isfinite(v) and v >= 0)
FRACTION = Rule(Real, "be a fraction strictly between 0 and 1", "be a fraction strictly between 0 and 1",
                lambda v: 0 < v < 1)
UNIT_INTERVAL = Rule(Real, "lie in [0, 1)", "lie in [0, 1)", lambda v: 0 <= v < 1)


def check(value: Any, name: str, rule: Rule, *, type_error: type[Exception] = TypeError) -> Any:
    """``value`` (as ``int`` or ``float``) if it obeys ``rule``, else the rule's error naming ``name``.

    ``type_error`` is the class raised for a value of the wrong type (the estimators: ValueError).
    """
    error, message = rule.message(name, value)
    if error is not None:
        raise (type_error if error is TypeError else error)(message)
    return int(value) if rule.kind is Integral else float(value)


def positive_int(value: Any, name: str) -> int:
    """``value`` as an int ≥ 1, or a ValueError/TypeError naming ``name``."""
    return check(value, name, POSITIVE_INT)


def positive_float(value: Any, name: str) -> float:
    """``value`` as a finite float > 0, or a ValueError/TypeError naming ``name``."""
    return check(value, name, POSITIVE_FLOAT)


def parse(text: str, rule: Rule) -> int | float:
    """A command-line option's text as the rule's number, or a ValueError ``must be <expected>, got '<text>'``."""
    try:
        value = (int if rule.kind is Integral else float)(text)
    except ValueError:
        value = None
    if value is None or rule.message("", value)[0] is not None:
        raise ValueError(f"must {rule.expected}, got {text!r}")
    return value


def check_bool(value: Any, name: str, *, numpy_bools: bool = False) -> bool:
    """``value`` if it is True or False (NumPy's too with ``numpy_bools``), else a TypeError naming ``name``."""
    if not isinstance(value, bool | np.bool_ if numpy_bools else bool):
        raise TypeError(f"`{name}` must be True or False, got {value!r}")
    return value


def check_choice(value: Any, name: str, choices: Iterable[str]) -> str:
    """``value`` if it is one of ``choices``, else a ValueError naming ``name`` and listing them."""
    choices = list(choices)
    if not isinstance(value, str) or value not in choices:
        raise ValueError(f"`{name}` must be one of {choices}, got {shown(value)}")
    return value


def check_path(value: Any, name: str) -> Path:
    """``value`` as a Path if it is a str or os.PathLike, else a TypeError naming ``name``."""
    if not isinstance(value, str | os.PathLike):
        raise TypeError(f"`{name}` must be a file path (str or os.PathLike), got {type(value).__name__}")
    return Path(value)


def destination_problem(path: str | os.PathLike) -> str | None:
    """Why no file can be written at ``path`` — empty, a folder, or under no writable folder — or None. Asked before
    training, so that a run does not end, an hour later, with nowhere to put its model."""
    if os.fspath(path) == "":
        return "is empty: give a file path such as 'model.npz'"
    path = Path(path)
    if path.is_dir():
        return f"is a folder: give a file path inside it, such as {str(path / 'model.npz')!r}"
    folder = path.absolute().parent
    while not folder.exists() and folder != folder.parent:  # the folders to be made: the nearest one there is
        folder = folder.parent
    if not folder.is_dir():
        return f"cannot be written: {str(folder)!r} is a file, not a folder"
    if not os.access(folder, os.W_OK | os.X_OK):
        return f"cannot be written: the folder {str(folder)!r} is not writable"
    return None


def check_destination(value: Any, name: str) -> Path:
    """``value`` as a Path where a file can be written (:func:`destination_problem`), else a TypeError/ValueError
    naming ``name``."""
    path = check_path(value, name)
    problem = destination_problem(value)
    if problem is not None:
        raise ValueError(f"`{name}` {shown(os.fspath(value), 200)} {problem}")
    return path


def check_seed(random_state: Any, name: str = "random_state") -> Any:
    """``random_state`` if NumPy can seed a Generator with it, else a TypeError/ValueError naming ``name``."""
    try:
        np.random.default_rng(random_state)
    except (TypeError, ValueError) as error:
        raise type(error)(f"`{name}` must be None, an integer >= 0, a sequence of them, a SeedSequence or a "
                          f"numpy.random.Generator, got {random_state!r}") from None
    return random_state


def check_legacy_seed(random_state: Any, name: str = "random_state") -> Any:
    """``random_state`` if scikit-learn's ``check_random_state`` takes it — None, an integer in [0, 2³²) or a
    ``numpy.random.RandomState`` — else a ValueError naming ``name``. Checked without seeding one (a RandomState
    costs ~90 µs to make; the fit makes the one it uses)."""
    seed = isinstance(random_state, Integral) and 0 <= random_state < 2 ** 32
    if random_state is None or seed or isinstance(random_state, np.random.RandomState):
        return random_state
    raise ValueError(f"`{name}` must be None, an integer in [0, 2**32), or a numpy.random.RandomState, got "
                     f"{random_state!r}")


def check_layer_sizes(layer_sizes: Any) -> tuple[int, ...]:
    """``layer_sizes`` as a tuple of at least two positive ints, else a TypeError/ValueError."""
    if isinstance(layer_sizes, str | bytes) or not isinstance(layer_sizes, Iterable):
        raise TypeError(f"`layer_sizes` must be a sequence of positive integers such as (4, 8, 3), "
                        f"got {shown(layer_sizes)}")
    layer_sizes = list(layer_sizes)
    if len(layer_sizes) < 2:
        raise ValueError(f"`layer_sizes` needs at least an input and an output size, got {shown(layer_sizes)}")
    for size in layer_sizes:
        if isinstance(size, bool) or not isinstance(size, Integral) or size < 1:
            raise ValueError(f"`layer_sizes` must hold positive integers, got {shown(layer_sizes)}")
    return tuple(int(s) for s in layer_sizes)


def check_hidden_sizes(sizes: Any, name: str = "hidden_layer_sizes") -> list[int]:
    """scikit-learn's ``hidden_layer_sizes`` (an int or a sequence of positive ints) as a list, else a ValueError."""
    try:
        listed = [sizes] if isinstance(sizes, Integral) else list(sizes)
    except TypeError:
        listed = [None]
    if not all(isinstance(s, Integral) and not isinstance(s, bool) and s > 0 for s in listed):
        raise ValueError(f"`{name}` must hold positive integers, got {sizes!r}")
    return [int(s) for s in listed]
