"""What the OpenAPI schema says of every operation that the views do not each declare."""

from typing import Any

from api.budget import LIMIT_HEADER, REMAINING_HEADER, RESET_HEADER

_HEADERS = {
    LIMIT_HEADER: "Requests the client's API budget allows at once (its burst).",
    REMAINING_HEADER: "Whole requests left in the budget now; 0 on a 429 `rate_limited`.",
    RESET_HEADER: "Whole seconds until the budget is full again.",
}
_RETRY_AFTER = "Retry-After"
_RATE_LIMITED = (
    "Rate limited (`rate_limited`): the client's API budget, or for writes and searches their "
    "own limit, is spent; see Retry-After"
)


def _header_ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/headers/{name}"}


def add_rate_limit_answers(result: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """drf-spectacular postprocessing hook: the budget's headers on every answer of every
    operation, and the 429 on every operation (api/budget.py)."""
    headers = result.setdefault("components", {}).setdefault("headers", {})
    for name, description in _HEADERS.items():
        headers[name] = {"description": description, "schema": {"type": "integer", "minimum": 0}}
    headers[_RETRY_AFTER] = {
        "description": "Whole seconds to wait before trying again.",
        "schema": {"type": "integer", "minimum": 1},
    }
    for operations in result.get("paths", {}).values():
        for operation in operations.values():
            responses = operation["responses"]
            responses.setdefault(
                "429",
                {
                    "content": {
                        "application/json": {"schema": {"$ref": "#/components/schemas/ErrorOut"}}
                    },
                    "description": "",
                },
            )
            responses["429"]["description"] = _RATE_LIMITED
            for status, response in responses.items():
                response_headers = response.setdefault("headers", {})
                for name in _HEADERS:
                    response_headers[name] = _header_ref(name)
                if status == "429":
                    response_headers[_RETRY_AFTER] = _header_ref(_RETRY_AFTER)
    return result
