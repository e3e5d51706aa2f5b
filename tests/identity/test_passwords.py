"""argon2id password hashing."""

from prakerja.identity import passwords


def test_hash_is_argon2id_with_our_parameters_and_salted():
    first, second = (
        passwords.hash_password("Kopi-tubruk-2026"),
        passwords.hash_password("Kopi-tubruk-2026"),
    )
    assert first.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    assert first != second
    assert not passwords.needs_rehash(first)


def test_verify_accepts_only_the_right_password():
    stored = passwords.hash_password("Kopi-tubruk-2026")
    assert passwords.verify_password(stored, "Kopi-tubruk-2026")
    assert not passwords.verify_password(stored, "kopi-tubruk-2026")
    assert not passwords.verify_password("not-a-hash", "Kopi-tubruk-2026")


def test_weaker_old_hashes_need_rehash():
    from argon2 import PasswordHasher

    old = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash("x" * 12)
    assert passwords.needs_rehash(old)
    assert passwords.verify_password(old, "x" * 12)
