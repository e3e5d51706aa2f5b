"""Simulator fixtures come from tests.fixtures_sim, registered in tests/conftest.py."""
