"""Region context: provinces, kabupaten/kota and kecamatan (Kemendagri codes) and imported
population denominators.

Public functions (prakerja.region.service): name_of(code), is_known(code), successor_of(code),
regencies(), provinces(), known_codes(), sync_regions(session, now), stats(session),
import_population(session, path, source, now). Lookups work without a database.
"""
