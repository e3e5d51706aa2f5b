"""Policy versions (draft, edit, publish, immutable) and the diff preview over every person."""

import datetime as dt

import pytest
from sqlalchemy import select

from prakerja.kit import jobs
from prakerja.kit.audit import AuditEntry
from prakerja.registration import eligibility, policy, service_lists
from prakerja.registration import service_eligibility as service
from prakerja.registration.policy import PRESETS
from tests.registration.factories_eligibility import (
    NOW,
    csrf,
    make_person,
    nik,
    staff_client,
    write_csv,
)


def _published(s, code="2023.1", preset="2023+"):
    draft = service.create_draft(s, code=code, preset=preset, actor="staff:t", now=NOW)
    return service.publish(s, version_id=draft.id, actor="staff:t", now=NOW)


def test_without_a_published_version_the_2023_preset_is_current(db):
    with db.transaction() as s:
        version, rules = service.current_policy(s)
    assert version.id is None
    assert rules == PRESETS["2023+"]


def test_the_newest_published_version_is_current_and_drafts_are_not(db):
    with db.transaction() as s:
        _published(s, "2020.1", "2020-22")
        service.create_draft(s, code="2023.1", preset="2023+", actor="staff:t", now=NOW)
        version, rules = service.current_policy(s)
        assert version.code == "2020.1"
        assert rules == PRESETS["2020-22"]
        later = service.create_draft(s, code="2023.2", actor="staff:t", now=NOW)
        service.publish(s, version_id=later.id, actor="staff:t", now=NOW + dt.timedelta(1))
        assert service.current_policy(s)[0].code == "2023.2"


def test_a_published_version_cannot_change(db):
    with db.transaction() as s:
        version = _published(s)
        changed = policy.with_changes(PRESETS["2023+"], kk_cap=3)
        with pytest.raises(service.PolicyImmutable):
            service.update_draft(s, version_id=version.id, rules=changed, actor="x", now=NOW)
        with pytest.raises(service.PolicyImmutable):
            service.publish(s, version_id=version.id, actor="x", now=NOW)
        assert service.rules_of(version) == PRESETS["2023+"]


def test_drafts_copy_edit_and_every_action_is_audited(db):
    with db.transaction() as s:
        source = _published(s, "2020.1", "2020-22")
        draft = service.create_draft(
            s, code="2021.1", copy_from=source.id, actor="staff:a", now=NOW
        )
        assert service.rules_of(draft) == PRESETS["2020-22"]
        service.update_draft(
            s,
            version_id=draft.id,
            actor="staff:a",
            now=NOW,
            rules=policy.with_changes(PRESETS["2020-22"], age_max=64),
        )
        actions = list(s.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))
        assert actions == [
            "policy.create_draft",
            "policy.publish",
            "policy.create_draft",
            "policy.update_draft",
        ]
        last = s.scalar(select(AuditEntry).order_by(AuditEntry.id.desc()).limit(1))
        assert last.data["changes"] == [["age_max", None, 64]]


@pytest.mark.parametrize(
    ("code", "error"), [("2023", service.PolicyInvalid), ("2023.1", service.PolicyCodeTaken)]
)
def test_version_codes_are_checked(db, code, error):
    with db.transaction() as s:
        _published(s)
        with pytest.raises(error):
            service.create_draft(s, code=code, actor="x", now=NOW)


def _population(s, tmp_path):
    make_person(s, 1)  # fine under both
    make_person(s, 2, other_aid="bsu")  # loses eligibility under 2020-22
    make_person(s, 3, born=dt.date(1955, 1, 2))  # 70: regains it (no maximum)
    make_person(s, 4)  # on the exclusion list: never
    make_person(s, 5, complete=False)  # incomplete: never
    service_lists.import_list(
        s,
        path=write_csv(tmp_path / "x.csv", [f"{nik(4)},ASN"]),
        kind="exclusion",
        source="BKN",
        actor="t",
        now=NOW,
    )


def test_the_diff_counts_who_gains_and_who_loses_by_reason(db, tmp_path):
    with db.transaction() as s:
        _population(s, tmp_path)
        draft = service.create_draft(s, code="2025.1", preset="2020-22", actor="t", now=NOW)
        report = service.diff_preview(s, draft_id=draft.id, now=NOW)
    assert (report.total, report.eligible_before, report.eligible_after) == (5, 2, 2)
    assert (report.newly_eligible, report.newly_ineligible) == (1, 1)
    assert dict(report.reasons_added) == {"other_aid_recipient": 1}
    assert dict(report.reasons_removed) == {"age_above_max": 1}
    assert report.sample_newly_eligible == [nik(3, dt.date(1955, 1, 2))[:4] + "*" * 8 + "0003"]
    assert report.sample_newly_ineligible == [
        (nik(2)[:4] + "*" * 8 + "0002", ("other_aid_recipient",))
    ]
    assert {c.field for c in report.changes} >= {"exclude_other_aid", "age_max"}


