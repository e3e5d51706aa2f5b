"""Population rows are checked one by one, every problem named with its line."""

from prakerja.region import rules

KNOWN = frozenset({"11", "11.01", "11.02"})


def _row(kode="11", pria="1", wanita="2", total="3"):
    return {"kode": kode, "nama": "x", "pria": pria, "wanita": wanita, "total": total}


def test_a_clean_file_gives_rows_and_no_errors():
    good, errors = rules.check_rows([(2, _row("0")), (3, _row("11"))], KNOWN)
    assert errors == []
    assert [r.code for r in good] == ["0", "11"]
    assert good[1].total == 3


def test_each_kind_of_bad_row_is_named_with_its_line_and_code():
    rows = [
        (2, _row("11")),
        (3, _row("99.99")),
        (4, _row("11")),
        (5, _row("11.01", pria="1.5")),
        (6, _row("11.02", total="4")),
        (7, _row("11.01", wanita="-2")),
    ]
    _, errors = rules.check_rows(rows, KNOWN)
    found = {(e.row, e.code, e.message) for e in errors}
    assert (3, "99.99", "Unknown region code") in found
    assert (4, "11", "Duplicate region code") in found
    assert (5, "11.01", "Not a whole number in column %(column)s") in found
    assert (6, "11.02", "pria + wanita does not equal total") in found
    assert any(e.row == 7 and dict(e.params) == {"column": "wanita"} for e in errors)
    assert not any(e.row == 2 for e in errors)


def test_a_header_without_total_is_refused():
    errors = rules.check_header(["kode", "nama", "pria", "wanita"])
    assert [dict(e.params)["column"] for e in errors] == ["total"]


def test_an_empty_file_is_an_error():
    good, errors = rules.check_rows([], KNOWN)
    assert good == []
    assert errors[0].message == "The file has no data rows"
