"""marketplace: partners (platforms, providers) and their curation, courses and sessions,
orders bought with the card and an SMS code, vouchers, the signed partner API and webhooks.

Money moves only through the wallet ledger: placing an order holds the price on the card's
account (`card:<id>`) towards the platform's payable account (`platform:<partner id>`) with key
`order:<order id>`; the platform's confirmation posts it; a cancellation voids the hold or, once
posted, refunds it with a reversing transfer. At most one open (pending or confirmed) order per
card, enforced by a unique index. Citizens cannot cancel or swap a course.

Public functions for other contexts:
- `service_order.has_unfinished_course(session, card_id) -> bool`
- `service_order.mark_order_completed(session, *, order_id, now) -> Order` (learning)
- `service_order.get_order(session, order_id) -> Order`
- `service_catalogue.sessions_of(session, course_id) -> list[CourseSession]`
- `deps.PartnerAuth` (signed partner requests), `signing.sign(...)`
- `service_webhook.emit(session, *, partner_id, event, data, now)`
"""
