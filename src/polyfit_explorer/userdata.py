"""Your own data: a data source built from a CSV file, a DataFrame or arrays.

:class:`Dataset` is a :class:`DataGenerator` whose points come from a table
instead of a curve, so every model, diagnostic and view takes it unchanged.
Its ground truth is unknown: the truth-aware numbers (true error,
bias and variance) are then unavailable, not made up.

Every rejected input raises :class:`~polyfit_explorer.parameters.InvalidValue`
with the reason, and the data in use stay exactly as they were.
"""

from __future__ import annotations

import io
import os

import numpy as np
import pandas as pd
import param

from .data import DataGenerator
from .parameters import InvalidValue, Number

__all__ = ["MAX_BYTES", "MAX_ROWS", "MIN_ROWS", "Dataset"]

MAX_BYTES = 50 * 2**20
MAX_ROWS = 1_000_000
MIN_ROWS = 3


class Dataset(DataGenerator):
    """Your own points, from a CSV file, a DataFrame or arrays; the true curve is unknown.

    Examples
    --------
    >>> data = Dataset.from_arrays([1.0, 2.0, 3.0, np.nan], [2.0, 4.1, 5.9, 8.0])
    >>> len(data.data), data.note
    (3, '1 row with NaN or infinite values dropped.')
    """

    title = "Your data (CSV upload)"

    has_truth = False

    # Your data's x can lie anywhere: the interval is theirs, not a setting.
    x_min = Number(bounds=None, precedence=-1)
    x_max = Number(bounds=None, precedence=-1)

    x_column = param.Selector(
        default=None, objects=[], allow_None=True, label="x column",
        doc="The table's column used as x; only numeric columns are offered.")

    y_column = param.Selector(
        default=None, objects=[], allow_None=True, label="y column",
        doc="The table's column used as y; only numeric columns are offered.")

    table = param.DataFrame(
        default=None, constant=True, precedence=-1,
        doc="The loaded table, all its columns as read.")

    note = param.String(
        default="", constant=True, precedence=-1,
        doc="What loading left out, e.g. rows with NaN; empty if nothing.")

    def __init__(self, table: pd.DataFrame | None = None, **params):
        self._loading = False
        if table is None:  # until something is loaded: the default generator's sample
            table = DataGenerator(n_samples=params.pop("n_samples", 200)).data
        values, self._points, self._columns = self._checked(
            table, params.pop("x_column", None), params.pop("y_column", None))
        super().__init__(**{**params, **values})
        self.param.watch(self._pick_columns, ["x_column", "y_column"])

    # ---- entry points -------------------------------------------------------

    @classmethod
    def from_frame(cls, frame: pd.DataFrame, x: str | None = None,
                   y: str | None = None) -> Dataset:
        """Use ``frame``'s columns ``x`` and ``y`` (default: its first two numeric ones)."""
        return cls(table=frame, x_column=x, y_column=y)

    @classmethod
    def from_arrays(cls, x, y) -> Dataset:
        """Use the values ``x`` and ``y`` as points."""
        return cls.from_frame(pd.DataFrame({"x": np.asarray(x), "y": np.asarray(y)}), "x", "y")

    def load_csv(self, source, x: str | None = None, y: str | None = None):
        """Load a CSV file (a path, bytes or a binary file) and use its columns ``x`` and ``y``.

        Raises
        ------
        InvalidValue
            For a file over 50 MB or 1,000,000 rows, one that is not CSV, a column
            that is missing or not numeric, or fewer than 3 usable rows.  The
            data in use are then unchanged.
        """
        table = read_csv(source)
        self._apply(self._checked(table, x, y))

    # ---- the table to points ------------------------------------------------

    def _checked(self, table: pd.DataFrame, x: str | None, y: str | None) -> tuple:
        """Validate the choice of columns; return the values to apply, points and columns.

        Changes nothing: a refusal leaves the data set exactly as it was.
        """
        if len(table) > MAX_ROWS:
            raise InvalidValue(f"The table has {len(table):,} rows; the limit is "
                               f"{MAX_ROWS:,}. {KEPT}")
        numeric = [c for c in table.columns if _is_numeric(table[c])]
        if x is None or y is None:
            if len(numeric) < 2:
                raise InvalidValue(f"The table needs two numeric columns; it has "
                                   f"{len(numeric)}. {KEPT}")
            if x is None:
                x = next(c for c in numeric if c != y)
            if y is None:
                y = next(c for c in numeric if c != x)
        for role, name in (("x", x), ("y", y)):
            if name not in table.columns:
                raise InvalidValue(f"There is no column {name!r} for {role}. {KEPT}")
            if name not in numeric:
                raise InvalidValue(f"Column {name!r} ({role}) is not numeric. {KEPT}")
        points, dropped = _points(table, x, y)
        if len(points) < MIN_ROWS:
            raise InvalidValue(f"Only {len(points)} usable rows (numbers, not NaN or "
                               f"infinite); at least {MIN_ROWS} are needed. {KEPT}")
        if points["x"].min() == points["x"].max():
            raise InvalidValue(f"Every x is {points['x'].iloc[0]:g}: a curve needs at least "
                               f"two x values. {KEPT}")
        return dict(table=table, x_column=x, y_column=y,
                    x_min=float(points["x"].min()), x_max=float(points["x"].max()),
                    note=_dropped_note(dropped)), points, numeric

    def _apply(self, checked: tuple):
        values, points, columns = checked
        # A column widget whose value leaves its options picks another at once, and
        # the browser may send that pick back after the load: so the old columns stay
        # offered until both values have moved.
        both = list(dict.fromkeys([*self.param.x_column.objects, *columns]))
        self._loading = True
        try:
            self.param.x_column.objects = self.param.y_column.objects = both
            with param.edit_constant(self):
                self.param.update(values)
            self.param.x_column.objects = self.param.y_column.objects = columns
        finally:
            self._loading = False
        self._points, self._columns = points, columns
        self._sample()

    def _pick_columns(self, *events):
        if self._loading:
            return
        try:
            self._apply(self._checked(self.table, self.x_column, self.y_column))
        except InvalidValue:
            with param.parameterized.discard_events(self):  # show the columns in use
                for event in events:
                    setattr(self, event.name, event.old)
            raise

    def _inputs(self) -> list[str]:
        return []  # columns are handled above; noise settings do not apply to data

    def ground_truth(self, x):
        """Return NaN: the curve behind your data is unknown."""
        return np.full(np.shape(x), np.nan)

    def noise_floor(self, n_points: int = 500) -> float:
        """Return NaN: without the truth the noise is unknown."""
        return float("nan")

    def _sample(self, *events):
        if not hasattr(self, "_points"):
            return
        self.param.x_column.objects = self.param.y_column.objects = self._columns
        self._next_label = len(self._points)
        with param.edit_constant(self):
            self.param.update(data=self._points, edited=False)


