import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def load_settings(**env: str) -> subprocess.CompletedProcess:
    drop = {"SECRET_KEY", "DEBUG", "DATABASE_URL"}
    clean = {k: v for k, v in os.environ.items() if k not in drop}
    clean.update(env)
    return subprocess.run(
        [
            sys.executable,
            "-c",
            "import mdm.settings as s; "
            "print(s.TIME_ZONE, s.DATABASES['default']['ENGINE'])",
        ],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
    )


def test_production_refuses_to_start_without_a_secret_key():
    result = load_settings(DEBUG="false")
    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr


def test_debug_runs_with_a_development_key_and_shanghai_time(tmp_path):
    result = load_settings(DEBUG="true", GOLDEN_RECORD_VAR_DIR=str(tmp_path / "var"))
    assert result.returncode == 0, result.stderr
    assert "Asia/Shanghai" in result.stdout
    assert (tmp_path / "var").is_dir()


def test_the_secret_can_come_from_a_file(tmp_path):
    secret = tmp_path / "secret"
    secret.write_text("from-a-file\n")
    result = load_settings(
        DEBUG="false",
        SECRET_KEY_FILE=str(secret),
        DATABASE_URL="postgres://u@localhost/db",
    )
    assert result.returncode == 0, result.stderr
    assert "postgresql" in result.stdout


def test_a_boolean_must_be_true_or_false():
    result = load_settings(DEBUG="yes")
    assert result.returncode != 0
    assert "DEBUG must be 'true' or 'false'" in result.stderr
