"""Your own data: Dataset loading, validation, and models on data without a known truth."""

import codecs
import io
import re
import time

import numpy as np
import pandas as pd
import pytest
from sklearn.model_selection import validation_curve as sklearn_validation_curve

from polyfit_explorer import Dataset, RegressionModel, userdata
from polyfit_explorer.diagnostics import Snapshot, bias_variance, validation_curve, verdict
from polyfit_explorer.parameters import InvalidValue

KEPT = "Nothing was loaded; the previous data are kept."

#: A small table with a text column first, so the default columns must skip it.
CSV = b"name,a,b,c\nP,1.0,2.0,30\nQ,2.0,4.5,20\nR,3.0,5.5,10\nS,4.0,8.0,0\nT,5.0,9.5,-10\n"
TABLE = pd.read_csv(io.BytesIO(CSV))


def state(data: Dataset) -> tuple:
    """What a rejected load must leave exactly as it was."""
    return (data.data, data.table, data.x_column, data.y_column, data.note, data.x_min,
            data.x_max, list(data.param.x_column.objects), list(data.param.y_column.objects))


def assert_unchanged(data: Dataset, before: tuple):
    after = state(data)
    assert after[0] is before[0]  # the very same DataFrame objects, not equal copies
    assert after[1] is before[1]
    assert after[2:] == before[2:]


def expected_points(x: str, y: str) -> pd.DataFrame:
    return pd.DataFrame({"x": TABLE[x].to_numpy(float), "y": TABLE[y].to_numpy(float)})


@pytest.fixture
def loaded():
    data = Dataset()
    data.load_csv(CSV)
    return data


def csv_bytes(frame: pd.DataFrame) -> bytes:
    return frame.to_csv(index=False).encode()


# ---- rejected inputs keep the previous data --------------------------------


@pytest.mark.parametrize(
    ("source", "columns", "words"),
    [
        (CSV, {"x": "name"}, "Column 'name' (x) is not numeric."),
        (CSV, {"y": "name"}, "Column 'name' (y) is not numeric."),
        (CSV, {"x": "nope"}, "There is no column 'nope' for x."),
        (CSV, {"x": "a", "y": "missing"}, "There is no column 'missing' for y."),
        (b"x,y\n1,2\n2,nan\n3,inf\n4,5\n", {}, "Only 2 usable rows"),
        (b"x,y\n1,2\n2,3\n", {}, "Only 2 usable rows"),
        (b"x,y\n", {}, "The table needs two numeric columns; it has 0."),
        (b"x,y\n1,2\n1,3\n1,4\n", {}, "Every x is 1: a curve needs at least two x values."),
        (b"x,label\n1,a\n2,b\n3,c\n", {}, "The table needs two numeric columns; it has 1."),
        (b"", {}, "The file is empty."),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe", {}, "The file is not a text CSV file"),
        (b"a,b\n1,2\n3,4,5,6\n", {}, "could not be read as CSV"),
        (b'a,b\n"1,2\n', {}, "could not be read as CSV"),
    ],
    ids=["text-x", "text-y", "missing-x", "missing-y", "nan-inf-leave-2", "2-rows",
         "header-only", "constant-x", "one-numeric", "empty", "png", "ragged", "open-quote"],
)
def test_a_rejected_file_raises_and_keeps_the_previous_data(loaded, source, columns, words):
    model = RegressionModel(data=loaded, degree=1)
    before, estimator, points = state(loaded), model.estimator_, loaded.data.copy()
    with pytest.raises(InvalidValue, match=re.escape(words)) as error:
        loaded.load_csv(source, **columns)
    assert isinstance(error.value, ValueError)
    assert str(error.value).endswith(KEPT)
    assert_unchanged(loaded, before)
    assert loaded.data.equals(points)
    assert model.estimator_ is estimator


