"""Can this process link its pages to their static files?

With DEBUG off, `{% static %}` looks each file up in the manifest that `manage.py collectstatic`
wrote to STATIC_ROOT, and a file missing from it is a 500 ("Missing staticfiles manifest
entry"): on a machine where collectstatic never ran, every page. The storage reads the manifest
once, when the process starts, so a process started before collectstatic stays broken until it
restarts. This module says so at start (`CheckAtStart`) and to the load balancer (/readyz).
"""

import logging
import os
from collections.abc import Callable, Iterable
from typing import cast

from django.apps import apps
from django.conf import settings
from django.contrib.staticfiles.apps import StaticFilesConfig
from django.contrib.staticfiles.finders import get_finders
from django.contrib.staticfiles.storage import (
    ManifestFilesMixin,
    ManifestStaticFilesStorage,
    staticfiles_storage,
)
from django.core.exceptions import MiddlewareNotUsed
from django.http import HttpRequest, HttpResponseBase
from django.utils.module_loading import import_string
from whitenoise.storage import CompressedManifestStaticFilesStorage

logger = logging.getLogger(__name__)

# What base.html links on every page: without these no page renders.
EVERY_PAGE = (
    "chat/parley.css",
    "chat/theme.js",
    "chat/parley.js",
    "django_htmx/htmx-2.min.js",
)


class ModuleAwareStaticFilesStorage(CompressedManifestStaticFilesStorage):
    """WhiteNoise's compressed manifest storage, also rewriting the `import … from "./x.js"`
    lines of Parley's own JavaScript modules to the hashed names, so that a deploy never mixes
    a new parley.js with the previous release's modules held in a cache.

    Django's own switch for this (support_js_module_import_aggregation) applies to every
    collected script, and htmx's extension files import a path that does not exist.
    """

    patterns = (
        *CompressedManifestStaticFilesStorage.patterns,
        (
            "chat/*.js",
            ((r"""(?P<matched>\bfrom\s*"(?P<url>\./[^"]+\.js)")""", 'from "%(url)s"'),),
        ),
    )


SHOWN_MISSING = 5  # names quoted in the start-up error


def uses_manifest() -> bool:
    """Whether the static files storage serves from a manifest (DEBUG off)."""
    backend = import_string(settings.STORAGES["staticfiles"]["BACKEND"])
    return issubclass(backend, ManifestFilesMixin)


def _storage() -> ManifestStaticFilesStorage:
    # The manifest mixin on some storage: WhiteNoise's is a ManifestStaticFilesStorage.
    return cast(ManifestStaticFilesStorage, staticfiles_storage)


def missing(names: Iterable[str]) -> list[str]:
    """The names among `names` that pages cannot link to. Call only when `uses_manifest()`."""
    absent = []
    for name in names:
        try:
            # The lookup `{% static %}` makes; raises ValueError for a name the manifest lacks
            # and for a manifest that cannot be read.
            _storage().stored_name(name)
        except ValueError:
            absent.append(name)
    return absent


def collectable_names() -> list[str]:
    """Every file `manage.py collectstatic` would collect from this code, as pages name it."""
    staticfiles = cast(StaticFilesConfig, apps.get_app_config("staticfiles"))
    ignore = staticfiles.ignore_patterns  # collectstatic's own defaults
    names: set[str] = set()
    for finder in get_finders():
        for path, storage in finder.list(ignore):
            prefix = getattr(storage, "prefix", None)
            names.add(os.path.join(prefix, path) if prefix else path)
    return sorted(name.replace(os.sep, "/") for name in names)


def problem() -> str | None:
    """What keeps pages from their static files, for the operator; None when nothing does."""
    if not uses_manifest():
        return None
    try:
        storage = _storage()
        # manifest_storage is the storage itself unless the backend names another.
        if not (storage.manifest_storage or storage).exists(storage.manifest_name):
            return f"there is no {storage.manifest_name} in STATIC_ROOT"
    except ValueError as error:
        return f"the manifest cannot be read ({error})"
    absent = missing(collectable_names())
    if not absent:
        return None
    shown = ", ".join(absent[:SHOWN_MISSING]) + (", ..." if len(absent) > SHOWN_MISSING else "")
    return (
        f"the manifest lacks {len(absent)} of this code's static files ({shown}): "
        "collected by another release, or before this process's files were installed"
    )


def report_at_start() -> None:
    """Log one error when pages cannot find their static files; silent when they can."""
    reason = problem()
    if reason is None:
        return
    logger.error(
        "static files not collected for this code: %s. Pages that link a missing file answer "
        "500, and /readyz 503 while base.html's are missing, until `manage.py collectstatic` "
        "has run on this machine (STATIC_ROOT=%s) and this process has restarted.",
        reason,
        settings.STATIC_ROOT,
    )


class CheckAtStart:
    """Runs `report_at_start` once when a process loads its middleware, then steps aside.

    A middleware rather than AppConfig.ready: only processes that serve requests load it, so
    `manage.py collectstatic` itself (run while the manifest is still missing) stays quiet.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        report_at_start()
        raise MiddlewareNotUsed  # Django drops it from the chain: no cost per request
