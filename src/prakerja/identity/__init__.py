"""identity: accounts (citizens and staff), roles, login, OTP challenges, web sessions, partner
credentials and the PII vault (AES-GCM encryption with key ids, keyed blind index, masking).

Public API (call these; never read identity tables from other contexts):
- `vault`: encrypt/decrypt(bytes), encrypt_text/decrypt_text, blind_index(value, purpose="nik"),
  mask_digits(value, keep_start=4, keep_end=4), reveal_text(session, *, blob, actor, purpose,
  target, now) (audited), rotate(session, *, now, batch=1000), register(table, *columns).
- `passwords`: hash_password, verify_password, needs_rehash (argon2id m=19456 KiB, t=2, p=1).
- `service`: register_account, verify_email, request_password_reset, reset_password,
  start_login, resend_login_code, complete_login, staff_login, create_staff, logout,
  open_session, account_for_token, revoke_all, start_phone_verification, confirm_phone,
  settle(session, exc) / counting_refusals(session) for entrypoints catching errors.
- `deps`: OptionalAccount, CurrentAccount, CurrentCitizen, require_staff(*roles), StaffAccount.
- `rules`: normalise_phone, normalise_email, password_problem, safe_next and the limits.
- `jobs`: `identity.purge_expired`, daily at 03:00 Jakarta: set-based DELETE of login/phone
  codes, failed logins and revoked or idle sessions that ended over `rules.RETENTION` (30 days)
  ago; `purge_expired(session, *, now) -> dict[table, rows deleted]`.

Refusals that count an attempt (wrong password, wrong code, locks) are `errors.CountedRefusal`:
their counters are flushed before raising and must be committed by the entrypoint.
"""
