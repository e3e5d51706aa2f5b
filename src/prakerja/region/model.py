"""Tables of the region context: the region tree and population per region and source."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, Boolean, SmallInteger, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from prakerja.kit.db import Base, BigId, UTCDateTime


class Region(Base):
    """A province, kabupaten/kota or kecamatan by its dotted Kemendagri code."""

    __tablename__ = "region"

    code: Mapped[str] = mapped_column(String(13), primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    level: Mapped[int] = mapped_column(SmallInteger, index=True)
    parent_code: Mapped[str | None] = mapped_column(String(13), index=True)
    type: Mapped[str] = mapped_column(String(12))
    retired: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))


class RegionPopulation(Base):
    """Residents of one region as counted by one source (code '0' is the whole country)."""

    __tablename__ = "region_population"
    __table_args__ = (UniqueConstraint("code", "source"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    code: Mapped[str] = mapped_column(String(13))
    source: Mapped[str] = mapped_column(String(60))
    male: Mapped[int] = mapped_column(BigInteger)
    female: Mapped[int] = mapped_column(BigInteger)
    total: Mapped[int] = mapped_column(BigInteger)
    imported_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
