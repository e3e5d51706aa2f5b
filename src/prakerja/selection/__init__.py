"""Selection: waves, quotas and the verifiable lottery (this package holds its pure core).

Owns: quota apportionment (`quota.split_quota`), the draw (`draw.draw`), the published files
(`poolfile.encode_pool`, `poolfile.seal`, `poolfile.verify`) and seed commitments
(`poolfile.commit`, `poolfile.check_reveal`). docs/selection-algorithm.md is the normative
description that anyone can re-implement to re-run a draw.

Public functions:
- `quota.split_quota(QuotaInputs) -> dict[cell code, int]` and `quota.read_indicator_csv`
- `poolfile.pseudonym(wave_secret, person_id) -> 16 bytes`
- `poolfile.commit(secret) -> hex`, `poolfile.check_reveal(commitment, secret) -> bool`
- `poolfile.encode_pool(rows) -> bytes`, `poolfile.decode_pool(bytes) -> rows`
- `draw.draw(rows, DrawSpec) -> DrawResult` (winners, per-cell ranked waitlist)
- `poolfile.seal(params, rows, result) -> bytes`, `poolfile.verify(pool, params) -> VerifyReport`
"""
