"""sim: realistic stand-ins for outside systems (civil registry, face check, SMS gateway) that the
demo and the tests run as real HTTP servers on loopback, plus a synthetic population generator.

Run them with `prakerja sim ...` or `python -m prakerja.sim <registry|face|sms|all|population>`.
"""
