"""This programme's own recipients, for registration's eligibility (found by `import_all`).

Someone selected in any wave has had the programme's one lifetime benefit, and counts towards
the family card's cap, exactly as screening counts them (`screen_sql`: `application.status =
'selected'`). Registration cannot depend on selection, so it asks every context's
`recipients` module; this is selection's answer.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from prakerja.registration.model import Person
from prakerja.selection.model import Application

_CHUNK = 1000


def _parts(keys: Sequence[str] | Select[Any]) -> Iterator[Sequence[str] | Select[Any]]:
    """Values in chunks of `_CHUNK` bound parameters; a SELECT of them as it is."""
    if isinstance(keys, Select):
        yield keys
        return
    for start in range(0, len(keys), _CHUNK):
        yield keys[start : start + _CHUNK]


def own_recipients(
    session: Session, nik_bidxs: Sequence[str] | Select[Any], kk_bidxs: Sequence[str] | Select[Any]
) -> tuple[set[str], dict[str, set[str]]]:
    """(which of `nik_bidxs` were selected in a wave, KK -> selected NIKs for `kk_bidxs`);
    either may be given as values or as a SELECT of them."""
    selected = select(Application.person_id).where(Application.status == "selected")
    niks: set[str] = set()
    for part in _parts(nik_bidxs):
        niks.update(
            session.scalars(
                select(Person.nik_bidx).where(Person.nik_bidx.in_(part), Person.id.in_(selected))
            )
        )
    by_kk: dict[str, set[str]] = {}
    for part in _parts(kk_bidxs):
        rows = session.execute(
            select(Person.kk_bidx, Person.nik_bidx).where(
                Person.kk_bidx.in_(part), Person.id.in_(selected)
            )
        )
        for kk, nik in rows:
            by_kk.setdefault(str(kk), set()).add(str(nik))
    return niks, by_kk
