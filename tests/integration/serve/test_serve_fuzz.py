"""Schema-based fuzzing (schemathesis) of every API operation: zero server errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

schemathesis = pytest.importorskip("schemathesis")
from hypothesis import HealthCheck, settings  # noqa: E402
from schemathesis.checks import not_a_server_error  # noqa: E402

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def api_app(tmp_path_factory: pytest.TempPathFactory) -> Any:
    from serve_it_helpers import TOKEN, make_artifacts

    from discoverly.serve import ServeConfig, create_app

    root = make_artifacts(tmp_path_factory.mktemp("fuzz-artifacts"))
    exp = {"name": "fz", "arms": [{"name": "a", "version": "v0001", "share": 0.5},
                                  {"name": "b", "version": "v0002", "share": 0.5}]}
    return create_app(ServeConfig(artifacts=Path(root), admin_token=TOKEN, experiments=[exp],
                                  reload_poll_seconds=0, max_batch=50))


def test_no_server_errors(api_app: Any) -> None:
    """Every operation of the OpenAPI schema, fed schema-generated (and schema-violating) input."""
    from hypothesis import given
    from hypothesis import strategies as st
    from serve_it_helpers import TOKEN

    schema = schemathesis.openapi.from_asgi("/openapi.json", api_app)
    failures: list[str] = []
    operations = 0
    modes = [schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE]
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1

        @given(case=st.one_of([operation.as_strategy(generation_mode=m) for m in modes]))
        @settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def run(case: Any) -> None:
            if case.path.startswith("/admin"):
                case.headers = {**(case.headers or {}), "Authorization": f"Bearer {TOKEN}"}
            response = case.call()
            if response.status_code >= 500:
                failures.append(f"{case.method} {case.formatted_path} -> {response.status_code}: "
                                f"{response.text[:300]}")
            case.validate_response(response, checks=[not_a_server_error])

        run()
    assert operations >= 8
    assert not failures, "\n".join(failures[:10])
