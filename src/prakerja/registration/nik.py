"""NIK (Nomor Induk Kependudukan) parsing: pure, no database, no clock.

Layout: PP RR DD ddmmyy SSSS - province, kabupaten/kota, kecamatan (Kemendagri codes), birth
date (day + 40 for women), serial. A NIK keeps the region code it was issued with, so a regency
code retired by a later decree is valid with a warning naming its successor. `validate_many`
(nik_bulk.py) gives the same verdicts for arrays, without a Python loop per NIK.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np
import numpy.typing as npt

from prakerja.kit.clock import jakarta_date, utc_now
from prakerja.kit.i18n import gettext
from prakerja.region import service as region

SEPARATORS = " .-"
DIGITS = frozenset("0123456789")
# Errors in the order that picks the "first" error (the one validate_many reports per row).
ERROR_ORDER = (
    "nik_not_digits",
    "nik_length",
    "unknown_province",
    "unknown_regency",
    "impossible_date",
    "serial_zero",
)
MESSAGES = {
    "nik_not_digits": "A NIK has only digits",
    "nik_length": "A NIK has 16 digits",
    "unknown_province": "Unknown province code %(code)s",
    "unknown_regency": "Unknown regency code %(code)s",
    "unknown_district": "Unknown district code %(code)s",
    "retired_regency": "Regency code %(code)s was retired; it is now %(successor)s (%(name)s)",
    "impossible_date": "The birth date in the NIK is not a real date",
    "serial_zero": "The NIK serial number cannot be 0000",
}


@dataclass(frozen=True)
class Issue:
    """A stable `code`, an English msgid `message` and its parameters."""

    code: str
    message: str
    params: tuple[tuple[str, str], ...] = ()

    def text(self, language: str = "id") -> str:
        """The message in a language, parameters filled in."""
        return gettext(language, self.message, **dict(self.params))


def _issue(kind: str, **params: str) -> Issue:
    return Issue(kind, MESSAGES[kind], tuple(params.items()))


@dataclass(frozen=True)
class NikResult:
    """Everything a NIK says; `nik` and `input` are personal data and stay out of repr()."""

    input: str = field(repr=False)
    valid: bool
    nik: str = field(default="", repr=False)
    province_code: str | None = None
    regency_code: str | None = None
    district_code: str | None = None
    province_name: str | None = None
    regency_name: str | None = None
    district_name: str | None = None
    birth_date: dt.date | None = None
    sex: str | None = None
    serial: str | None = None
    warnings: tuple[Issue, ...] = ()
    errors: tuple[Issue, ...] = ()


def normalise(raw: str) -> str:
    """The input without spaces, dots and dashes."""
    return "".join(ch for ch in raw if ch not in SEPARATORS)


def mask_nik(nik: str) -> str:
    """First 4 and last 4 digits kept, the rest starred: '3201********0001'."""
    digits = normalise(nik)
    if len(digits) < 12:
        return "*" * len(digits)
    return digits[:4] + "*" * (len(digits) - 8) + digits[-4:]


def resolve_birth(dd: int, mm: int, yy: int, today: dt.date) -> tuple[dt.date | None, str | None]:
    """Birth date and sex from DDMMYY; the century gives an age of 0-99 years on `today`."""
    sex = "P" if 41 <= dd <= 71 else "L" if 1 <= dd <= 31 else None
    day = dd - 40 if sex == "P" else dd
    current = (yy, mm, day) <= (today.year % 100, today.month, today.day)
    year = today.year - today.year % 100 + yy - (0 if current else 100)
    try:
        born = dt.date(year, mm, day)
    except ValueError:
        return None, None
    return (born, sex) if sex else (None, None)


def _region_issues(nik: str) -> tuple[dict[str, str | None], list[Issue], list[Issue]]:
    prov, reg, dist = nik[:2], f"{nik[:2]}.{nik[2:4]}", f"{nik[:2]}.{nik[2:4]}.{nik[4:6]}"
    parts: dict[str, str | None] = {
        "province_code": prov,
        "regency_code": reg,
        "district_code": dist,
        "province_name": region.name_of(prov),
        "regency_name": region.name_of(reg),
        "district_name": region.name_of(dist),
    }
    errors: list[Issue] = []
    warnings: list[Issue] = []
    successor = region.successor_of(reg)
    if not region.is_known(prov):
        errors.append(_issue("unknown_province", code=prov))
    elif successor:
        warnings.append(
            _issue(
                "retired_regency",
                code=reg,
                successor=successor,
                name=region.name_of(successor) or "",
            )
        )
    elif not region.is_known(reg):
        errors.append(_issue("unknown_regency", code=reg))
    elif not region.is_known(dist):
        warnings.append(_issue("unknown_district", code=dist))
    return parts, errors, warnings


def _format_errors(nik: str) -> list[Issue]:
    errors = []
    if not set(nik) <= DIGITS:
        errors.append(_issue("nik_not_digits"))
    if len(nik) != 16:
        errors.append(_issue("nik_length"))
    return errors


def parse_nik(nik: str, *, today: dt.date | None = None) -> NikResult:
    """Parse and check one NIK; `valid` is True exactly when `errors` is empty."""
    digits = normalise(nik)
    errors = _format_errors(digits)
    if errors:
        return NikResult(input=nik, valid=False, nik=digits, errors=tuple(errors))
    parts, errors, warnings = _region_issues(digits)
    day = today or jakarta_date(utc_now())
    born, sex = resolve_birth(int(digits[6:8]), int(digits[8:10]), int(digits[10:12]), day)
    if born is None:
        errors.append(_issue("impossible_date"))
    if digits[12:] == "0000":
        errors.append(_issue("serial_zero"))
    errors.sort(key=lambda e: ERROR_ORDER.index(e.code))
    return NikResult(
        input=nik,
        valid=not errors,
        nik=digits,
        birth_date=born,
        sex=sex,
        serial=digits[12:],
        warnings=tuple(warnings),
        errors=tuple(errors),
        **parts,
    )


# --- bulk -------------------------------------------------------------------------------------

_SEPARATOR_CODES = np.array([ord(c) for c in SEPARATORS])
ERROR_CODES = ("", *ERROR_ORDER)  # NikBatch.error indexes this tuple; 0 means no error


@dataclass(frozen=True)
class NikBatch:
    """Verdicts for many NIKs, one entry per input, in input order."""

    valid: npt.NDArray[np.bool_]
    error: npt.NDArray[np.int8]  # index into ERROR_CODES: the first error in ERROR_ORDER
    sex: npt.NDArray[np.str_]  # 'L', 'P' or '' when the date field is impossible
    birth_date: npt.NDArray[np.datetime64]  # datetime64[D]; NaT when not a real date
    retired_regency: npt.NDArray[np.bool_]
    unknown_district: npt.NDArray[np.bool_]

    def error_codes(self) -> npt.NDArray[np.str_]:
        """The first error's code per row ('' when valid)."""
        return np.asarray(ERROR_CODES)[self.error]


