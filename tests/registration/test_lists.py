"""List imports: every row validated, bad rows reported by line, good rows loaded once."""

import pytest
from sqlalchemy import func, select

from prakerja.identity import vault
from prakerja.kit import jobs
from prakerja.kit.audit import AuditEntry
from prakerja.kit.errors import Invalid
from prakerja.registration import service_eligibility as service
from prakerja.registration import service_lists
from prakerja.registration.model_policy import (
    ListedPerson,
    ListImport,
    ListUpload,
    ListUploadPart,
)
from tests.registration.factories_eligibility import (
    NOW,
    csrf,
    kk,
    make_person,
    nik,
    staff_client,
    write_csv,
)


def _import(session, path, kind="exclusion", source="BKN ASN 2024"):
    return service_lists.import_list(
        session, path=path, kind=kind, source=source, actor="staff:t", now=NOW
    )


def test_a_clean_file_loads_every_row_by_blind_index_and_is_audited(db, tmp_path):
    path = write_csv(tmp_path / "asn.csv", [f"{nik(i)},ASN aktif" for i in range(1, 6)])
    with db.transaction() as s:
        report = _import(s, path)
    assert (report.rows_total, report.rows_loaded, report.rows_rejected) == (5, 5, 0)
    with db.transaction() as s:
        stored = set(s.scalars(select(ListedPerson.nik_bidx)))
        assert stored == {vault.blind_index(nik(i), "nik") for i in range(1, 6)}
        assert not any(nik(1) in str(v) for v in s.execute(select(ListedPerson)).all())
        entry = s.scalar(select(AuditEntry).where(AuditEntry.action == "lists.import"))
        assert entry is not None
        assert entry.data["loaded"] == 5
        assert nik(1) not in str(entry.data)


def test_bad_rows_are_reported_with_line_numbers_and_good_rows_load(db, tmp_path):
    rows = [
        f"{nik(1)},ok",  # line 2
        "12345,short",  # 3
        "32010115059A0001,letters",  # 4
        f"99{nik(2)[2:]},unknown province",  # 5
        f"{nik(1)},again",  # 6 duplicate of line 2
        f"{nik(3)},{'x' * 201}",  # 7 reason too long
        f"{nik(4)},with kk,{kk(7)}",  # 8 ok
        f"{nik(5)},bad kk,123",
    ]  # 9
    path = write_csv(tmp_path / "mixed.csv", rows, header="nik,reason,kk")
    with db.transaction() as s:
        report = _import(s, path)
    assert (report.rows_total, report.rows_loaded, report.rows_rejected) == (8, 2, 6)
    assert [(e.row, e.code) for e in report.errors] == [
        (3, "nik_length"),
        (4, "nik_not_digits"),
        (5, "unknown_province"),
        (6, "duplicate_in_file"),
        (7, "reason_too_long"),
        (9, "kk_format"),
    ]
    assert dict(report.errors[3].params) == {"first": "2"}
    with db.transaction() as s:
        batch = s.get(ListImport, report.import_id)
        assert batch.rows_rejected == 6
        assert batch.errors[0] == {
            "row": 3,
            "code": "nik_length",
            "message": "A NIK has 16 digits",
            "params": {},
        }
        kk_row = s.scalar(
            select(ListedPerson.kk_bidx).where(
                ListedPerson.nik_bidx == vault.blind_index(nik(4), "nik")
            )
        )
        assert kk_row == vault.blind_index(kk(7), "kk")


def test_reimporting_the_same_file_adds_nothing(db, tmp_path):
    path = write_csv(tmp_path / "a.csv", [f"{nik(i)},x" for i in range(1, 4)])
    with db.transaction() as s:
        _import(s, path)
    with db.transaction() as s:
        again = _import(s, path)
    assert (again.rows_loaded, again.rows_existing) == (0, 3)
    with db.transaction() as s:
        assert s.scalar(select(func.count()).select_from(ListedPerson)) == 3
        assert s.scalar(select(func.count()).select_from(ListImport)) == 2