@pytest.mark.parametrize("name", ["<b>city</b>", "it's \"quoted\"", "naïve, comma"])
def test_a_non_numeric_column_is_named_verbatim(name):
    # The message is plain text: the name appears as its repr, unescaped.
    frame = pd.DataFrame({name: ["p", "q", "r"], "u": [1.0, 2.0, 3.0], "v": [2.0, 1.0, 0.0]})
    data = Dataset()
    before = state(data)
    with pytest.raises(InvalidValue) as error:
        data.load_csv(csv_bytes(frame), x=name, y="v")
    assert f"Column {name!r} (x) is not numeric." in str(error.value)
    assert_unchanged(data, before)


def test_rows_with_nan_or_inf_are_dropped_and_counted():
    source = b"x,y\n1,2\n2,nan\n3,4\ninf,5\n5,\n6,-inf\n7,8\n"
    data = Dataset()
    data.load_csv(source)
    assert data.note == "4 rows with NaN or infinite values dropped."
    expected = pd.DataFrame({"x": [1.0, 3.0, 7.0], "y": [2.0, 4.0, 8.0]})
    pd.testing.assert_frame_equal(data.data, expected)  # renumbered 0, 1, 2
    assert (data.x_min, data.x_max) == (1.0, 7.0)
    assert len(data.table) == 7  # the table is kept as read
    data.load_csv(b"x,y\n1,2\n2,3\n3,5\n")
    assert data.note == ""
    one = Dataset.from_arrays([1.0, 2.0, 3.0, np.nan], [1.0, 2.0, 3.0, 4.0])
    assert one.note == "1 row with NaN or infinite values dropped."


def test_three_usable_rows_are_enough():
    data = Dataset()
    data.load_csv(b"x,y\n1,2\n2,nan\n3,4\n4,5\n")
    assert len(data.data) == userdata.MIN_ROWS == 3


@pytest.mark.parametrize("kind", ["bytes", "path", "str-path", "file"])
def test_a_file_over_the_size_limit_is_refused(loaded, kind, tmp_path, monkeypatch):
    monkeypatch.setattr(userdata, "MAX_BYTES", 2**20)  # 1 MB instead of writing 50 MB
    body = b"x,y\n" + b"".join(b"%07d,%d\n" % (i, i % 7) for i in range(125_000))
    assert len(body) / 2**20 == pytest.approx(1.19, abs=0.005)
    path = tmp_path / "big.csv"
    path.write_bytes(body)
    source = {"bytes": body, "path": path, "str-path": str(path),
              "file": io.BytesIO(body)}[kind]
    before = state(loaded)
    with pytest.raises(InvalidValue, match=r"limit") as error:
        loaded.load_csv(source)
    words = ("The file has 1.2 MB; the limit is 1 MB." if "path" in kind
             else "The file is over 1 MB, the limit.")
    assert str(error.value) == f"{words} {KEPT}"
    assert_unchanged(loaded, before)
    # Just under the limit loads.
    loaded.load_csv(body[: 2**20 - 100].rsplit(b"\n", 1)[0])
    assert len(loaded.data) > 50_000


def test_the_real_limits():
    assert userdata.MAX_BYTES == 50 * 2**20
    assert userdata.MAX_ROWS == 1_000_000
    assert userdata.MIN_ROWS == 3


def test_a_table_over_the_row_limit_is_refused(loaded, monkeypatch):
    monkeypatch.setattr(userdata, "MAX_ROWS", 10)
    before = state(loaded)
    rows = pd.DataFrame({"x": np.arange(11.0), "y": np.arange(11.0) ** 2})
    with pytest.raises(InvalidValue) as error:
        loaded.load_csv(csv_bytes(rows))
    assert str(error.value) == f"The table has 11 rows; the limit is 10. {KEPT}"
    assert_unchanged(loaded, before)
    with pytest.raises(InvalidValue, match="the limit is 10"):
        Dataset.from_frame(rows)
    loaded.load_csv(csv_bytes(rows.iloc[:10]))  # exactly at the limit
    assert len(loaded.data) == 10