KEPT = "Nothing was loaded; the previous data are kept."


def read_csv(source) -> pd.DataFrame:
    """Read a CSV file from a path, bytes or a binary file, within the size limit."""
    if isinstance(source, (str, os.PathLike)):
        if os.path.getsize(source) > MAX_BYTES:
            raise InvalidValue(f"The file has {os.path.getsize(source) / 2**20:.1f} MB; the "
                               f"limit is {MAX_BYTES // 2**20} MB. {KEPT}")
        with open(source, "rb") as file:
            source = file.read()
    elif not isinstance(source, bytes):
        source = source.read(MAX_BYTES + 1)
    if len(source) > MAX_BYTES:
        raise InvalidValue(f"The file is over {MAX_BYTES // 2**20} MB, the limit. {KEPT}")
    try:
        # One row past the limit is enough to know that it is over.
        return pd.read_csv(io.BytesIO(source), nrows=MAX_ROWS + 1)
    except (ValueError, UnicodeDecodeError, pd.errors.ParserError) as error:
        raise InvalidValue(f"The file could not be read as CSV ({error}). {KEPT}") from None


def _is_numeric(column: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column)


def _points(table: pd.DataFrame, x: str, y: str) -> tuple[pd.DataFrame, int]:
    values = pd.DataFrame({"x": table[x].to_numpy(dtype=float),
                           "y": table[y].to_numpy(dtype=float)})
    usable = np.isfinite(values).all(axis=1)
    return values[usable].reset_index(drop=True), int((~usable).sum())


def _dropped_note(dropped: int) -> str:
    if not dropped:
        return ""
    return f"{dropped:,} row{'s' * (dropped > 1)} with NaN or infinite values dropped."
