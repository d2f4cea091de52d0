"""Parley's settings with persistent database connections (the change docs/benchmarks.md
proposes): each worker thread keeps its PostgreSQL connection instead of opening one per
database call, and checks it is alive before reusing it."""

from config.settings import *  # noqa: F403
from config.settings import DATABASES

DATABASES["default"]["CONN_MAX_AGE"] = 600
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