def test_x_beyond_a_million_loads_and_a_refusal_leaves_nothing_behind(loaded):
    # Once a bug: x beyond x_min/x_max's bounds of ±1e6 half-applied the load (table and
    # columns replaced, data not) with a bare bounds error, and reset then showed the
    # refused file's points.
    loaded.load_csv(b"x,y\n0,1\n2000000,3\n5,6\n-1e300,2\n")
    assert (loaded.x_min, loaded.x_max) == (-1e300, 2e6)
    np.testing.assert_array_equal(loaded.data.x, [0.0, 2e6, 5.0, -1e300])
    assert (loaded.x_column, loaded.y_column) == ("x", "y")
    loaded.load_csv(CSV)
    before = state(loaded)
    with pytest.raises(InvalidValue, match="Only 2 usable rows"):
        loaded.load_csv(b"x,y\n1,2\n2,3\n")
    assert_unchanged(loaded, before)
    loaded.param.trigger("reset")  # the stored points are still the previous file's
    pd.testing.assert_frame_equal(loaded.data, expected_points("a", "b"))
    assert loaded.edited is False


# ---- valid loads --------------------------------------------------------------


@pytest.mark.parametrize("kind", ["bytes", "path", "str-path", "bytesio", "open-file"])
def test_valid_sources_load(kind, tmp_path):
    path = tmp_path / "points.csv"
    path.write_bytes(CSV)
    data = Dataset()
    with open(path, "rb") as file:
        source = {"bytes": CSV, "path": path, "str-path": str(path),
                  "bytesio": io.BytesIO(CSV), "open-file": file}[kind]
        data.load_csv(source)
    # The first two numeric columns: the text column is skipped.
    assert (data.x_column, data.y_column) == ("a", "b")
    assert data.param.x_column.objects == data.param.y_column.objects == ["a", "b", "c"]
    pd.testing.assert_frame_equal(data.data, expected_points("a", "b"))
    pd.testing.assert_frame_equal(data.table, TABLE)
    assert (data.x_min, data.x_max) == (1.0, 5.0)
    assert data.note == ""
    assert data.edited is False


@pytest.mark.parametrize(
    ("columns", "expected"),
    [({"x": "c", "y": "a"}, ("c", "a")), ({"x": "b"}, ("b", "a")), ({"y": "a"}, ("b", "a")),
     ({"y": "c"}, ("a", "c"))],
)
def test_explicit_columns(columns, expected):
    data = Dataset()
    data.load_csv(CSV, **columns)
    assert (data.x_column, data.y_column) == expected
    pd.testing.assert_frame_equal(data.data, expected_points(*expected))
    assert (data.x_min, data.x_max) == (TABLE[expected[0]].min(), TABLE[expected[0]].max())


def test_a_load_refits_the_model():
    data = Dataset()
    model = RegressionModel(data=data, degree=1, test_size=0.4)
    data.load_csv(CSV, x="a", y="c")
    np.testing.assert_array_equal(model.samples_.y, TABLE.c)
    # c = 40 - 10 a exactly.
    np.testing.assert_allclose(model.coef_, [40.0, -10.0], atol=1e-9)


def test_switching_the_y_column_refits_and_an_invalid_switch_reverts():
    frame = pd.DataFrame({"x": np.linspace(0, 1, 20), "up": np.linspace(0, 2, 20),
                          "down": np.linspace(5, 1, 20),
                          "sparse": [1.0, 2.0] + [np.nan] * 18})
    data = Dataset.from_frame(frame)
    assert (data.x_column, data.y_column) == ("x", "up")
    model = RegressionModel(data=data, degree=1)
    np.testing.assert_allclose(model.coef_, [0.0, 2.0], atol=1e-9)
    data.y_column = "down"
    np.testing.assert_array_equal(model.samples_.y, frame.down)
    np.testing.assert_allclose(model.coef_, [5.0, -4.0], atol=1e-9)
    before, estimator = state(data), model.estimator_
    with pytest.raises(InvalidValue, match="Only 2 usable rows") as error:
        data.y_column = "sparse"
    assert str(error.value).endswith(KEPT)
    assert data.y_column == "down"  # the selector shows the column in use
    assert_unchanged(data, before)
    assert model.estimator_ is estimator
    data.x_column = "up"  # still switchable afterwards
    np.testing.assert_array_equal(model.samples_.x, frame.up)


