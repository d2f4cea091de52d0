"""ops.static_manifest: a process whose static files are not collected says so, and is not ready."""

import json
import logging
import re

import pytest
from django.core.exceptions import MiddlewareNotUsed
from django.core.management import call_command

from ops import health
from ops.static_manifest import EVERY_PAGE, CheckAtStart, collectable_names, report_at_start

pytestmark = pytest.mark.django_db


@pytest.fixture
def static_root(tmp_path, settings, monkeypatch):
    """An empty STATIC_ROOT behind the manifest storage, as a machine where collectstatic has
    not run yet with DEBUG off."""
    settings.STATIC_ROOT = tmp_path
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.ManifestStaticFilesStorage"},
    }
    monkeypatch.setattr(health, "_outages", {})  # each test starts with no outage on record
    return tmp_path


def write_manifest(root, names) -> None:
    paths = {name: name for name in names}
    (root / "staticfiles.json").write_text(json.dumps({"version": "1.1", "paths": paths}))


def test_a_process_without_collected_static_files_is_not_ready(client, static_root, caplog):
    with caplog.at_level(logging.WARNING, logger="ops.health"):
        response = client.get("/readyz")

    assert response.status_code == 503
    assert response.json()["checks"]["static"] == "missing"
    assert response.json()["checks"]["database"] == "ok"
    assert str(static_root) not in response.content.decode()
    (warning,) = [record for record in caplog.records if record.name == "ops.health"]
    assert "chat/parley.css" in warning.getMessage()
    assert str(static_root) in warning.getMessage()


def test_collecting_the_static_files_makes_it_ready_and_quiet(client, static_root, caplog):
    call_command("collectstatic", "--noinput", verbosity=0)

    with caplog.at_level(logging.WARNING):
        report_at_start()
        response = client.get("/readyz")

    assert response.status_code == 200
    assert response.json()["checks"]["static"] == "ok"
    assert caplog.records == []


def test_start_up_says_loudly_that_there_is_no_manifest(static_root, caplog) -> None:
    with caplog.at_level(logging.ERROR, logger="ops.static_manifest"):
        report_at_start()

    (error,) = caplog.records
    assert error.levelname == "ERROR"
    assert "there is no staticfiles.json in STATIC_ROOT" in error.getMessage()
    assert "collectstatic" in error.getMessage()
    assert str(static_root) in error.getMessage()


def test_start_up_names_files_a_manifest_of_another_release_lacks(
    client, static_root, caplog
) -> None:
    # Collected by an older release: it has what every page links, but not the admin's files.
    write_manifest(static_root, [name for name in collectable_names() if "admin/" not in name])

    with caplog.at_level(logging.ERROR, logger="ops.static_manifest"):
        report_at_start()

    (error,) = caplog.records
    assert "the manifest lacks" in error.getMessage()
    assert "admin/" in error.getMessage()
    assert client.get("/readyz").status_code == 200  # the chat's pages still render


def test_a_manifest_without_what_every_page_links_is_not_ready(client, static_root) -> None:
    write_manifest(static_root, [name for name in collectable_names() if name != EVERY_PAGE[1]])

    response = client.get("/readyz")

    assert response.status_code == 503
    assert response.json()["checks"]["static"] == "missing"


def test_an_unreadable_manifest_is_reported_and_not_ready(client, static_root, caplog) -> None:
    (static_root / "staticfiles.json").write_text("{not json")

    with caplog.at_level(logging.ERROR, logger="ops.static_manifest"):
        report_at_start()

    (error,) = caplog.records
    assert "the manifest cannot be read" in error.getMessage()
    assert client.get("/readyz").json()["checks"]["static"] == "missing"


def test_the_check_runs_when_middleware_loads_then_steps_aside(static_root, caplog) -> None:
    with caplog.at_level(logging.ERROR), pytest.raises(MiddlewareNotUsed):
        CheckAtStart(lambda request: None)

    assert len(caplog.records) == 1


def test_without_the_manifest_storage_nothing_is_checked(client, caplog) -> None:
    # Development (DEBUG on): files are served from the apps' folders, no manifest involved.
    with caplog.at_level(logging.WARNING):
        report_at_start()
        checks = client.get("/readyz").json()["checks"]

    assert "static" not in checks
    assert caplog.records == []


def test_collected_page_modules_import_each_other_by_their_hashed_names(tmp_path, settings):
    """The page's modules import one another; after collectstatic each import names the
    hashed file, so a cached parley.js never runs with another release's modules."""
    settings.STATIC_ROOT = tmp_path
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "ops.static_manifest.ModuleAwareStaticFilesStorage"},
    }
    call_command("collectstatic", "--noinput", verbosity=0)

    paths = json.loads((tmp_path / "staticfiles.json").read_text())["paths"]
    main = (tmp_path / paths["chat/parley.js"]).read_text()
    imported = re.findall(r'from "\./([^"]+)"', main)
    assert imported, "parley.js imports its parts"
    for name in imported:
        assert name in {paths[key].removeprefix("chat/") for key in paths}, name
        assert (tmp_path / "chat" / name).is_file()
    assert f'"./{paths["chat/connection.js"].removeprefix("chat/")}"' in main
