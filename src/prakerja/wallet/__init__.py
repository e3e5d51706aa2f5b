"""wallet: the double-entry ledger and the training cards built on it.

Sign convention (one table, never changed):

| entry amount | meaning for the account                       |
|--------------|-----------------------------------------------|
| positive     | value flows IN  (a recipient's balance grows) |
| negative     | value flows OUT (a recipient's balance falls) |

A transfer of X from A to B is two entries: A -X, B +X; the entries of every transfer sum to
zero. An account's `balance` is the sum of its posted entries (kept as a cached column, updated
in the same statement that checks it). Source accounts such as the programme budget are
`allow_negative` (their negative balance is what the programme has issued); recipient balances
never go negative.

Two-phase transfers: `hold` reserves X on the source (`held += X`, refused unless
balance - held >= X), then `post` turns it into entries or `void` releases it.
Ledger rows are append-only, and the database enforces it (migration 0002: entries are never
updated or deleted, a transfer only settles from pending, once); a correction is a reversing
transfer. Every transfer carries an
idempotency key; the same key with a different payload is refused.

Public functions: `service.open_account`, `service.transfer`, `service.hold`, `service.post`,
`service.void`, `service.reverse`, `service.balance`, `check.check_ledger`.
"""