def test_column_names_with_html_are_kept_verbatim():
    names = ["<b>x</b>", "y & <i>z</i>"]
    source = f'"{names[0]}","{names[1]}"\n1,2\n2,3\n3,5\n'.encode()
    data = Dataset()
    data.load_csv(source)
    assert (data.x_column, data.y_column) == tuple(names)
    assert data.param.x_column.objects == names
    assert list(data.table.columns) == names
    model = RegressionModel(data=data, degree=1)
    assert model.data.x_column == "<b>x</b>"
    np.testing.assert_array_equal(model.samples_.x, [1.0, 2.0, 3.0])


# ---- frames, arrays, and the unknown truth ----------------------------------


def test_from_frame_and_from_arrays():
    frame = pd.DataFrame({"t": ["a", "b", "c", "d"], "u": [3.0, 1.0, 2.0, 0.0],
                          "v": [1, 2, 3, 4], "w": [0.5, 0.25, 0.0, -1.0]})
    default = Dataset.from_frame(frame)
    assert (default.x_column, default.y_column) == ("u", "v")
    pd.testing.assert_frame_equal(
        default.data, pd.DataFrame({"x": [3.0, 1.0, 2.0, 0.0], "y": [1.0, 2.0, 3.0, 4.0]}))
    chosen = Dataset.from_frame(frame, x="w", y="u")
    np.testing.assert_array_equal(chosen.data.x, frame.w)
    assert (chosen.x_min, chosen.x_max) == (-1.0, 0.5)
    arrays = Dataset.from_arrays([0.0, 1.0, 2.0], np.array([5.0, 6.0, 8.0]))
    assert (arrays.x_column, arrays.y_column) == ("x", "y")
    pd.testing.assert_frame_equal(
        arrays.data, pd.DataFrame({"x": [0.0, 1.0, 2.0], "y": [5.0, 6.0, 8.0]}))
    with pytest.raises(InvalidValue, match=re.escape("Column 't' (x) is not numeric")):
        Dataset.from_frame(frame, x="t")
    with pytest.raises(InvalidValue, match="Only 2 usable rows"):
        Dataset.from_arrays([1.0, 2.0], [3.0, 4.0])


@pytest.fixture
def own_data():
    rng = np.random.default_rng(4)
    x = rng.uniform(-2, 3, 60)
    return Dataset.from_arrays(x, np.exp(x) + rng.normal(0, 0.3, 60))


def test_the_truth_is_unknown(own_data):
    model = RegressionModel(data=own_data, degree=3)
    assert model.true_rmse_ is None
    assert np.isnan(own_data.ground_truth(np.linspace(-2, 3, 7))).all()
    assert np.isnan(own_data.noise_floor())
    assert np.isfinite([model.train_rmse_, model.test_rmse_, model.train_score_]).all()
    assert verdict(Snapshot.of(model)).basis == "cross-validation"  # the truth is unknown


def test_bias_variance_needs_the_truth_but_the_validation_curve_works(own_data):
    model = RegressionModel(data=own_data, degree=3)
    snap = Snapshot.of(model)
    with pytest.raises(ValueError, match="known ground truth"):
        bias_variance(snap, replicates=10)
    max_degree = 6
    frame = validation_curve(snap, max_degree)
    assert list(frame.degree) == list(range(max_degree + 1))
    assert np.isfinite(frame[["train_rmse", "test_rmse", "cv_rmse"]].to_numpy()).all()
    for row in frame.itertuples():
        at_degree = RegressionModel(data=own_data, degree=row.degree)
        assert row.train_rmse == pytest.approx(at_degree.train_rmse_, rel=1e-8)
        assert row.test_rmse == pytest.approx(at_degree.test_rmse_, rel=1e-8)
    # Degree 0 needs the pipeline built at degree 0 (its bias column), so compare 1 ….
    _, scores = sklearn_validation_curve(
        snap.make_estimator(), snap.x_train[:, None], snap.y_train,
        param_name="polynomialfeatures__degree", param_range=list(range(1, max_degree + 1)),
        cv=snap.folds(len(snap.y_train)), scoring="neg_mean_squared_error")
    # The CV RMSE is √(mean fold MSE), what RidgeCV and LassoCV minimize.
    np.testing.assert_allclose(frame.cv_rmse[1:], np.sqrt((-scores).mean(axis=1)), rtol=1e-8)


