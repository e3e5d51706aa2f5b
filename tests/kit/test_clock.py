"""Times on pages are Jakarta time, labelled WIB; days are Jakarta days."""

import datetime as dt

from prakerja.kit.clock import wib, wib_date


def test_an_instant_is_shown_in_jakarta_time_with_its_label():
    late = dt.datetime(2026, 11, 29, 17, 30, tzinfo=dt.UTC)  # 00:30 on 30 Nov in Jakarta
    assert wib(late) == "30-11-2026 00:30 WIB"
    assert wib(late, "%H:%M") == "00:30 WIB"
    assert wib(late, "%H:%M", label=False) == "00:30"
    assert wib_date(late) == "30-11-2026"


def test_naive_values_are_utc_and_none_is_empty():
    naive = dt.datetime(2026, 1, 1, 2, 0, tzinfo=dt.UTC).replace(tzinfo=None)
    assert wib(naive) == "01-01-2026 09:00 WIB"
    assert wib_date(naive + dt.timedelta(hours=18)) == "02-01-2026"
    assert wib(None) == ""
    assert wib_date(None) == ""
