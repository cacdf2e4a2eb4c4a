"""How a data file's feature columns become the network's inputs: numbers pass through, each text column is
one-hot encoded into its categories, and missing values are filled, dropped or refused (``--missing``).

    X = [ x_1 … x_j | onehot(t_1) … ]        onehot(t)_k = 1 if t = category_k, else 0

``fit`` learns an :class:`Encoding` from the training file: the categories (sorted) from all its rows, the fill
values from its training rows only — a number column's mean, a text column's most frequent category (ties: the
first in sorted order). ``Encoding.apply`` turns that file, or new data at ``predict`` and ``evaluate``, into X;
``to_metadata``/``from_metadata`` keep it in the saved model as JSON, and ``described`` says it for ``bpxp info``.

``--missing`` (what a missing cell — empty, ``NA``, ``NaN`` … — becomes):

- ``mean``: filled with the recorded values, in training and on new data alike;
- ``drop``: the training file's incomplete rows (a missing feature or target) are dropped; ``evaluate`` drops them
  the same way, ``predict`` — which answers every row — refuses them;
- ``error``: refused.

Infinities are not missing values: they are always refused, as is text in a column of numbers. A model saved before
encodings were recorded reads its feature columns as numbers and refuses missing values, as it always did.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MISSING = ("mean", "drop", "error")
DEFAULT_MISSING = "mean"


@dataclass(frozen=True)
class Column:
    """A feature column: its ``categories`` when it holds text (one input per category), None for numbers; ``fill``
    the value that replaces a missing one (None: missing values are refused)."""

    name: str
    categories: tuple[str, ...] | None = None
    fill: float | str | None = None


@dataclass(frozen=True)
class Encoding:
    """The feature columns in the order the network reads them, and the ``--missing`` mode they were fitted with
    (None for a model saved before encodings were recorded)."""

    columns: tuple[Column, ...]
    missing: str | None

    @property
    def text_columns(self) -> list[str]:
        return [c.name for c in self.columns if c.categories is not None]

    def apply(self, frame, *, data: str) -> np.ndarray:
        """X (n_rows, a column per number column and per category), float64, from the feature columns of
        ``frame`` (a pandas DataFrame read from ``data``): missing values filled or refused, unseen categories
        refused, each naming the column."""
        blocks = [_one_hot(column, frame[column.name], self.missing, data) if column.categories is not None
                  else _numbers(column, frame[column.name], self.missing, data)[:, None] for column in self.columns]
        return np.concatenate(blocks, axis=1) if blocks else np.zeros((len(frame), 0))

    def to_metadata(self) -> dict:
        """The JSON-ready record kept in a saved model under ``"encoding"``."""
        return {"missing": self.missing,
                "columns": [{"name": c.name, "categories": None if c.categories is None else list(c.categories),
                             "fill": c.fill} for c in self.columns]}

    @classmethod
    def from_metadata(cls, record: dict | None, feature_names: list[str]) -> Encoding:
        """The encoding a saved model records; for a model without one, its ``feature_names`` as numbers with
        missing values refused (how such a model always read its data)."""
        if record is None:
            return cls(tuple(Column(name) for name in feature_names), None)
        columns = tuple(Column(c["name"], None if c.get("categories") is None else tuple(c["categories"]),
                               c.get("fill")) for c in record["columns"])
        return cls(columns, record.get("missing"))


def fit(frame, *, missing: str, fit_rows: np.ndarray, data: str) -> Encoding:
    """The encoding of the feature columns of ``frame`` (read from ``data``): categories from every row, the
    fill values (with ``missing='mean'``) from the rows ``fit_rows`` (the training rows) only."""
    if missing not in MISSING:
        raise ValueError(f"--missing must be one of {list(MISSING)}, got {missing!r}")
    return Encoding(tuple(_fitted(frame[name], str(name), missing, fit_rows, data) for name in frame.columns),
                    missing)


def _fitted(series, name: str, missing: str, fit_rows: np.ndarray, data: str) -> Column:
    """One column's encoding: numbers (their training mean as fill) or text (its categories, the most frequent
    training category as fill)."""
    if _holds_numbers(series):
        values = _as_numbers(name, series, data)
        return Column(name, None, _mean(values[fit_rows], name, data) if missing == "mean" else None)
    texts = _texts(series)
    _refuse_numbers_with_text(series, texts, name, data)
    categories = tuple(sorted(set(texts[series.notna().to_numpy()])))
    fill = _most_frequent(texts[fit_rows], name, data) if missing == "mean" else None
    return Column(name, categories, fill)


def _holds_numbers(series) -> bool:
    import pandas

    return bool(pandas.api.types.is_numeric_dtype(series) or series.isna().all())


def _texts(series) -> np.ndarray:
    """The column's values as text (object array), None where missing."""
    present = series.notna().to_numpy()
    texts = np.full(len(series), None, dtype=object)
    texts[present] = series[present].astype(str).to_numpy(dtype=object)
    return texts