@lru_cache(maxsize=1)
def _tables() -> dict[str, npt.NDArray[np.bool_]]:
    """Known provinces/regencies/districts and retired regencies as lookups by integer code."""
    tables = {
        "prov": np.zeros(100, bool),
        "reg": np.zeros(10_000, bool),
        "dist": np.zeros(1_000_000, bool),
        "retired": np.zeros(10_000, bool),
    }
    names = {2: "prov", 4: "reg", 6: "dist"}
    for code in region.known_codes():
        digits = code.replace(".", "")
        tables[names[len(digits)]][int(digits)] = True
    for old in region.retired_regencies():
        tables["retired"][int(old.replace(".", ""))] = True
    return tables


def _code_matrix(niks: Sequence[str] | npt.NDArray[Any]) -> npt.NDArray[np.int64]:
    """(n, width) character codes; numpy's fixed-width padding (trailing NULs) is dropped."""
    arr = np.asarray(niks)
    if arr.dtype.kind not in "SU":
        arr = arr.astype(str)
    arr = np.ascontiguousarray(arr.reshape(-1))
    unit = np.uint8 if arr.dtype.kind == "S" else np.uint32
    width = arr.dtype.itemsize // np.dtype(unit).itemsize
    return arr.view(unit).reshape(len(arr), width).astype(np.int64)