# ---- files as spreadsheets export them -----------------------------------------

#: A UTF-16 file starts with its byte order mark, as Excel's "Unicode text" does.
BOMS = {"utf-16-le": codecs.BOM_UTF16_LE, "utf-16-be": codecs.BOM_UTF16_BE}


def encoded(text: str, encoding: str) -> bytes:
    return BOMS.get(encoding, b"") + text.encode(encoding)


def loaded_values(source: bytes, **columns) -> tuple:
    data = Dataset()
    data.load_csv(source, **columns)
    return list(data.table.columns), data.data.x.tolist(), data.data.y.tolist()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("x;y\n1,5;2,25\n-0,25;3\n3;4,5\n", (["x", "y"], [1.5, -0.25, 3.0], [2.25, 3.0, 4.5])),
        ("x;y\n1.5;2.25\n-0.25;3\n3;4.5\n", (["x", "y"], [1.5, -0.25, 3.0], [2.25, 3.0, 4.5])),
        ("x\ty\n1,5\t2,25\n-0,25\t3\n3\t4,5\n", (["x", "y"], [1.5, -0.25, 3.0], [2.25, 3.0, 4.5])),
        ("x\ty\n1.5\t2\n2\t3\n3\t5\n", (["x", "y"], [1.5, 2.0, 3.0], [2.0, 3.0, 5.0])),
        # Excel's "1,5E-03", spaces around a value, and an empty cell (NaN, dropped).
        ("t;v\n1,5E-03; 2,5 \n,5;\n2;1e2\n3;-,5\n",
         (["t", "v"], [0.0015, 2.0, 3.0], [2.5, 100.0, -0.5])),
        # Every line splits evenly on the commas too: the semicolons are the separator.
        ("Temp, °C;Druck, bar\n1,5;2,5\n3,5;4,5\n5,5;6,5\n",
         (["Temp, °C", "Druck, bar"], [1.5, 3.5, 5.5], [2.5, 4.5, 6.5])),
        ('"dose, mg","response, %"\n1,2\n2,3.5\n3,5\n',
         (["dose, mg", "response, %"], [1.0, 2.0, 3.0], [2.0, 3.5, 5.0])),
        ('"dose; mg";"response, %"\n1;2\n2;3,5\n3;5\n',
         (["dose; mg", "response, %"], [1.0, 2.0, 3.0], [2.0, 3.5, 5.0])),
        # Every line splits evenly on the semicolons too: csv.Sniffer sees the quotes.
        ('x,y,"notes; free text"\n1,2,"a; b"\n2,3,"c; d"\n3,5,"e; f"\n',
         (["x", "y", "notes; free text"], [1.0, 2.0, 3.0], [2.0, 3.0, 5.0])),
        # A ragged file: csv.Sniffer finds no separator, the field counts do.
        ("a,b\n1,2\n3,4\n5,6\n7\n", (["a", "b"], [1.0, 3.0, 5.0], [2.0, 4.0, 6.0])),
    ],
    ids=["semicolon-decimal-comma", "semicolon-decimal-point", "tab-decimal-comma",
         "tab-decimal-point", "exponent-spaces-empty", "commas-in-names", "comma-quoted-names",
         "semicolon-quoted-names", "semicolons-in-quotes", "ragged"],
)
def test_separators_and_decimal_commas(text, expected):
    assert loaded_values(text.encode()) == expected


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "utf-16-le", "utf-16-be"])
@pytest.mark.parametrize("separator", ["\t", ","])
def test_utf8_and_utf16_with_a_bom(encoding, separator):
    text = f"Größe (µm){separator}Wert\r\n1{separator}2\r\n2{separator}4\r\n3{separator}7\r\n"
    source = encoded(text, encoding)
    assert source.startswith(codecs.BOM_UTF8) == (encoding == "utf-8-sig")  # the BOM is there
    # The first name has no BOM character left in it.
    assert loaded_values(source) == (["Größe (µm)", "Wert"], [1.0, 2.0, 3.0], [2.0, 4.0, 7.0])


