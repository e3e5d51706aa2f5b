"""Normalisation of chat Indonesian, and masking of personal data."""

import pytest

from prakerja.feedback.textnorm import SLANG, mask_pii, normalize


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("gak bisa", "tidak bisa neg_bisa"),
        ("nggak", "tidak"),
        ("Udh blm gmn", "sudah belum bagaimana neg_bagaimana"),
        ("sy dgn yg bgt", "saya dengan yang banget"),
        ("BANGEEET kecewaaa", "banget kecewa"),
        ("maaaaf kak", "maaf kakak"),
        ("anak2 sy", "anak saya"),
        ("thanks min", "terima kasih admin"),
    ],
)
def test_slang_and_stretched_letters_become_standard_words(raw, expected):
    assert normalize(raw) == expected


def test_the_slang_dictionary_has_a_few_hundred_entries():
    assert len(SLANG) >= 300
    assert all(v == v.strip() and v for v in SLANG.values())


def test_emoji_and_emoticons_become_sentiment_tokens():
    assert normalize("mantap 👍😍") == "mantap emo_pos emo_pos"
    assert normalize("kecewa 😡 :(") == "kecewa emo_neg emo_neg"
    assert normalize("ok 🙏🏻") == "oke"


def test_urls_mentions_and_hashtags_are_replaced_or_unwrapped():
    out = normalize("cek https://prakerja.go.id/faq @prakerja.id #KartuPrakerja")
    assert out == "cek urladdr mentionuser kartuprakerja"


def test_negation_is_kept_with_the_word_it_negates():
    tokens = normalize("sertifikat belum muncul dan saldo tidak masuk").split()
    assert {"belum", "tidak", "neg_muncul", "neg_masuk"} <= set(tokens)


def test_personal_numbers_and_emails_never_survive_normalisation():
    out = normalize("NIK 3201234567890001 hp +62 812-3456-7890 mail budi.s@gmail.com")
    assert out == "nik nomorpanjang hp nomorhp mail emailaddr"
    assert not any(ch.isdigit() for ch in out)


def test_stemming_is_optional_and_repeatable():
    assert normalize("pelatihannya menyenangkan", stem=True) == "latih senang"
    assert normalize("pelatihannya menyenangkan", stem=True) == "latih senang"
    assert normalize("pelatihannya menyenangkan") == "pelatihannya menyenangkan"


def test_empty_and_symbol_only_text_normalise_to_empty():
    assert normalize("") == ""
    assert normalize("... ---") == ""


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("NIK saya 3201234567890001 ya", "NIK saya 3201********0001 ya"),
        ("KK: 3201 2345 6789 0002", "KK: 3201********0002"),
        ("wa 0812-3456-7890", "wa 0812*****890"),
        ("hp +6281234567890", "hp +6281******890"),
        ("email Budi.Santoso@gmail.com ok", "email B***@gmail.com ok"),
        ("rek BCA 1234567890", "rek BCA ******7890"),
        ("ovo 123456789012", "ovo ********9012"),
    ],
)
def test_personal_data_is_masked_with_a_short_hint(raw, expected):
    assert mask_pii(raw) == expected


@pytest.mark.parametrize(
    "text",
    [
        "saldo Rp 3.500.000 belum masuk",
        "insentif Rp1.000.000.000 itu bohong",
        "gelombang 12 tanggal 2023-01-05 jam 10.30",
        "kode 123456",
    ],
)
def test_amounts_dates_and_short_codes_are_not_masked(text):
    assert mask_pii(text) == text
