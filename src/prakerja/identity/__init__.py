"""identity: accounts (citizens and staff), roles, login, OTP challenges, web sessions, partner
credentials and the PII vault (AES-GCM encryption with key ids, keyed blind index, masking)."""