def test_people_who_share_their_facts_are_each_counted_and_sampled(db):
    """The preview evaluates each distinct set of facts once; the counts stay per person."""
    with db.transaction() as s:
        for serial in range(6, 11):  # the same facts five times: all lose eligibility
            make_person(s, serial, other_aid="bsu")
        make_person(s, 11, born=dt.date(1955, 1, 2))  # and one who gains it
        draft = service.create_draft(s, code="2025.1", preset="2020-22", actor="t", now=NOW)
        report = service.diff_preview(s, draft_id=draft.id, now=NOW, sample=3)
    assert (report.total, report.eligible_before, report.eligible_after) == (6, 5, 1)
    assert (report.newly_eligible, report.newly_ineligible) == (1, 5)
    assert dict(report.reasons_added) == {"other_aid_recipient": 5}
    assert dict(report.reasons_removed) == {"age_above_max": 1}
    assert [m[-4:] for m, _ in report.sample_newly_ineligible] == ["0006", "0007", "0008"]
    assert len(report.sample_newly_eligible) == 1


def test_bulk_facts_equal_one_by_one_facts(db, tmp_path):
    with db.transaction() as s:
        _population(s, tmp_path)
        bulk = {pid: facts for pid, _, facts in service.iter_facts(s, chunk=2, own=True)}
        from prakerja.registration.model import Person

        for person in s.scalars(select(Person)):
            assert bulk[person.id] == service.facts_for(s, person)


def test_an_unchanged_draft_changes_nobody(db, tmp_path):
    with db.transaction() as s:
        _population(s, tmp_path)
        draft = service.create_draft(s, code="2025.1", preset="2023+", actor="t", now=NOW)
        report = service.diff_preview(s, draft_id=draft.id, now=NOW, sample=0)
    assert report.changes == ()
    assert report.newly_eligible == report.newly_ineligible == 0
    assert report.eligible_before == report.eligible_after == 2


def _form(rules, token):
    data = policy.rules_to_json(rules)
    form = {k: "" if v is None else str(v) for k, v in data.items() if not isinstance(v, list)}
    for name in ("exclude_other_aid", "exclude_students"):
        form[name] = "1" if data[name] else ""
    return form | {
        "csrf_token": token,
        "excluded_occupations": data["excluded_occupations"],
        "other_aid_programmes": data["other_aid_programmes"],
    }


def test_an_operator_drafts_edits_previews_and_publishes(db, client, tmp_path):
    with db.transaction() as s:
        _population(s, tmp_path)
    staff_client(client, db, "operator")
    token = csrf(client, "/admin/policy")
    resp = client.post(
        "/admin/policy",
        data={"csrf_token": token, "code": "2025.1", "source": "preset:2023+"},
        follow_redirects=False,
    )
    assert resp.status_code == 303
    url = resp.headers["location"]
    bad = client.post(f"{url}/edit", data=_form(PRESETS["2023+"], token) | {"age_min": "abc"})
    assert bad.status_code == 422
    assert 'aria-invalid="true"' in bad.text
    ok = client.post(f"{url}/edit", data=_form(PRESETS["2020-22"], token), follow_redirects=False)
    assert ok.status_code == 303
    assert 'data-status="none"' in client.get(f"{url}/diff").text  # nothing computed yet
    asked = client.post(f"{url}/diff", data={"csrf_token": token}, follow_redirects=False)
    assert (asked.status_code, asked.headers["location"]) == (303, f"{url}/diff")
    waiting = client.get(f"{url}/diff")  # a worker computes it; the page refreshes itself
    assert 'data-status="queued"' in waiting.text
    assert '<meta http-equiv="refresh"' in waiting.text
    assert "newly-eligible" not in waiting.text
    jobs.run_until_idle(db)
    diff = client.get(f"{url}/diff")
    assert 'data-status="done"' in diff.text
    assert '<meta http-equiv="refresh"' not in diff.text
    assert 'id="newly-eligible">1<' in diff.text
    assert 'id="newly-ineligible">1<' in diff.text
    assert nik(2)[:4] + "*" * 8 + "0002" in diff.text
    edited = _form(PRESETS["2020-22"], token) | {"age_min": "19"}
    assert client.post(f"{url}/edit", data=edited, follow_redirects=False).status_code == 303
    assert 'data-status="done-stale"' in client.get(f"{url}/diff").text  # rules changed since
    assert (
        client.post(
            f"{url}/publish", data={"csrf_token": token}, follow_redirects=False
        ).status_code
        == 303
    )
    again = client.post(f"{url}/edit", data=_form(PRESETS["2023+"], token))
    assert again.status_code == 409
    body = client.get("/api/v1/policy").json()
    assert body["code"] == "2025.1"
    assert body["rules"]["training_balance"] == 1_000_000


