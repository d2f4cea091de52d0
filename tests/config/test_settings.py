"""config.settings: what Parley refuses to start with, checked in a fresh interpreter each time."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
SETUP = (
    "import django, os; "
    "os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'config.settings'); "
    "django.setup(); "
    "from django.conf import settings; "
    "print('DEBUG', settings.DEBUG, 'HOSTS', ','.join(settings.ALLOWED_HOSTS))"
)
PRODUCTION_KEY = "a-long-random-production-key-0123456789-abcdefghijklmnop"


def run_script(script: str, environment: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Run `script` in a fresh interpreter in the project, with exactly this environment."""
    return subprocess.run(  # noqa: S603 (fixed command: this interpreter and a literal script)
        [sys.executable, "-c", script],
        cwd=REPO_ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def start(**env: str) -> subprocess.CompletedProcess[str]:
    """Import the settings and set Django up with exactly these Parley variables set."""
    environment = {
        name: value
        for name, value in os.environ.items()
        if name not in {"DEBUG", "SECRET_KEY", "ALLOWED_HOSTS", "DJANGO_SETTINGS_MODULE"}
    }
    environment.update(env)
    return run_script(SETUP, environment)


def assert_refused(result: subprocess.CompletedProcess[str], *phrases: str) -> None:
    assert result.returncode != 0
    assert "django.core.exceptions.ImproperlyConfigured" in result.stderr
    for phrase in phrases:
        assert phrase in result.stderr


def test_development_defaults_start_with_debug_on() -> None:
    result = start()

    assert result.returncode == 0, result.stderr
    assert "DEBUG True HOSTS localhost,127.0.0.1,[::1]" in result.stdout


def test_debug_off_without_secret_key_is_refused() -> None:
    result = start(DEBUG="0", ALLOWED_HOSTS="example.com")

    assert_refused(result, "SECRET_KEY")


def test_debug_off_with_the_development_key_is_refused() -> None:
    result = start(
        DEBUG="0",
        SECRET_KEY="parley-development-key-not-for-production",
        ALLOWED_HOSTS="example.com",
    )

    assert_refused(result, "SECRET_KEY")


@pytest.mark.parametrize(
    "secret_key", ["", "   ", "x" * 31], ids=["empty", "blank", "31-characters"]
)
def test_debug_off_with_an_empty_or_short_secret_key_is_refused(secret_key: str) -> None:
    result = start(DEBUG="0", SECRET_KEY=secret_key, ALLOWED_HOSTS="example.com")

    assert_refused(result, "SECRET_KEY")


def test_debug_off_without_allowed_hosts_is_refused() -> None:
    result = start(DEBUG="0", SECRET_KEY=PRODUCTION_KEY)

    assert_refused(result, "ALLOWED_HOSTS")


@pytest.mark.parametrize("hosts", ["", " , "], ids=["empty", "only-commas"])
def test_debug_off_with_empty_allowed_hosts_is_refused(hosts: str) -> None:
    result = start(DEBUG="0", SECRET_KEY=PRODUCTION_KEY, ALLOWED_HOSTS=hosts)

    assert_refused(result, "ALLOWED_HOSTS")


@pytest.mark.parametrize("hosts", ["*", "example.com,*"])
def test_debug_off_with_wildcard_allowed_hosts_is_refused(hosts: str) -> None:
    result = start(DEBUG="0", SECRET_KEY=PRODUCTION_KEY, ALLOWED_HOSTS=hosts)

    assert_refused(result, "ALLOWED_HOSTS='*'")


@pytest.mark.parametrize("debug", ["0", "false", "no", "off", " FALSE "])
def test_debug_off_with_secret_key_and_allowed_hosts_starts(debug: str) -> None:
    result = start(DEBUG=debug, SECRET_KEY=PRODUCTION_KEY, ALLOWED_HOSTS="example.com")

    assert result.returncode == 0, result.stderr
    assert "DEBUG False HOSTS example.com" in result.stdout


def test_allowed_hosts_is_a_trimmed_comma_separated_list() -> None:
    result = start(
        DEBUG="0", SECRET_KEY=PRODUCTION_KEY, ALLOWED_HOSTS=" example.com , chat.example.com ,"
    )

    assert result.returncode == 0, result.stderr
    assert "HOSTS example.com,chat.example.com" in result.stdout


@pytest.mark.parametrize("debug", ["maybe", "2", "tru"])
def test_debug_that_is_not_a_boolean_is_refused(debug: str) -> None:
    result = start(DEBUG=debug)

    assert_refused(result, "DEBUG must be a boolean", repr(debug))


def test_message_length_that_is_not_an_integer_is_refused() -> None:
    result = start(PARLEY_MESSAGE_MAX_LENGTH="lots")

    assert_refused(result, "PARLEY_MESSAGE_MAX_LENGTH must be an integer")


@pytest.mark.parametrize("variable", ["PARLEY_WRITE_RATE", "PARLEY_SOCKET_FRAME_RATE"])
@pytest.mark.parametrize("value", ["fast", "0", "-1", "inf", "nan"])
def test_rate_that_is_not_a_positive_number_is_refused_with_a_clear_message(
    variable: str, value: str
) -> None:
    result = start(**{variable: value})

    assert_refused(result, variable)


@pytest.mark.django_db
def test_models_and_migrations_agree() -> None:
    from django.core.management import call_command

    call_command("makemigrations", "--check", "--dry-run", verbosity=0)


POOL_OF = (
    "import django, os; "
    "os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'config.settings'); "
    "django.setup(); "
    "from django.conf import settings; "
    "database = settings.DATABASES['default']; "
    "print('POOL', database.get('OPTIONS', {}).get('pool'), database['CONN_MAX_AGE'])"
)


def pool_setting(**env: str) -> str:
    environment = {name: value for name, value in os.environ.items() if name != "DATABASE_URL"}
    environment.update(env)
    result = run_script(POOL_OF, environment)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_postgresql_connections_come_from_a_pool_sized_from_the_environment() -> None:
    output = pool_setting(
        DATABASE_URL="postgres://parley@db.example.com:5432/parley",
        PARLEY_DB_POOL_MAX="7",
        PARLEY_DB_POOL_TIMEOUT="2.5",
    )

    assert "'max_size': 7" in output
    assert "'timeout': 2.5" in output
    assert output.strip().endswith(" 0")  # a pool needs CONN_MAX_AGE 0


def test_sqlite_has_no_pool() -> None:
    assert pool_setting().startswith("POOL None")