def _compact(
    codes: npt.NDArray[np.int64],
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.bool_], npt.NDArray[np.int64]]:
    """Separators removed, left-aligned in at least 16 columns; also 'has a non-digit', length."""
    n, width = codes.shape
    filled = codes != 0
    end = width - np.argmax(filled[:, ::-1], axis=1)
    end[~filled.any(axis=1)] = 0
    inside = np.arange(width) < end[:, None]
    keep = inside & ~np.isin(codes, _SEPARATOR_CODES)
    non_digit = (keep & ((codes < 48) | (codes > 57))).any(axis=1)
    length = keep.sum(axis=1)
    if width == 16 and keep.all():
        return codes, non_digit, length
    out = np.full((n, max(width, 16)), 48, np.int64)
    rows, cols = np.nonzero(keep)
    out[rows, (np.cumsum(keep, axis=1) - 1)[rows, cols]] = codes[rows, cols]
    return out, non_digit, length


def _dates(
    dd: npt.NDArray[np.int64], mm: npt.NDArray[np.int64], yy: npt.NDArray[np.int64], today: dt.date
) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.bool_], npt.NDArray[np.datetime64]]:
    """The vector form of resolve_birth: (real date, female, birth date)."""
    female = (dd >= 41) & (dd <= 71)
    male = (dd >= 1) & (dd <= 31)
    day = np.where(female, dd - 40, dd)
    key = yy * 10_000 + mm * 100 + day
    now = (today.year % 100) * 10_000 + today.month * 100 + today.day
    year = today.year - today.year % 100 + yy - np.where(key <= now, 0, 100)
    leap = (year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0))
    month_ok = (mm >= 1) & (mm <= 12)
    last = _MONTH_DAYS[np.where(month_ok, mm, 0)] + (month_ok & (mm == 2) & leap)
    real = (female | male) & month_ok & (day >= 1) & (day <= last)
    safe_m, safe_d = np.where(real, mm, 1), np.where(real, day, 1)
    born = ((year - 1970).astype("datetime64[Y]").astype("datetime64[M]") + (safe_m - 1)).astype(
        "datetime64[D]"
    ) + (safe_d - 1)
    return real, female, np.where(real, born, np.datetime64("NaT", "D"))


_MONTH_DAYS = np.array([0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])


def validate_many(
    niks: Sequence[str] | npt.NDArray[Any], *, today: dt.date | None = None
) -> NikBatch:
    """Check many NIKs at once with array operations; same verdicts as parse_nik per row."""
    day = today or jakarta_date(utc_now())
    codes, non_digit, length = _compact(_code_matrix(niks))
    fmt_ok = ~non_digit & (length == 16)
    d = np.where(fmt_ok[:, None], codes[:, :16] - 48, 0)
    prov = d[:, 0] * 10 + d[:, 1]
    reg = prov * 100 + d[:, 2] * 10 + d[:, 3]
    dist = reg * 100 + d[:, 4] * 10 + d[:, 5]
    t = _tables()
    prov_ok, retired = t["prov"][prov], t["retired"][reg]
    real, female, born = _dates(
        d[:, 6] * 10 + d[:, 7], d[:, 8] * 10 + d[:, 9], d[:, 10] * 10 + d[:, 11], day
    )
    conditions = np.stack(
        [
            non_digit,
            length != 16,
            fmt_ok & ~prov_ok,
            fmt_ok & prov_ok & ~retired & ~t["reg"][reg],
            fmt_ok & ~real,
            fmt_ok & ~d[:, 12:].any(axis=1),
        ]
    )
    error = np.where(conditions.any(axis=0), conditions.argmax(axis=0) + 1, 0).astype(np.int8)
    known_reg = fmt_ok & prov_ok & ~retired & t["reg"][reg]
    return NikBatch(
        valid=error == 0,
        error=error,
        sex=np.where(fmt_ok & real, np.where(female, "P", "L"), ""),
        birth_date=np.where(fmt_ok, born, np.datetime64("NaT", "D")),
        retired_regency=fmt_ok & prov_ok & retired,
        unknown_district=known_reg & ~t["dist"][dist],
    )