def test_the_same_nik_from_another_source_or_list_is_its_own_entry(db, tmp_path):
    path = write_csv(tmp_path / "a.csv", [f"{nik(1)},x"])
    with db.transaction() as s:
        _import(s, path)
        assert _import(s, path, source="BKN ASN 2025").rows_loaded == 1
        assert _import(s, path, kind="priority").rows_loaded == 1
        assert s.scalar(select(func.count()).select_from(ListedPerson)) == 3


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("nomor,alasan\n3201011505950001,x\n", "Missing column"),
        (b"nik,reason\n\xff\xfe,x\n", "UTF-8"),
    ],
)
def test_an_unreadable_file_is_refused_and_nothing_is_written(db, tmp_path, content, message):
    path = tmp_path / "bad.csv"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    with db.transaction() as s, pytest.raises(service_lists.ListFileInvalid, match=message):
        _import(s, path)
    with db.transaction() as s:
        assert s.scalar(select(func.count()).select_from(ListImport)) == 0


@pytest.mark.parametrize(
    ("kind", "source"), [("enemies", "x"), ("exclusion", " "), ("exclusion", "x" * 121)]
)
def test_unknown_kind_or_bad_source_is_refused(db, tmp_path, kind, source):
    path = write_csv(tmp_path / "a.csv", [f"{nik(1)},x"])
    with db.transaction() as s, pytest.raises(Invalid):
        _import(s, path, kind=kind, source=source)


def test_facts_see_the_lists_and_count_prior_recipients_on_the_same_kk(db, tmp_path):
    with db.transaction() as s:
        person = make_person(s, 10, family=77)
        _import(s, write_csv(tmp_path / "ex.csv", [f"{nik(10)},x"]), kind="exclusion")
        rows = [f"{nik(20)},2021,{kk(77)}", f"{nik(21)},2022,{kk(77)}", f"{nik(22)},2022,{kk(5)}"]
        _import(
            s,
            write_csv(tmp_path / "prior.csv", rows, header="nik,reason,kk"),
            kind="prior_recipient",
            source="wave 1-40",
        )
        _import(
            s,
            write_csv(tmp_path / "prior2.csv", rows[:1], header="nik,reason,kk"),
            kind="prior_recipient",
            source="bank recon",
        )
        facts = service.facts_for(s, person)
        assert facts.lists == frozenset({"exclusion"})
        assert facts.kk_recipients == 2  # distinct NIKs, whatever the number of sources
        assert service.count_kk_recipients(s, person.kk_bidx) == 2
        assert set(service.check(s, person, NOW).codes) == {"on_exclusion_list", "kk_cap_reached"}


def _upload(client, token, body, *, source="BKN ASN 2024", name="asn.csv", **kw):
    """POST a list file on the operators' upload form (no redirect followed)."""
    return client.post(
        "/admin/lists/import",
        data={"csrf_token": token, "kind": "exclusion", "source": source},
        files={"file": (name, body, "text/csv")},
        follow_redirects=False,
        **kw,
    )


def test_an_operator_uploads_a_list_and_reads_the_report(db, client, tmp_path):
    staff_client(client, db, "operator")
    token = csrf(client, "/admin/lists/import")
    body = f"nik,reason\n{nik(1)},ASN\n123,bad\n".encode()
    resp = _upload(client, token, body, source="BKN ASN 2024", name="asn.csv")
    assert resp.status_code == 303
    page = client.get(resp.headers["location"])
    assert 'id="loaded">1<' in page.text
    assert 'id="rejected">1<' in page.text
    assert "nik_length" in page.text
    assert "asn.csv" in client.get("/admin/lists").text


def test_a_bad_upload_shows_the_form_again_and_writes_nothing(db, client):
    staff_client(client, db, "operator")
    token = csrf(client, "/admin/lists")
    resp = client.post(
        "/admin/lists/import",
        data={"csrf_token": token, "kind": "exclusion", "source": "x"},
        files={"file": ("a.csv", b"foo,bar\n1,2\n", "text/csv")},
    )
    assert resp.status_code == 422
    assert "Berkas daftar tidak dapat dibaca" in resp.text
    with db.transaction() as s:
        assert s.scalar(select(func.count()).select_from(ListImport)) == 0


def test_an_analyst_may_read_but_not_import(db, client):
    staff_client(client, db, "analyst")
    assert client.get("/admin/lists").status_code == 200
    token = csrf(client, "/admin/lists")
    resp = client.post(
        "/admin/lists/import",
        data={"csrf_token": token, "kind": "exclusion", "source": "x"},
        files={"file": ("a.csv", b"nik,reason\n", "text/csv")},
        headers={"accept": "application/json"},
    )
    assert resp.status_code == 403
    with db.transaction() as s:
        assert s.scalar(select(func.count()).select_from(ListImport)) == 0


