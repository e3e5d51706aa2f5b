"""Pure identity rules: email, password policy, phone numbers, redirects."""

import pytest

from prakerja.identity import rules


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("081234567890", "+6281234567890"),
        ("0812-3456-7890", "+6281234567890"),
        ("6281234567890", "+6281234567890"),
        ("+62 812 3456 7890", "+6281234567890"),
        ("(0857) 1234.5678", "+6285712345678"),
        ("0811234567", "+62811234567"),
    ],
)
def test_indonesian_mobile_numbers_become_e164(raw, expected):
    assert rules.normalise_phone(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "0212345678",  # Jakarta landline
        "+6591234567",  # Singapore
        "+14155550123",  # USA
        "08123",  # too short
        "0812345678901234",  # too long
        "8123456789",  # no prefix
        "08123abc890",
        "",
        "+62 0812 3456 7890",  # trunk zero after the country code
    ],
)
def test_other_numbers_are_refused(raw):
    assert rules.normalise_phone(raw) is None


@pytest.mark.parametrize(
    "password",
    [
        "short1!",
        "1234567890",
        "0987654321",
        "abcdefghijk",
        "aaaaaaaaaaaa",
        "qwertyuiop",
        "Password123",
        "indonesia2024",
        "Bismillah123!",
        "ababababab12",
    ],
)
def test_weak_passwords_are_refused(password):
    assert rules.password_problem(password) is not None


def test_a_password_containing_the_email_name_is_refused():
    assert rules.password_problem("budisantoso99x", "budisantoso@example.id") == "contains_email"


def test_a_reasonable_password_is_accepted():
    assert rules.password_problem("Kopi-tubruk-2026", "siti@example.id") is None


def test_email_is_normalised_to_lower_case_and_garbage_refused():
    assert rules.normalise_email("  Siti.Aminah@Example.ID ") == "siti.aminah@example.id"
    assert rules.normalise_email("not an email") is None
    assert rules.normalise_email("a@b") is None


@pytest.mark.parametrize(
    ("target", "ok"),
    [
        ("/dashboard", True),
        ("/courses?page=2", True),
        ("//evil.example", False),
        ("https://evil.example/", False),
        ("/\\evil.example", False),
        ("dashboard", False),
        ("", False),
        (None, False),
        ("/a\nb", False),
    ],
)
def test_only_local_paths_are_redirect_targets(target, ok):
    assert rules.is_local_path(target) is ok
    assert rules.safe_next(target) == (target if ok else "/dashboard")


def test_phone_mask_keeps_the_ends():
    assert rules.mask_phone("+6281234567890") == "+62812*****890"
