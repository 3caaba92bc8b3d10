"""Your own data: a data source built from a CSV file, a DataFrame or arrays.

:class:`Dataset` is a :class:`DataGenerator` whose points come from a table
instead of a curve, so every model, diagnostic and view takes it unchanged.
Its ground truth is unknown: the truth-aware numbers (true error,
bias and variance) are then unavailable, not made up.

Every rejected input raises :class:`~polyfit_explorer.parameters.InvalidValue`
with the reason, and the data in use stay exactly as they were.
"""

from __future__ import annotations

import codecs
import csv
import io
import os
import re

import numpy as np
import pandas as pd
import param

from .data import MAX_SAMPLES, DataGenerator
from .parameters import InvalidValue, Number, quoted

__all__ = ["MAX_BYTES", "MAX_ROWS", "MIN_ROWS", "Dataset"]

MAX_BYTES = 50 * 2**20
#: The most rows a file may have: as many points as a generator may draw.
MAX_ROWS = MAX_SAMPLES
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
            For a file over 50 MB or 1,000,000 rows, one that is empty, not
            UTF-8 or UTF-16 text, of one column or not CSV, a column that is
            missing or not numeric, or fewer than 3 usable rows.  The data in
            use are then unchanged.
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
                raise InvalidValue(f"There is no column {quoted(name)} for {role}. {KEPT}")
            if name not in numeric:
                raise InvalidValue(f"Column {quoted(name)} ({role}) is not numeric. {KEPT}")
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

    def noise_floor(self) -> float:
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

EMPTY = "The file is empty."
NOT_TEXT = ("The file is not a text CSV file (it is not UTF-8 or UTF-16 text). Save it as "
            "'CSV UTF-8' and upload that.")
ONE_COLUMN = ("The file has only one column (tried comma, semicolon and tab as separators); "
              "x and y need two.")

#: The separators tried, in the order that wins a tie (csv.Sniffer's too): a file
#: whose lines split evenly on semicolons (or tabs) and on commas most likely
#: uses the commas as decimal commas.
SEPARATORS = ("\t", ";", ",")
#: How much of the file decides its separator.
SAMPLE_BYTES = 64 * 2**10
#: csv.Sniffer's quote heuristic is quadratic (seconds on 16 KB of quoted text):
#: it sees only the first lines, and only to break a tie.
SNIFFER_CHARS = 4 * 2**10

# C0 control characters other than tab, newline, vertical tab, form feed and
# carriage return: no text file has them, every binary format does.
_BINARY = re.compile(rb"[\x00-\x08\x0e-\x1f]")
# What no number written with a decimal comma holds (the line break joins values).
_NOT_IN_A_NUMBER = re.compile(r"[^0-9,eE+\- \t\n]")


def read_csv(source) -> pd.DataFrame:
    r"""Read a CSV file from a path, bytes or a binary file, within the size limit.

    The file may be UTF-8 (with or without a BOM) or UTF-16 with a BOM, and
    separated by commas, semicolons or tabs.  With semicolons or tabs, a column
    of numbers written with a decimal comma (``1,5``) is read as numbers.

    Raises
    ------
    InvalidValue
        For a file that is too large, empty, not text, has one column or
        cannot be parsed; the message says why, in words.

    Examples
    --------
    >>> read_csv(b"x;y\n1,5;2\n-0,25;3").to_dict("list")
    {'x': [1.5, -0.25], 'y': [2, 3]}
    """
    body = _utf8(_file_bytes(source))
    if not body.strip():
        raise InvalidValue(f"{EMPTY} {KEPT}")
    separator = _separator(_head(body[:SAMPLE_BYTES].decode(errors="ignore"),
                                 len(body) > SAMPLE_BYTES))
    table = _parsed(body, separator)
    # With a comma separator a decimal comma cannot occur unquoted: never guess there.
    return table if separator == "," else _decimal_commas(table)


def _file_bytes(source) -> bytes:
    """Return the bytes of a path, bytes or a binary file; refuse more than MAX_BYTES."""
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
    return source


def _utf8(raw: bytes) -> bytes:
    """Return the file's text as UTF-8 without a BOM; refuse what is not UTF-8 or UTF-16 text.

    pandas parses bytes several times faster, and with a fraction of the
    memory, than the same text as a string: so the text stays bytes.
    """
    try:
        if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            body = raw.decode("utf-16").encode()  # the codec reads the BOM and drops it
        else:
            body = raw.removeprefix(codecs.BOM_UTF8)
            body.decode()  # only to check that it is UTF-8
    except UnicodeError:
        raise InvalidValue(f"{NOT_TEXT} {KEPT}") from None
    # Without a UTF-16 BOM, NUL bytes are binary data; so is what decodes to controls.
    if _BINARY.search(body):
        raise InvalidValue(f"{NOT_TEXT} {KEPT}")
    return body