def test_anonymous_visitors_are_sent_to_the_staff_login(client):
    resp = client.get("/admin/lists", follow_redirects=False)
    assert resp.status_code == 303
    assert resp.headers["location"].startswith("/staff/login")


def test_a_large_upload_is_imported_by_a_worker_and_the_page_follows_it(db, client, monkeypatch):
    """Above INLINE_MAX_BYTES the request only keeps the file (in the database, for any
    worker, in parts of PART_BYTES); a job imports it whole and the upload's page, refreshing
    itself, leads to the report."""
    monkeypatch.setattr(service_lists, "INLINE_MAX_BYTES", 10)
    monkeypatch.setattr(service_lists, "PART_BYTES", 7)  # the file in 6 parts, cut mid-line
    staff_client(client, db, "operator")
    token = csrf(client, "/admin/lists")
    body = f"nik,reason\n{nik(1)},ASN\n123,bad\n".encode()
    resp = _upload(client, token, body, source="BKN ASN 2024", name="asn.csv")
    assert resp.status_code == 303
    url = resp.headers["location"]
    assert url.startswith("/admin/lists/uploads/")
    waiting = client.get(url)
    assert 'data-status="queued"' in waiting.text
    assert '<meta http-equiv="refresh"' in waiting.text
    with db.transaction() as s:
        assert s.scalar(select(func.count()).select_from(ListImport)) == 0  # not yet
        parts = s.scalars(select(ListUploadPart.data).order_by(ListUploadPart.seq)).all()
        assert b"".join(parts) == body
        assert len(parts) == 6
    jobs.run_until_idle(db)
    done = client.get(url, follow_redirects=False)
    assert done.status_code == 303
    page = client.get(done.headers["location"])
    assert 'id="loaded">1<' in page.text
    assert 'id="rejected">1<' in page.text
    with db.transaction() as s:
        (upload,) = s.scalars(select(ListUpload)).all()
        assert upload.status == "done"
        assert s.scalar(select(func.count()).select_from(ListUploadPart)) == 0  # not kept


def test_a_large_upload_unreadable_further_down_fails_and_loads_nothing(db, client, monkeypatch):
    monkeypatch.setattr(service_lists, "INLINE_MAX_BYTES", 10)
    staff_client(client, db, "operator")
    token = csrf(client, "/admin/lists")
    body = f"nik,reason\n{nik(1)},ASN\n".encode() + b"\xff\xfe,broken\n"
    resp = _upload(client, token, body, source="BKN", name="asn.csv")
    url = resp.headers["location"]
    jobs.run_until_idle(db)
    page = client.get(url)
    assert 'data-status="failed"' in page.text
    assert '<meta http-equiv="refresh"' not in page.text
    assert "UTF-8" in page.text
    with db.transaction() as s:
        assert s.scalar(select(func.count()).select_from(ListImport)) == 0
        assert s.scalar(select(func.count()).select_from(ListedPerson)) == 0


def test_a_large_upload_with_a_wrong_header_is_refused_at_once(db, client, monkeypatch):
    monkeypatch.setattr(service_lists, "INLINE_MAX_BYTES", 10)
    staff_client(client, db, "operator")
    token = csrf(client, "/admin/lists")
    resp = client.post(
        "/admin/lists/import",
        data={"csrf_token": token, "kind": "exclusion", "source": "x"},
        files={"file": ("a.csv", b"foo,bar\n1,2\n" * 3, "text/csv")},
    )
    assert resp.status_code == 422
    assert "Berkas daftar tidak dapat dibaca" in resp.text
    with db.transaction() as s:
        assert s.scalar(select(func.count()).select_from(ListUpload)) == 0


def test_a_large_upload_whose_job_died_stops_waiting_and_says_so(db, client, monkeypatch):
    monkeypatch.setattr(service_lists, "INLINE_MAX_BYTES", 10)
    staff_client(client, db, "operator")
    token = csrf(client, "/admin/lists")
    url = _upload(client, token, f"nik,reason\n{nik(1)},ASN\n".encode()).headers["location"]
    with db.transaction() as s:
        (upload,) = s.scalars(select(ListUpload)).all()
        job = s.get(jobs.Job, upload.job_id)
        job.status, job.last_error = jobs.DEAD, "OperationalError: the database went away"
    page = client.get(url)
    assert 'data-status="failed"' in page.text
    assert '<meta http-equiv="refresh"' not in page.text
    assert "Unggah berkasnya lagi" in page.text
