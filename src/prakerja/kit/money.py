"""Money as integer rupiah: no floats anywhere near money."""

from __future__ import annotations

from dataclasses import dataclass

from babel.numbers import format_currency


@dataclass(frozen=True, slots=True, order=True)
class Money:
    """An integer amount in a currency's smallest unit used in practice (IDR: whole rupiah)."""

    amount: int
    currency: str = "IDR"

    def __post_init__(self) -> None:
        if not isinstance(self.amount, int) or isinstance(self.amount, bool):
            raise TypeError("Money.amount must be an int")

    def __add__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.amount + other.amount, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.amount - other.amount, self.currency)

    def _same(self, other: Money) -> None:
        if other.currency != self.currency:
            raise ValueError("currency mismatch")

    def format(self, locale: str = "id") -> str:
        """'Rp3.500.000' in Indonesian, 'IDR 3,500,000' in English."""
        return format_rupiah(self.amount, locale)


def format_rupiah(amount: int, locale: str = "id") -> str:
    """Format whole rupiah for people."""
    loc = "id_ID" if locale == "id" else "en_US"
    return format_currency(
        amount, "IDR", locale=loc, format_type="standard", currency_digits=False, format="¤#,##0"
    )


#: The largest amount any input may name (a thousand trillion rupiah): far above any budget and
#: far below the 64-bit integer limit of every database we run on.
MAX_RUPIAH = 10**15