def _head(text: str, cut: bool) -> str:
    """Return ``text`` up to its last line break if it was ``cut`` from a longer file.

    A partial last line would count fewer fields than the others.
    """
    end = text.rfind("\n") if cut else -1
    return text[:end] if end > 0 else text


def _separator(sample: str) -> str:
    """Return the separator of the file that begins with ``sample``: tab, semicolon or comma.

    The separator with which the most records have as many fields as the first
    line (two or more) wins.  On a tie csv.Sniffer decides, since its quote
    heuristic sees that ``1,"a;b"`` is comma separated; if it picks none of the
    tied ones, the first in SEPARATORS wins.
    """
    agreeing = {separator: _agreeing(_field_counts(sample, separator))
                for separator in SEPARATORS}
    most = max(agreeing.values())
    if not most:
        raise InvalidValue(f"{ONE_COLUMN} {KEPT}")
    best = [separator for separator in SEPARATORS if agreeing[separator] == most]
    if len(best) == 1:
        return best[0]
    sniffed = _sniffed(_head(sample[:SNIFFER_CHARS], len(sample) > SNIFFER_CHARS))
    return sniffed if sniffed in best else best[0]


def _sniffed(sample: str) -> str | None:
    """Return csv.Sniffer's separator for ``sample``, or None if it finds none."""
    sniffer = csv.Sniffer()
    sniffer.preferred = list(SEPARATORS)  # its default prefers the comma on a tie
    try:
        separator = sniffer.sniff(sample, delimiters="".join(SEPARATORS)).delimiter
    except csv.Error:
        return None
    return separator if separator in SEPARATORS else None


def _field_counts(sample: str, separator: str) -> list[int]:
    """Return the number of fields of each record of ``sample``, blank lines left out."""
    counts = []
    try:
        for record in csv.reader(io.StringIO(sample), delimiter=separator):
            if record:
                counts.append(len(record))
    except csv.Error:  # e.g. a quote still open where the sample ends
        pass
    return counts


def _agreeing(counts: list[int]) -> int:
    """Return how many records have the first record's number of fields, 0 if that is 1."""
    return counts.count(counts[0]) if counts and counts[0] > 1 else 0


def _parsed(body: bytes, separator: str) -> pd.DataFrame:
    """Parse the UTF-8 ``body``; refuse it, in words, if it is not CSV."""
    try:
        # One row past the limit is enough to know that it is over.
        return pd.read_csv(io.BytesIO(body), sep=separator, nrows=MAX_ROWS + 1)
    except (ValueError, pd.errors.ParserError) as error:
        raise InvalidValue(f"The file could not be read as CSV: {_parse_problem(error)}. "
                           f"{KEPT}") from None


def _parse_problem(error: Exception) -> str:
    """Say in words what the parser's ``error`` means; its own text names pandas' internals."""
    text = str(error)
    if fields := re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", text):
        expected, line, saw = fields.groups()
        return f"line {line} has {saw} fields, but the first line has {expected}"
    if quote := re.search(r"EOF inside string starting at row (\d+)", text):
        return f"a quote opened on line {int(quote[1]) + 1} is never closed"
    return "its quotes and separators do not line up"


def _decimal_commas(table: pd.DataFrame) -> pd.DataFrame:
    """Return ``table`` with its columns of decimal-comma numbers read as numbers.

    Only text columns are looked at again: numeric ones are settled already.
    """
    for name in table.columns:
        column = table[name]
        if pd.api.types.is_object_dtype(column) or pd.api.types.is_string_dtype(column):
            numbers = _decimal_comma_numbers(column)
            if numbers is not None:
                table[name] = numbers
    return table


def _decimal_comma_numbers(column: pd.Series) -> pd.Series | None:
    """Return ``column`` as floats if every value is a decimal-comma number, else None."""
    # astype(str): a large file's column may mix ints and strings, one per chunk read.
    values = column.dropna().astype(str)
    # A text column usually fails on its first values: spare it the full pass.
    if values.empty or _comma_floats(values.iloc[:100]) is None:
        return None
    numbers = _comma_floats(values)
    if numbers is None:
        return None
    return pd.Series(numbers, index=values.index).reindex(column.index)


def _comma_floats(values: pd.Series) -> np.ndarray | None:
    """Return ``values`` as floats if each is a number with a decimal comma, else None.

    A number here has digits, a sign, at most one comma and an exponent
    (``1,5``, ``-,25``, ``3``, ``1,5E-03``), and spaces around it.  The checks
    run on all values joined into one string: a regular expression per value
    took three times as long.
    """
    joined = "\n".join(values.tolist())
    if _NOT_IN_A_NUMBER.search(joined):  # letters (nan, inf), points, underscores …
        return None
    pieces = joined.replace(",", ".").split("\n")
    if len(pieces) != len(values):  # a quoted value spanning lines
        return None
    try:
        return np.array(pieces, dtype=float)
    except ValueError:  # two commas, a lone sign, an empty exponent …
        return None


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
