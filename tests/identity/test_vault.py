"""The PII vault: encryption with key ids, rotation, blind index, masking, audited reveal."""

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select, update

from prakerja.identity import service, vault
from prakerja.identity.model import Account
from prakerja.kit import audit
from prakerja.registration.model import Person
from tests.tamper import guards_lifted

from .conftest import NOW, make_citizen

NIK = "3201014501990001"


def test_round_trip_and_fresh_nonce():
    blob = vault.encrypt_text(NIK)
    assert vault.decrypt_text(blob) == NIK
    assert vault.encrypt_text(NIK) != blob
    assert NIK.encode() not in blob
    assert vault.decrypt(vault.encrypt(b"\x00\xffphoto")) == b"\x00\xffphoto"


def test_tampered_or_relabelled_blobs_are_refused(set_keys):
    set_keys("a1", "b2")
    blob = bytearray(vault.encrypt_text(NIK))
    flipped = bytes(blob[:-1]) + bytes([blob[-1] ^ 1])
    with pytest.raises(vault.VaultError):
        vault.decrypt(flipped)
    relabelled = blob.replace(b"a1", b"b2", 1)
    with pytest.raises(vault.VaultError):
        vault.decrypt(bytes(relabelled))
    with pytest.raises(vault.VaultError):
        vault.decrypt(b"plain text")


def test_old_key_still_decrypts_after_a_new_key_is_added(set_keys):
    set_keys("old")
    blob = vault.encrypt_text(NIK)
    set_keys("new", "old")
    assert vault.key_id(blob) == "old"
    assert vault.decrypt_text(blob) == NIK
    assert vault.key_id(vault.encrypt_text(NIK)) == "new"
    set_keys("new")
    with pytest.raises(vault.VaultError, match="unknown key id"):
        vault.decrypt_text(blob)


def test_blind_index_is_stable_normalised_and_purpose_separated():
    assert vault.blind_index(NIK) == vault.blind_index("3201 0145 0199 0001")
    assert vault.blind_index(NIK) != vault.blind_index("3201014501990002")
    assert vault.blind_index(NIK, "nik") != vault.blind_index(NIK, "kk")
    assert vault.blind_index("Siti  Aminah", "name") == vault.blind_index("siti aminah", "name")
    assert len(vault.blind_index(NIK)) == 64
    assert NIK not in vault.blind_index(NIK)


def test_masking_keeps_only_the_ends():
    assert vault.mask_digits(NIK) == "3201********0001"
    assert vault.mask_digits("12345") == "*****"
    assert vault.mask_digits("1234567890", 2, 2) == "12******90"


def _person(session, account, nik):
    person = Person(
        account_id=account.id,
        nik_enc=vault.encrypt_text(nik),
        nik_bidx=vault.blind_index(nik),
        kk_enc=vault.encrypt_text("3201010101010001"),
        created_at=NOW,
        updated_at=NOW,
    )
    session.add(person)
    session.flush()
    return person


def test_rotate_reencrypts_only_stale_values_in_batches(db, set_keys):
    set_keys("old")
    with db.transaction() as s:
        for i in range(5):
            account = make_citizen(s, f"p{i}@example.id")
            _person(s, account, f"320101450199{i:04d}")
        staff, _ = service.create_staff(
            s, email="ops@example.id", password="Rahasia-kantor-77", roles=["admin"], now=NOW
        )
        staff_id = staff.id
    set_keys("new", "old")
    with db.transaction() as s:
        assert vault.rotate(s, now=NOW, batch=2) == 11  # 5 NIK + 5 KK + 1 TOTP secret
    with db.transaction() as s:
        assert vault.rotate(s, now=NOW, batch=2) == 0
    set_keys("new")  # the old key is gone: everything must still decrypt
    with db.transaction() as s:
        niks = sorted(vault.decrypt_text(b) for b in s.scalars(select(Person.nik_enc)))
        assert niks == [f"320101450199{i:04d}" for i in range(5)]
        totp = s.get(Account, staff_id).totp_secret_enc
        assert vault.key_id(totp) == "new"
        assert len(vault.decrypt_text(totp)) == 32


def test_rotate_stops_on_a_value_no_key_can_read(db, set_keys):
    set_keys("old")
    with db.transaction() as s:
        _person(s, make_citizen(s), NIK)
    set_keys("new")
    with db.transaction() as s, pytest.raises(vault.VaultError):
        vault.rotate(s, now=NOW)


def test_reveal_is_audited_and_the_chain_verifies(db):
    with db.transaction() as s:
        person = _person(s, make_citizen(s), NIK)
        shown = vault.reveal_text(
            s,
            blob=person.nik_enc,
            actor="staff:abc",
            purpose="ticket 42",
            target=f"person:{person.id}",
            now=NOW,
        )
        assert shown == NIK
        vault.reveal_text(
            s,
            blob=person.nik_enc,
            actor="staff:abc",
            purpose="ticket 43",
            target=f"person:{person.id}",
            now=NOW + dt.timedelta(seconds=1),
        )
    with db.transaction() as s:
        entries = s.scalars(
            select(audit.AuditEntry)
            .where(audit.AuditEntry.action == "pii.reveal")
            .order_by(audit.AuditEntry.id)
        ).all()
        assert [e.data["purpose"] for e in entries] == ["ticket 42", "ticket 43"]
        assert all(NIK not in str(e.data) for e in entries)
        assert audit.verify(s).ok
        with guards_lifted(s, "audit_log"):  # as the tables' owner could
            s.execute(
                update(audit.AuditEntry)
                .where(audit.AuditEntry.id == entries[0].id)
                .values(target="person:other")
            )
        assert not audit.verify(s).ok


def test_reveal_without_a_purpose_is_refused_and_not_decrypted(db):
    with db.transaction() as s, pytest.raises(vault.VaultError):
        vault.reveal_text(
            s, blob=vault.encrypt_text(NIK), actor="x", purpose=" ", target="t", now=NOW
        )


@settings(max_examples=300, deadline=None)
@given(
    values=st.lists(
        st.one_of(st.none(), st.text(max_size=20), st.from_regex(r"\d{16}", fullmatch=True))
    ),
    purpose=st.sampled_from(["nik", "kk", "name"]),
)
def test_bulk_blind_indexes_equal_one_by_one(values, purpose):
    """The list import's bulk path gives exactly the lookups' blind index of each value."""
    one_by_one = [None if v is None else vault.blind_index(v, purpose) for v in values]
    assert vault.blind_indexes(values, purpose) == one_by_one