def test_a_decimal_comma_is_never_guessed_with_a_comma_separator():
    source = b'x,y,z\n1,2,"3,5"\n2,3,"4,5"\n3,5,"1,0"\n'
    data = Dataset()
    data.load_csv(source)
    assert data.table.z.tolist() == ["3,5", "4,5", "1,0"]
    with pytest.raises(InvalidValue, match=re.escape("Column 'z' (y) is not numeric.")):
        data.load_csv(source, y="z")


def test_a_column_with_one_value_not_a_decimal_comma_stays_text():
    # 150 rows: the odd value lies past the first 100, which are checked first.
    values = ["1,5"] * 150
    values[120] = "1.5"
    rows = "".join(f"{i};{i % 7};{value}\n" for i, value in enumerate(values))
    data = Dataset()
    data.load_csv(f"x;y;z\n{rows}".encode())
    assert not pd.api.types.is_numeric_dtype(data.table.z)
    assert data.table.z[120] == "1.5"
    assert data.table.z[0] == "1,5"


def test_a_column_of_mixed_ints_and_strings_is_read_as_numbers():
    # What a large file's column can be: whole numbers in one chunk read, text in another.
    column = pd.Series([1, "2,5", np.nan, "-3", 4], dtype=object)
    numbers = userdata._decimal_comma_numbers(column)
    np.testing.assert_array_equal(numbers, [1.0, 2.5, np.nan, -3.0, 4.0])
    assert userdata._decimal_comma_numbers(pd.Series(["1,5", "n.a."])) is None


def test_the_row_limit_holds_with_semicolons(loaded, monkeypatch):
    monkeypatch.setattr(userdata, "MAX_ROWS", 10)
    rows = "".join(f"{i},5;{i}\n" for i in range(11))
    with pytest.raises(InvalidValue) as error:
        loaded.load_csv(f"x;y\n{rows}".encode())
    assert str(error.value) == f"The table has 11 rows; the limit is 10. {KEPT}"
    loaded.load_csv(f"x;y\n{rows}".encode().rsplit(b"\n", 2)[0])  # exactly at the limit
    assert loaded.data.x.tolist() == [i + 0.5 for i in range(10)]


def test_a_file_of_quoted_text_is_sniffed_quickly():
    # Its lines split evenly on commas and on semicolons: csv.Sniffer breaks the tie.  It
    # took seconds on the first 64 KB of this; it now sees the first 4 KB.
    source = b'x,y,"note; text"\n' + b"".join(b'%d,%d,"a; b"\n' % (i, i % 5)
                                              for i in range(20_000))
    start = time.perf_counter()
    assert loaded_values(source)[0] == ["x", "y", "note; text"]
    assert time.perf_counter() - start < 2


# ---- refusals say why, in words -----------------------------------------------

NOT_TEXT = ("The file is not a text CSV file (it is not UTF-8 or UTF-16 text). Save it as "
            "'CSV UTF-8' and upload that.")
EMPTY = "The file is empty."
ONE_COLUMN = ("The file has only one column (tried comma, semicolon and tab as separators); "
              "x and y need two.")
RANDOM = np.random.default_rng(0).bytes(4096)


