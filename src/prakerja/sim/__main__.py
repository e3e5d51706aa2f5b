"""`python -m prakerja.sim registry|face|sms|all|population ...` (same as `prakerja sim ...`)."""

from prakerja.sim.cli import app

app(prog_name="python -m prakerja.sim")
