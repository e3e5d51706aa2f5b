"""learning: what happens after a course is bought, up to a verifiable certificate and the
mandatory review.

An enrolment is a confirmed marketplace order. For each of its course's sessions the programme
issues a redeem code valid from one hour before to one hour after the session starts
(`learning_redeem_code`); the platform checks and commits it, the recipient passes the
programme-hosted face check, and the platform reports attendance. When every session is
attended the partner reports completion with pre/post scores; in the same transaction the
programme issues its own certificate: canonical JSON facts signed with Ed25519 (key id in every
signature, keys at /.well-known/prakerja-keys.json) and the same facts as an Open Badges 3.0
credential with an `eddsa-jcs-2022` proof array. The PDF (with a QR code to the public
verification page) is rebuilt from the signed facts on download. The recipient must then rate
and review the course; only that completes the order in the marketplace, stamps the card's first
course finished and enqueues `payout.incentive_eligible` (person_id, order_id, card_id).

Public functions for other contexts:
- `service_enrolment.issue_redeem_codes(session, *, order_id, now) -> list[RedeemCode]`
  (issued lazily: the citizen's courses page and API and the face check issue them first)
- `service_enrolment.has_enrolment(session, card_id) -> bool` (registration's dashboard)
- `service_attendance.check_redeem_code / commit_redeem_code(session, *, partner_id,
  session_id, code, now)`, `report_attendance(...)`, `face_check(...)`
- `service_completion.record_completion(session, *, order_id, pre_score, post_score,
  partner_id, now) -> Completion`, `record_completions(session, *, partner_id, reports, now)`
  (a batch: one outcome per report, the recorded completion or the DomainError that refused
  it alone), `report_certificate(...)`, `check_certificate(cert)`
- `service_review.submit_review(session, *, account_id, order_public_id, stars, text, now)`,
  `service_review.eligible_orders(session, since=None)` (payout reconciliation)
- `service_quality.refresh_quality(session, *, now)`, `course_board`, `provider_ranking`
- `certificates.verify_certificate(facts_json, kid, signature) -> bool`,
  `certificates.verify_badge(badge_json) -> bool`
"""