def test_a_duplicate_code_shows_the_form_again(db, client):
    with db.transaction() as s:
        _published(s)
    staff_client(client, db, "operator")
    token = csrf(client, "/admin/policy")
    resp = client.post(
        "/admin/policy", data={"csrf_token": token, "code": "2023.1", "source": "preset:2023+"}
    )
    assert resp.status_code == 409
    assert "Versi kebijakan dengan kode ini sudah ada" in resp.text


def test_the_current_policy_is_public_and_versions_are_for_staff(db, client):
    body = client.get("/api/v1/policy").json()
    assert body["id"] is None
    assert body["rules"] == policy.rules_to_json(PRESETS["2023+"])
    assert client.get("/api/v1/policy/versions").status_code == 401
    staff_client(client, db, "auditor")
    assert client.get("/api/v1/policy/versions").json() == []


def test_reason_codes_are_stable():
    assert eligibility.REASON_CODES == (
        "registration_incomplete",
        "registry_not_matched",
        "age_below_min",
        "age_above_max",
        "excluded_occupation",
        "other_aid_recipient",
        "on_exclusion_list",
        "student",
        "blacklisted",
        "prior_recipient",
        "kk_cap_reached",
    )


def test_a_preview_run_is_queued_once_computed_by_the_job_and_goes_stale(db, tmp_path):
    from prakerja.registration import service_policy_diff as diffs

    with db.transaction() as s:
        _population(s, tmp_path)
        draft = service.create_draft(s, code="2025.1", preset="2020-22", actor="t", now=NOW)
        first = diffs.request(s, version_id=draft.id, actor="staff:t", now=NOW)
        again = diffs.request(s, version_id=draft.id, actor="staff:t", now=NOW)
        assert first.id == again.id  # one queued run per version
        draft_id, run_id = draft.id, first.id
    assert jobs.run_until_idle(db) == 1
    with db.transaction() as s:
        run = diffs.latest(s, draft_id)
        assert (run.id, run.status) == (run_id, "done")
        stored = diffs.from_json(run.report)
        direct = service.diff_preview(s, draft_id=draft_id, now=NOW)
        assert stored == direct  # what the page shows is what diff_preview computes
        assert not diffs.is_stale(s, run)
        _published(s, code="2025.2", preset="2020-22")  # the current policy changes
        assert diffs.is_stale(s, run)
        assert diffs.request(s, version_id=draft_id, actor="staff:t", now=NOW).id != run_id
    with db.transaction() as s, pytest.raises(service.PolicyNotFound):
        diffs.request(s, version_id=999_999, actor="staff:t", now=NOW)


def test_a_preview_whose_job_died_says_so_and_can_be_asked_for_again(db, client, tmp_path):
    from prakerja.registration import service_policy_diff as diffs

    with db.transaction() as s:
        _population(s, tmp_path)
        draft = service.create_draft(s, code="2025.1", preset="2020-22", actor="t", now=NOW)
        run = diffs.request(s, version_id=draft.id, actor="staff:t", now=NOW)
        draft_id, first = draft.id, run.id
        job = s.get(jobs.Job, run.job_id)
        job.status, job.last_error = jobs.DEAD, "OperationalError: the database went away"
    staff_client(client, db, "operator")
    url = f"/admin/policy/{draft_id}/diff"
    page = client.get(url)
    assert 'data-status="failed"' in page.text
    assert '<meta http-equiv="refresh"' not in page.text  # no refreshing forever
    token = csrf(client, url)
    assert client.post(url, data={"csrf_token": token}, follow_redirects=False).status_code == 303
    with db.transaction() as s:
        assert s.get(diffs.PolicyDiffRun, first).status == "failed"
        assert diffs.latest(s, draft_id).id != first
    jobs.run_until_idle(db)
    assert 'data-status="done"' in client.get(url).text


def test_a_new_draft_starts_from_the_policy_in_force_unless_the_operator_picks_another(db, client):
    import re

    staff_client(client, db, "operator")
    page = client.get("/admin/policy").text
    chosen = re.findall(r'<option value="([^"]+)" selected>', page)
    assert chosen == []  # nothing published yet: the built-in presets only, the first chosen
    token = csrf(client, "/admin/policy")
    made = client.post(
        "/admin/policy",
        data={"csrf_token": token, "code": "2023.1", "source": "preset:2023+"},
        follow_redirects=False,
    )
    version_id = made.headers["location"].rsplit("/", 1)[-1]
    with db.transaction() as s:
        service.publish(s, version_id=int(version_id), actor="t", now=dt.datetime.now(dt.UTC))
    page = client.get("/admin/policy").text
    assert re.findall(r'<option value="([^"]+)" selected>', page) == [f"copy:{version_id}"]
    assert "Salinan dari 2023.1 (berlaku)" in page
