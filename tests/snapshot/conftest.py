"""The catalogue fixtures of tests/api, shared here."""

from tests.api.conftest import client, seeded

__all__ = ["client", "seeded"]
