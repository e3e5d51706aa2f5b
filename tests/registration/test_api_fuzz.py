"""schemathesis over the registration API as a logged-in citizen: no 500s, schema-true answers.

The shared fuzz test calls these routes anonymously (all 401s); this one logs a citizen in so
the generated bodies reach the services. Left out: TRACE's missing Allow header (the shared
error handler's, kit.web) and "schema-valid data must be accepted", which no schema can promise
for rules across fields and records (the NIK's birth date, the civil registry's answer).
"""

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance, unsupported_method

from prakerja.app import create_app
from prakerja.identity.service_session import COOKIE
from prakerja.kit.db import Database
from prakerja.settings import get_settings
from tests.registration.conftest import make_citizen, walk

APP = create_app(get_settings(), Database("sqlite://"))
schema = schemathesis.openapi.from_asgi("/api/openapi.json", APP).include(
    path_regex="^/api/v1/registration/(me|identity|profile|phone)"
)


@schema.parametrize()
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
    ],
)
def test_registration_api_honours_its_schema_when_logged_in(case, db: Database, people):
    APP.state.db = db
    citizen = make_citizen(db)
    if case.path.endswith("/profile"):
        walk(db, citizen, next(people), "profile")  # so profile bodies reach validation
    case.call_and_validate(
        headers={"cookie": f"{COOKIE}={citizen.token}"},
        excluded_checks=[unsupported_method, positive_data_acceptance],
    )
