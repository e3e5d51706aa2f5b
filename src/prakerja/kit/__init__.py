"""Domain-free plumbing shared by every context: db, jobs, notify, audit, errors, money, clock,
i18n, web helpers."""
