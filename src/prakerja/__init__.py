"""prakerja: run a national pre-employment skills programme end to end.

Bounded contexts live in sub-packages (region, identity, registration, selection, ...), each with
the same inner shape; `kit` holds the domain-free plumbing they share.
"""

__version__ = "0.1.0"
