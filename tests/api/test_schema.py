"""The OpenAPI schema: docs/openapi.yaml is what the code generates, and it is valid."""

from pathlib import Path

import pytest
import yaml
from django.core.management import call_command
from django.test import Client

DOCUMENTED = Path(__file__).resolve().parents[2] / "docs" / "openapi.yaml"
REGENERATE = (
    "docs/openapi.yaml is behind the code; regenerate it with "
    "`.venv/bin/python manage.py spectacular --validate --fail-on-warn --file docs/openapi.yaml`"
)


@pytest.fixture(scope="module")
def documented() -> dict:
    return yaml.safe_load(DOCUMENTED.read_text())


def test_the_checked_in_schema_is_the_generated_one_and_it_validates(
    tmp_path: Path, documented: dict
) -> None:
    generated = tmp_path / "openapi.yaml"

    # --validate checks the result against the OpenAPI specification; --fail-on-warn makes any
    # view drf-spectacular cannot describe an error.
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(generated))

    assert yaml.safe_load(generated.read_text()) == documented, REGENERATE


@pytest.mark.django_db
def test_the_served_schema_is_the_checked_in_one(documented: dict) -> None:
    response = Client().get("/api/schema/")

    assert response.status_code == 200
    assert yaml.safe_load(response.content) == documented


@pytest.mark.django_db
def test_the_docs_page_renders_and_points_at_the_schema() -> None:
    response = Client().get("/api/docs/")

    assert response.status_code == 200
    assert "/api/schema/" in response.content.decode()


# Operations that name no resource, so they cannot answer 404.
NAMES_NOTHING = {"GET /api/v1/version"}


def test_every_operation_documents_its_errors_and_security(documented: dict) -> None:
    for path, operations in documented["paths"].items():
        for method, operation in operations.items():
            where = f"{method.upper()} {path}"
            expected = {"401", "429"} if where in NAMES_NOTHING else {"401", "404", "429"}
            assert expected <= set(operation["responses"]), where
            assert {"bearerToken": []} in operation["security"], where
            for status, response in operation["responses"].items():
                if status.startswith(("4", "5")):
                    schema = response["content"]["application/json"]["schema"]
                    assert schema == {"$ref": "#/components/schemas/ErrorOut"}, where


def test_write_operations_document_the_rate_limit(documented: dict) -> None:
    writes = [
        ("/api/v1/rooms/{room_id}/messages", "post"),
        ("/api/v1/rooms/{room_id}/messages/{seq}", "patch"),
        ("/api/v1/rooms/{room_id}/messages/{seq}", "delete"),
        ("/api/v1/rooms/{room_id}/join", "post"),
        ("/api/v1/rooms/{room_id}/leave", "post"),
    ]

    for path, method in writes:
        assert "429" in documented["paths"][path][method]["responses"], f"{method} {path}"


def test_every_answer_of_every_operation_documents_the_rate_limit_headers(documented: dict) -> None:
    budget = {"RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset"}
    for path, operations in documented["paths"].items():
        for method, operation in operations.items():
            for status, response in operation["responses"].items():
                where = f"{status} of {method.upper()} {path}"
                assert budget <= set(response["headers"]), where
            assert "Retry-After" in operation["responses"]["429"]["headers"], method + path
    for name in budget | {"Retry-After"}:
        assert documented["components"]["headers"][name]["schema"]["type"] == "integer"
