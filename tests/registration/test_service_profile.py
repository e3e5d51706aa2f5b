"""The profile step: validation, registry name check, encryption, inert text."""

import pytest

from prakerja.identity import vault
from prakerja.kit.clock import utc_now
from prakerja.registration import service, service_profile
from tests.registration.conftest import make_citizen, person_row, profile_of, walk


def save(db, citizen, data):
    with db.transaction() as s:
        return service_profile.save_profile(
            s, account_id=citizen.account_id, data=data, now=utc_now()
        )


def test_a_valid_profile_is_saved_with_the_mothers_name_encrypted(db, people):
    who, citizen = next(people), make_citizen(db)
    walk(db, citizen, who, "profile")
    save(
        db,
        citizen,
        profile_of(
            who,
            other_aid=("bsu", "dtks"),
            disability=True,
            migrant_status="former",
            occupation="farmer_fisher",
        ),
    )
    row = person_row(db, citizen.account_id)
    assert row["profile_done_at"] is not None
    assert row["full_name"] == who.name
    assert vault.decrypt_text(row["mother_name_enc"]) == who.mother_name
    assert who.mother_name not in str(row.values())
    assert (row["other_aid"], row["disability"], row["migrant_status"], row["occupation"]) == (
        "bsu,dtks",
        True,
        "former",
        "farmer_fisher",
    )
    assert row["domicile_regency_code"] == who.regency_code
    assert row["dependants"] == 2


def test_names_that_differ_from_the_registry_are_refused(db, people):
    who, citizen = next(people), make_citizen(db)
    walk(db, citizen, who, "profile")
    before = person_row(db, citizen.account_id)
    with pytest.raises(service.FormInvalid) as exc:
        save(db, citizen, profile_of(who, full_name="Someone Else", mother_name="Another Mother"))
    assert {(e.field, e.code) for e in exc.value.errors} == {
        ("full_name", "registry_mismatch"),
        ("mother_name", "registry_mismatch"),
    }
    assert person_row(db, citizen.account_id) == before


def test_a_name_spelled_with_other_case_and_spacing_still_matches(db, people):
    who, citizen = next(people), make_citizen(db)
    walk(db, citizen, who, "profile")
    save(db, citizen, profile_of(who, full_name="  " + who.name.upper().replace(" ", "   ")))
    assert person_row(db, citizen.account_id)["full_name"] == who.name.upper()


def test_every_bad_field_is_reported_at_once_and_nothing_changes(db, people):
    who, citizen = next(people), make_citizen(db)
    walk(db, citizen, who, "profile")
    before = person_row(db, citizen.account_id)
    bad = profile_of(
        who,
        full_name="",
        address="x" * 301,
        domicile_regency_code="99.99",
        village_type="city",
        education="phd",
        marital_status="?",
        dependants="-1",
        employment_status="",
        occupation="astronaut",
        migrant_status="maybe",
        other_aid=("dtks", "free money"),
        desired_training="y" * 61,
    )
    with pytest.raises(service.FormInvalid) as exc:
        save(db, citizen, bad)
    fields = {e.field for e in exc.value.errors}
    assert fields == {
        "full_name",
        "address",
        "domicile_regency_code",
        "village_type",
        "education",
        "marital_status",
        "dependants",
        "employment_status",
        "occupation",
        "migrant_status",
        "other_aid",
        "desired_training",
    }
    assert person_row(db, citizen.account_id) == before


def test_script_in_a_text_field_is_stored_inert_and_control_characters_removed(db, people):
    who, citizen = next(people), make_citizen(db)
    walk(db, citizen, who, "profile")
    address = "Jl. Mawar <script>alert('x')</script>\x00\u202e RT 01\r\n/RW 02"
    save(db, citizen, profile_of(who, address=address))
    stored = person_row(db, citizen.account_id)["address"]
    assert stored == "Jl. Mawar <script>alert('x')</script> RT 01 /RW 02"


def test_a_name_with_markup_or_digits_is_refused(db, people):
    who, citizen = next(people), make_citizen(db)
    walk(db, citizen, who, "profile")
    for name in ("<b>Budi</b>", "Budi 2", "Budi_Santoso"):
        with pytest.raises(service.FormInvalid) as exc:
            save(db, citizen, profile_of(who, full_name=name))
        assert [e.code for e in exc.value.errors] == ["name_chars"]


def test_profile_before_identity_is_out_of_order(db, people):
    who, citizen = next(people), make_citizen(db)
    with pytest.raises(service.StepOutOfOrder):
        save(db, citizen, profile_of(who))
