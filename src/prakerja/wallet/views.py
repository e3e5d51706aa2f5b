"""Citizen card page: number, balance, deadlines, what to do next and the balance's history
(works without JS)."""

from __future__ import annotations

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse

from prakerja.identity.deps import CurrentCitizen
from prakerja.kit.clock import jakarta_date, utc_now
from prakerja.kit.routing import DbSession, new_router
from prakerja.kit.web import csrf_protect, current_language, render
from prakerja.wallet import cards, history, service_card

router = new_router(dependencies=[Depends(csrf_protect)], include_in_schema=False)

NEXT_STEP_TEXT = {
    "buy_first_course": "Buy your first course before the deadline, or the card is revoked.",
    "spend_rest": "Spend the rest of your balance before the deadline.",
    "keep_learning": "Finish your course and give your review.",
    "revoked": "This card was revoked and its balance returned to the state.",
    "closed": "This card is closed; the remaining balance returned to the state.",
}
MOVEMENT_TEXT = {
    "issue": "Training balance received",
    "purchase": "Course bought",
    "refund": "Refund of a cancelled course",
    "correction": "Correction",
    "sweep": "Balance returned to the state",
    "other": "Other",
}


@router.get("/card", response_class=HTMLResponse)
def card_page(request: Request, session: DbSession, account: CurrentCitizen) -> HTMLResponse:
    """The citizen's own card, or a note that none has been issued yet."""
    card = service_card.card_for_account(session, account.id)
    if card is None:
        return render(request, "wallet/card.html", {"card": None})
    summary = service_card.summary(session, card, jakarta_date(utc_now()))
    lang = current_language()
    return render(
        request,
        "wallet/card.html",
        {
            "card": card,
            "summary": summary,
            "next_text": NEXT_STEP_TEXT[summary.next_step],
            "grouped": " ".join(card.number[i : i + 4] for i in range(0, 16, 4)),
            "deadline": service_card.sms_date(card.first_purchase_deadline, lang),
            "spend_deadline": (
                service_card.sms_date(card.spend_rest_deadline, lang)
                if card.spend_rest_deadline
                else None
            ),
            "year_end": service_card.sms_date(cards.valid_until(card.issued_at), lang),
            "movements": history.movements(session, card.ledger_account_id),
            "movement_text": MOVEMENT_TEXT,
        },
    )