@pytest.mark.parametrize(
    ("source", "message"),
    [
        (b"", EMPTY),
        (codecs.BOM_UTF8, EMPTY),
        (codecs.BOM_UTF16_LE, EMPTY),
        (codecs.BOM_UTF16_BE + " \n".encode("utf-16-be"), EMPTY),
        (b" \n\t\r\n  ", EMPTY),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x01\x00", NOT_TEXT),
        (b"PK\x03\x04\x14\x00\x06\x00\x08\x00\x00\x00!\x00[Content_Types].xml", NOT_TEXT),
        (RANDOM, NOT_TEXT),
        ("x;y\n1;2\n".encode("utf-16-le"), NOT_TEXT),  # UTF-16 without its BOM
        ("x;y\n1;2\n".encode("utf-32"), NOT_TEXT),
        (codecs.BOM_UTF16_LE + b"x\x00;", NOT_TEXT),  # an odd number of bytes
        ("Größe;Wert\n1,5;2\n".encode("cp1252"), NOT_TEXT),
        (b"x,y\n1,2\x1b\n", NOT_TEXT),
        (b"x\n1\n2\n3\n", ONE_COLUMN),
        (b"x|y\n1|2\n2|3\n3|5\n", ONE_COLUMN),
        (b"x\n1,5\n2,5\n3,5\n", ONE_COLUMN),  # the first line decides the number of columns
        (b"a,b\n1,2\n3,4,5,6\n",
         "The file could not be read as CSV: line 3 has 4 fields, but the first line has 2."),
        (b'a;b\n1;2\n\n"3;4\n',
         "The file could not be read as CSV: a quote opened on line 4 is never closed."),
    ],
    ids=["0-bytes", "utf8-bom-only", "utf16-bom-only", "bom-whitespace", "whitespace", "png",
         "zip-xlsx", "random-bytes", "utf16-no-bom", "utf32", "utf16-odd", "cp1252",
         "escape-char", "one-column", "pipes", "decimal-commas", "ragged", "open-quote"],
)
def test_a_refusal_says_why_in_words_and_keeps_the_data(loaded, source, message):
    before, points = state(loaded), loaded.data.copy()
    with pytest.raises(InvalidValue) as error:
        loaded.load_csv(source)
    assert str(error.value) == f"{message} {KEPT}"
    # No codec or parser error shows in a traceback either.
    assert error.value.__cause__ is None
    assert error.value.__context__ is None or error.value.__suppress_context__
    assert_unchanged(loaded, before)
    assert loaded.data.equals(points)


def test_random_bytes_hold_nul_bytes():
    assert b"\x00" in RANDOM
    assert not RANDOM.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE))


# ---- text from the file in messages ---------------------------------------------

MARKUP = ("<img src=x onerror=alert(1)>" * 8)[:200]


def quoted_part(message: str, before: str, after: str) -> str:
    assert message.startswith(before)
    return message[len(before):message.index(after)]


@pytest.mark.parametrize("role", ["x", "y"])
def test_a_long_column_name_is_quoted_shortened(role):
    frame = pd.DataFrame({MARKUP: ["p", "q", "r"], "u": [1.0, 2.0, 3.0], "v": [2.0, 1.0, 0.0]})
    data = Dataset()
    before = state(data)
    with pytest.raises(InvalidValue) as not_numeric:
        data.load_csv(csv_bytes(frame), **{role: MARKUP})
    with pytest.raises(InvalidValue) as missing:
        data.load_csv(CSV, **{role: MARKUP})
    assert_unchanged(data, before)
    for message, (start, end) in [
            (str(not_numeric.value), ("Column ", f" ({role}) is not numeric. {KEPT}")),
            (str(missing.value), ("There is no column ", f" for {role}. {KEPT}"))]:
        assert message.endswith(end)
        part = quoted_part(message, start, end)
        assert len(part) <= 60
        assert part.startswith("'<img src=x onerror=alert(1)><img src=x")
        assert part.endswith("…")
        assert MARKUP not in message
