"""NIK parsing: examples, properties (hypothesis), bulk equals scalar, masking and the CLI."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from prakerja.region import service as region
from prakerja.registration.cli_nik import app
from prakerja.registration.nik import (
    ERROR_CODES,
    mask_nik,
    parse_nik,
    resolve_birth,
    validate_many,
)

TODAY = dt.date(2025, 6, 30)
DISTRICTS = sorted(c for c in region.known_codes() if c.count(".") == 2)
RETIRED = sorted(region.retired_regencies())


def make_nik(district: str, born: dt.date, sex: str, serial: int) -> str:
    day = born.day + (40 if sex == "P" else 0)
    return f"{district.replace('.', '')}{day:02d}{born:%m%y}{serial:04d}"


niks = st.builds(
    make_nik,
    st.sampled_from(DISTRICTS),
    st.dates(TODAY.replace(year=TODAY.year - 99) + dt.timedelta(days=1), TODAY),
    st.sampled_from("LP"),
    st.integers(1, 9999),
)


def test_a_depok_woman_born_in_1990():
    r = parse_nik("3276014501900001", today=TODAY)
    assert r.valid
    assert not r.warnings
    assert (r.province_name, r.regency_name, r.district_code) == (
        "Jawa Barat",
        "Kota Depok",
        "32.76.01",
    )
    assert (r.birth_date, r.sex, r.serial) == (dt.date(1990, 1, 5), "P", "0001")


def test_spaces_dots_and_dashes_are_ignored():
    assert parse_nik(" 3276.01-4501 900001 ", today=TODAY).nik == "3276014501900001"


@pytest.mark.parametrize(
    ("nik", "code"),
    [
        ("327601450190001", "nik_length"),
        ("32760145019000012", "nik_length"),
        ("32760145019O0001", "nik_not_digits"),
        ("３２７６０１４５０１９０００１", "nik_not_digits"),
        ("1076014501900001", "unknown_province"),
        ("3299014501900001", "unknown_regency"),
        ("3276013002900001", "impossible_date"),
        ("3276017201900001", "impossible_date"),
        ("3276012902010001", "impossible_date"),
        ("3276014501900000", "serial_zero"),
    ],
)
def test_each_rule_has_a_stable_error_code(nik, code):
    r = parse_nik(nik, today=TODAY)
    assert not r.valid
    assert r.errors[0].code == code


def test_an_unknown_district_is_only_a_warning():
    r = parse_nik("3276994501900001", today=TODAY)
    assert r.valid
    assert [w.code for w in r.warnings] == ["unknown_district"]


def test_a_retired_papua_regency_is_valid_and_names_its_successor():
    r = parse_nik("9101014501900001", today=TODAY)
    assert r.valid
    assert r.regency_name == "Kabupaten Merauke"
    assert [w.code for w in r.warnings] == ["retired_regency"]
    assert dict(r.warnings[0].params)["successor"] == "93.01"
    assert "93.01" in r.warnings[0].text("en")
    assert "sudah tidak berlaku" in r.warnings[0].text("id")


def test_the_century_gives_an_age_from_0_to_99():
    assert resolve_birth(30, 6, 25, TODAY)[0] == dt.date(2025, 6, 30)
    assert resolve_birth(1, 7, 25, TODAY)[0] == dt.date(1925, 7, 1)
    assert resolve_birth(29, 2, 0, TODAY)[0] == dt.date(2000, 2, 29)


def test_the_nik_stays_out_of_repr_and_the_mask_keeps_4_plus_4():
    r = parse_nik("3276014501900001", today=TODAY)
    assert "3276014501900001" not in repr(r)
    assert mask_nik("3276-0145-0190-0001") == "3276********0001"
    assert mask_nik("12345") == "*****"


@settings(max_examples=300, deadline=None)
@given(niks)
def test_any_generated_nik_parses_back_to_its_parts(nik):
    r = parse_nik(nik, today=TODAY)
    assert r.valid, r.errors
    district = f"{nik[:2]}.{nik[2:4]}.{nik[4:6]}"
    assert r.district_code == district
    assert r.district_name == region.name_of(district)
    assert r.regency_name == region.name_of(district[:5])
    day = int(nik[6:8])
    assert r.sex == ("P" if day > 40 else "L")
    assert r.birth_date is not None
    assert r.birth_date.day == day % 40
    assert r.birth_date.strftime("%m%y") == nik[8:12]
    assert 0 <= (TODAY - r.birth_date).days < 100 * 366
    assert r.serial == nik[12:]


@settings(max_examples=300, deadline=None)
@given(niks, st.integers(6, 11), st.integers(0, 9))
def test_a_corrupted_date_digit_is_a_real_date_or_rejected(nik, position, digit):
    bad = nik[:position] + str(digit) + nik[position + 1 :]
    r = parse_nik(bad, today=TODAY)
    if r.birth_date is None:
        assert [e.code for e in r.errors] == ["impossible_date"]
    else:
        dd, mm = int(bad[6:8]) % 40, int(bad[8:10])
        assert (r.birth_date.day, r.birth_date.month) == (dd, mm)
        assert r.valid


def _assert_bulk_equals_scalar(inputs: list[str]) -> None:
    batch = validate_many(inputs, today=TODAY)
    for i, nik in enumerate(inputs):
        r = parse_nik(nik, today=TODAY)
        assert bool(batch.valid[i]) == r.valid, nik
        assert ERROR_CODES[batch.error[i]] == (r.errors[0].code if r.errors else ""), nik
        assert batch.sex[i] == (r.sex or ""), nik
        born = batch.birth_date[i]
        assert (None if np.isnat(born) else born.astype(dt.date)) == r.birth_date, nik
        warnings = {w.code for w in r.warnings}
        assert bool(batch.retired_regency[i]) == ("retired_regency" in warnings), nik
        assert bool(batch.unknown_district[i]) == ("unknown_district" in warnings), nik


noisy = st.one_of(
    niks,
    st.builds(
        lambda n, i, c: n[:i] + c + n[i + 1 :],
        niks,
        st.integers(0, 15),
        st.sampled_from("0123456789 .-x"),
    ),
    st.text(alphabet=st.sampled_from("0123456789 .-aZ٣"), max_size=20),
    st.builds(lambda r, n: r.replace(".", "") + n[4:], st.sampled_from(RETIRED), niks),
    st.from_regex(r"\A[0-9]{16}\Z"),
)


@settings(max_examples=200, deadline=None)
@given(st.lists(noisy, min_size=1, max_size=30))
def test_bulk_validation_equals_scalar_parsing(inputs):
    _assert_bulk_equals_scalar(inputs)


def test_bulk_accepts_bytes_and_keeps_interior_nul_as_an_error():
    batch = validate_many(np.array([b"3276014501900001", b"32760145019"]), today=TODAY)
    assert batch.valid.tolist() == [True, False]
    _assert_bulk_equals_scalar(["3276014501\x00900001", "", "   ", "3276014501900001"])


runner = CliRunner()


def test_cli_check_prints_the_parts_masked():
    result = runner.invoke(app, ["check", "3276014501900001", "--today", "2025-06-30"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["nik_masked"] == "3276********0001"
    assert "3276014501900001" not in result.stdout
    assert (data["province"], data["regency_code"], data["kabupaten_kota_code"]) == (
        "Jawa Barat",
        "32.76",
        "32.76",
    )
    assert (data["birth_date"], data["sex"], data["errors"]) == ("1990-01-05", "P", [])


def test_cli_check_exits_1_with_the_errors_when_invalid():
    result = runner.invoke(app, ["check", "3276013002900000", "--lang", "en"])
    assert result.exit_code == 1
    errors = json.loads(result.stdout)["errors"]
    assert [e["code"] for e in errors] == ["impossible_date", "serial_zero"]
    assert errors[1]["message"] == "The NIK serial number cannot be 0000"
