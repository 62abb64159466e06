"""Deployment settings, checked in a fresh interpreter with a production-like environment."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _manage(*args, **env):
    clean = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DEBUG", "DATABASE_URL", "REDIS_URL", "SECRET_KEY"}
    }
    clean.update(env)
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_deploy_is_clean_with_production_settings(tmp_path):
    result = _manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        DEBUG="0",
        SECRET_KEY=secrets.token_urlsafe(50),
        FOCUSLOOP_VAR_DIR=str(tmp_path),
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_refuses_to_start_without_a_secret_key(tmp_path):
    result = _manage(
        "check", DEBUG="0", DATABASE_URL="postgres://x@127.0.0.1/x", FOCUSLOOP_VAR_DIR=str(tmp_path)
    )
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_bad_boolean_fails_loudly(tmp_path):
    result = _manage("check", DEBUG="maybe", FOCUSLOOP_VAR_DIR=str(tmp_path))
    assert result.returncode != 0
    assert "DEBUG must be a boolean" in result.stderr


@pytest.mark.parametrize("weeks", ["3", "13"])
def test_forecast_horizon_outside_4_to_12_weeks_fails_loudly(tmp_path, weeks):
    result = _manage("check", INSIGHTS_FORECAST_HORIZON=weeks, FOCUSLOOP_VAR_DIR=str(tmp_path))
    assert result.returncode != 0
    assert "INSIGHTS_FORECAST_HORIZON must be 4 to 12 weeks" in result.stderr


@pytest.mark.django_db
def test_embedded_sqlite_runs_in_wal_mode_with_immediate_transactions(settings):
    from django.db import connection

    if connection.vendor != "sqlite":
        pytest.skip("embedded mode only")
    assert settings.DATABASES["default"]["OPTIONS"]["transaction_mode"] == "IMMEDIATE"
    assert "journal_mode=WAL" in settings.DATABASES["default"]["OPTIONS"]["init_command"]


def test_json_log_lines_carry_the_event_and_its_extras():
    import json
    import logging

    from config.log_format import JsonFormatter

    record = logging.LogRecord(
        "insights.triggers", logging.WARNING, __file__, 1, "not %s", ("sent",), None
    )
    record.feedback_id = 42
    line = json.loads(JsonFormatter().format(record))
    assert line["level"] == "WARNING" and line["logger"] == "insights.triggers"
    assert line["message"] == "not sent"
    assert line["feedback_id"] == 42
    assert line["time"].endswith("+00:00")