def _refuse_numbers_with_text(series, texts: np.ndarray, name: str, data: str) -> None:
    """A column of mostly numbers with some text is a column of numbers with typos, not categories."""
    import pandas

    present = series.notna().to_numpy()
    numbers = pandas.to_numeric(pandas.Series(texts[present]), errors="coerce").notna().to_numpy()
    if numbers.sum() > numbers.size / 2 and not numbers.all():  # all numbers: text on purpose (e.g. Parquet)
        row = int(series.index[np.flatnonzero(present)[np.flatnonzero(~numbers)[0]]]) + 1
        raise ValueError(f"feature columns [{name!r}] of {data!r} are not numeric: numbers with some text, e.g. "
                         f"{texts[present][~numbers][0]!r} at row {row}; correct those values (or leave them empty "
                         f"to be missing values, see --missing)")


def _mean(values: np.ndarray, name: str, data: str) -> float:
    present = values[~np.isnan(values)]
    if present.size == 0:
        raise ValueError(f"feature column {name!r} of {data!r} has no value in the training rows to take the mean "
                         f"of (--missing mean); drop the column")
    return float(present.mean())


def _most_frequent(texts: np.ndarray, name: str, data: str) -> str:
    present = texts[texts != None]  # noqa: E711 (elementwise: None marks a missing value)
    if present.size == 0:
        raise ValueError(f"feature column {name!r} of {data!r} has no value in the training rows to find the most "
                         f"frequent category of (--missing mean); drop the column")
    categories, counts = np.unique(present.astype(str), return_counts=True)
    return str(categories[np.argmax(counts)])  # the first of the most frequent, in sorted order


def _as_numbers(name: str, series, data: str) -> np.ndarray:
    """A column of numbers as float64, NaN where missing; text and infinities refused."""
    import pandas

    gaps = series.isna().to_numpy()
    values = pandas.to_numeric(series, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan, copy=True)
    text = np.isnan(values) & ~gaps
    if text.any():
        first = np.flatnonzero(text)[0]
        raise ValueError(f"feature columns [{name!r}] of {data!r} are not numeric: the model reads numbers there, "
                         f"but row {int(series.index[first]) + 1} holds {series.iloc[first]!r}")
    infinite = np.isinf(values)
    if infinite.any():
        raise ValueError(f"feature column {name!r} of {data!r} holds {int(infinite.sum())} infinite value(s) "
                         f"(first at row {int(series.index[np.flatnonzero(infinite)[0]]) + 1}); replace them with "
                         f"numbers, or leave them empty to be missing values (see --missing)")
    return values


def _numbers(column: Column, series, missing: str | None, data: str) -> np.ndarray:
    """A column of numbers as float64, its gaps filled (or refused)."""
    values = _as_numbers(column.name, series, data)
    gaps = np.isnan(values)
    if gaps.any():
        values[gaps] = _fill(column, series, gaps, missing, data)
    return values


def _one_hot(column: Column, series, missing: str | None, data: str) -> np.ndarray:
    """A text column as one 0/1 input per category; gaps filled (or refused), unseen categories refused."""
    import pandas

    texts, gaps = _texts(series), series.isna().to_numpy()
    if gaps.any():
        texts[gaps] = _fill(column, series, gaps, missing, data)
    codes = pandas.Index(column.categories, dtype=object).get_indexer(texts)
    unseen = codes < 0
    if unseen.any():
        values = list(dict.fromkeys(texts[unseen]))
        what = "a category" if len(values) == 1 else "categories"
        raise ValueError(f"feature column {column.name!r} of {data!r} holds {what} the model never saw: "
                         f"{_quoted(values)} (first at row {int(series.index[np.flatnonzero(unseen)[0]]) + 1}); "
                         f"it knows {_quoted(column.categories)}")
    return (codes[:, None] == np.arange(len(column.categories))).astype(np.float64)


