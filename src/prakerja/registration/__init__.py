"""registration: the person behind a citizen account and the registration journey: identity
(NIK, KK, date of birth) checked against the civil registry, profile, KTP photo, face check,
phone, registrant statement, basic-ability test; versioned programme policy; eligibility with
reason codes; exclusion and priority lists.

Public functions others call: `service.person_for_account`, `service.mark_step`,
`steps.next_step`, `eligibility.evaluate`, `service_eligibility.current_policy`,
`service_eligibility.check`, `service_lists.import_list`.

The identity step reaches the civil registry at most `service.REGISTRY_ATTEMPTS_PER_DAY` (5)
times per person per Jakarta day (`service.IdentityAttemptsExhausted`, a 429), so the registry's
field-by-field answer cannot be used to guess someone's KK or birth date.
"""
