"""Endpoints for load balancers and monitoring: /healthz, /readyz and /metrics."""

import hmac

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from ops.health import readiness


@never_cache
@require_GET
def healthz(request: HttpRequest) -> HttpResponse:
    """The process is alive and serving requests; says nothing of its dependencies."""
    return JsonResponse({"status": "ok"})


@never_cache
@require_GET
async def readyz(request: HttpRequest) -> HttpResponse:
    """Ready when the database, Redis (if configured) and the static manifest (DEBUG off) are
    usable; 503 naming the failed checks if not, without their reasons (ops/health.py)."""
    checks = await readiness()
    ready = all(result == "ok" for result in checks.values())
    return JsonResponse(
        {"status": "ready" if ready else "not ready", "checks": checks},
        status=200 if ready else 503,
    )


@never_cache
@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    """Prometheus text format, for a scraper holding PARLEY_METRICS_TOKEN; off when unset."""
    expected = settings.PARLEY_METRICS_TOKEN
    if not expected:
        return HttpResponse("Metrics are off: set PARLEY_METRICS_TOKEN.\n", status=404)
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(given.encode(), expected.encode()):
        response = HttpResponse("Send 'Authorization: Bearer <PARLEY_METRICS_TOKEN>'.\n")
        response.status_code = 401
        response["WWW-Authenticate"] = 'Bearer realm="parley-metrics"'
        return response
    return HttpResponse(generate_latest(), content_type=CONTENT_TYPE_LATEST)