def _fill(column: Column, series, gaps: np.ndarray, missing: str | None, data: str) -> float | str:
    """The value that fills ``column``'s gaps, or the error that says why there is none."""
    if column.fill is not None:
        return column.fill
    where = (f"feature column {column.name!r} of {data!r} has {int(gaps.sum())} missing value(s) (first at row "
             f"{int(series.index[np.flatnonzero(gaps)[0]]) + 1})")
    raise ValueError(where + {
        "error": "; --missing error refuses them: fill them, or train with --missing mean (fill each with its "
                 "column's training mean or most frequent category) or --missing drop (drop those rows)",
        "drop": "; the model was trained with --missing drop and recorded no values to fill them with, and predict "
                "answers every row: fill them, or train with --missing mean",
    }.get(missing, "; the model recorded no values to fill them with: fill them, or retrain it with --missing mean"))


def drop_incomplete(frame, y, *, data: str):
    """(frame, y, the number of rows dropped): the rows of ``frame`` (and ``y``, if not None) without a missing
    value among the features or the target (``--missing drop``); refused when none is left."""
    import pandas

    incomplete = frame.isna().any(axis=1).to_numpy()
    if y is not None:
        incomplete = incomplete | pandas.isna(y)
    keep = ~incomplete
    if not keep.any():
        raise ValueError(f"every row of {data!r} has a missing value: --missing drop leaves none; fill them, or use "
                         f"--missing mean")
    return frame[keep], (None if y is None else y[keep]), int(incomplete.sum())


def encoded_new_data(encoding: Encoding, frame, y, *, data: str,
                     drop: bool) -> tuple[np.ndarray, np.ndarray | None, str | None]:
    """(X, y, a note on what it took) of new data read from ``data``: with ``drop`` (``evaluate``) and
    ``--missing drop``, the incomplete rows dropped as in training first; else ``apply`` fills or refuses them.
    ``frame`` may be X already (``datasets.plain_numeric_csv``: numbers only, all finite), which it returns."""
    if isinstance(frame, np.ndarray):
        return frame, y, None
    dropped = 0
    if drop and encoding.missing == "drop":
        frame, y, dropped = drop_incomplete(frame, y, data=data)
    return encoding.apply(frame, data=data), y, summary(encoding, frame, dropped=dropped, categories=False)


def filled(frame, encoding: Encoding) -> int:
    """How many missing values of ``frame``'s feature columns ``encoding.apply`` fills."""
    return int(frame[[c.name for c in encoding.columns if c.fill is not None]].isna().to_numpy().sum())


def summary(encoding: Encoding, frame, *, dropped: int = 0, categories: bool = True) -> str | None:
    """One line on what reading ``frame`` took: the rows dropped, the one-hot columns (with ``categories``), the
    missing values filled; None when it took nothing of the kind."""
    parts = [f"dropped {dropped} row(s) with missing values (--missing drop)"] if dropped else []
    encoded = [f"{c.name} ({len(c.categories)} categories)" for c in encoding.columns if c.categories is not None]
    if categories and encoded:
        parts.append(f"one-hot encoded {', '.join(encoded)}")
    count = filled(frame, encoding)
    if count:
        parts.append(f"filled {count} missing value(s) with the training rows' means or most frequent categories "
                     f"(--missing mean)")
    return "; ".join(parts) or None


def described(metadata: dict) -> list[tuple[str, str]]:
    """``bpxp info``'s rows for a saved model's encoding: its one-hot columns and how it handles missing values."""
    if metadata.get("encoding") is None:
        return []
    encoding = Encoding.from_metadata(metadata["encoding"], metadata.get("feature_names") or [])
    rows = [("one-hot", f"{c.name} → {', '.join(c.categories)}") for c in encoding.columns
            if c.categories is not None]
    rows.append(("missing", {
        "mean": "mean: a missing value is filled with its column's training mean (text: most frequent category)",
        "drop": "drop: incomplete rows were dropped in training; evaluate drops them, predict refuses them",
        "error": "error: missing values are refused"}.get(encoding.missing, str(encoding.missing))))
    fills = [f"{c.name} {c.fill:.6g}" if isinstance(c.fill, float) else f"{c.name} {c.fill}"
             for c in encoding.columns if c.fill is not None]
    if fills:
        rows.append(("fill values", ", ".join(fills)))
    return rows


def _quoted(values) -> str:
    shown = ", ".join(repr(v) for v in list(values)[:8])
    return shown + (f", … ({len(values) - 8} more)" if len(values) > 8 else "")
