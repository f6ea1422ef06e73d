"""Passwords never shown: every URL passes one redaction (schemashift.redact) before
it reaches an error line, a log line or a --debug traceback.

Passwords with ``@ : / ? #``, ``%``-escapes, ``?password=`` in the query, URLs
that do not parse; a ``%``-encoded password in alembic.ini that ConfigParser
would otherwise choke on (quoting the password in its error)."""

from __future__ import annotations

import socket

import pytest
import sqlalchemy as sa

from fixtures_projects import SchoolProject, forget_project_modules
from schemashift import api, redact
from schemashift.config import load_project

SECRET = "Zq7SECRETx"
# each password holds SECRET next to a character that URL parsers split on
PASSWORDS = [f"pa@{SECRET}", f"{SECRET}:x", f"a/{SECRET}", f"{SECRET}?x=1", f"{SECRET}#frag", f"p@{SECRET}@q:/?#"]


@pytest.fixture
def pg_school(tmp_path, pg_url):
    """The school project on PostgreSQL only: passwords need a server to send them to."""
    root = tmp_path / "school"
    api.init(root, url=pg_url)
    project = SchoolProject(root, pg_url, "postgresql")
    project.write_models()
    yield project
    forget_project_modules()


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize(
    "url",
    [f"postgresql+psycopg://teacher:{pw}@db.example:5432/school" for pw in PASSWORDS]
    + [
        f"postgresql://teacher:{SECRET.replace('S', '%53')}@host/db",  # %-encoded letters
        f"postgresql://teacher@host/db?password={SECRET}&sslmode=require",
        f"postgresql://teacher@host/db?sslmode=require&sslpassword={SECRET}",
        f"postgresql://teacher:{SECRET}@host:notaport/db",  # does not parse
        f"postgresql://teacher:{SECRET}@",  # no host at all
        f"mysql+pymysql://teacher:{SECRET}@host/db?charset=utf8mb4&api_token={SECRET}",
    ],
)
def test_redact_url_hides_every_password(url):
    shown = redact.redact_url(url)
    assert SECRET not in shown and "%53" not in shown
    assert shown.count("***") >= 1
    assert shown.startswith(url.split("://")[0] + "://teacher")


def test_redact_url_keeps_urls_without_secrets():
    assert redact.redact_url("sqlite:////tmp/app.db") == "sqlite:////tmp/app.db"
    assert redact.redact_url("postgresql://u@h:5/db?sslmode=require") == "postgresql://u@h:5/db?sslmode=require"
    assert redact.redact_url(None) == "<no url>"
    assert redact.redact_url(sa.engine.make_url("postgresql://u:pw@h/db")) == "postgresql://u:***@h/db"


def test_scrub_hides_urls_and_remembered_passwords_in_free_text():
    redact.remember(f"postgresql://u:{SECRET}%40x@h/db")
    text = f"driver said: password '{SECRET}@x' rejected for postgresql://v:other{SECRET}@h/db; token"
    clean = redact.scrub(text)
    assert SECRET not in clean and "other" not in clean
    assert "driver said" in clean


@pytest.mark.parametrize("password", PASSWORDS)
def test_cli_never_prints_the_password(pg_school, password, run_cli):
    """A server that does not answer: the error (and --debug's traceback) shows no password."""
    url = f"postgresql+psycopg://teacher:{password}@127.0.0.1:{_closed_port()}/school"
    for args in (("current",), ("upgrade", "head"), ("--debug", "current")):
        result = run_cli(pg_school.root, "--url", url, *args)
        code, out, err = result.code, result.stdout, result.stderr
        assert SECRET not in out + err, (args, err)
        assert code == 3 and "teacher:***@127.0.0.1" in err, err
        if "--debug" in args:
            assert "Traceback" in err
        else:
            assert len(err.strip().splitlines()) == 1


def test_cli_subprocess_never_prints_the_password(pg_school):
    url = f"postgresql+psycopg://teacher:{PASSWORDS[-1]}@127.0.0.1:{_closed_port()}/school"
    for args in (("current",), ("--debug", "upgrade", "head")):
        result = pg_school.cli("--url", url, *args, ok=False)
        assert result.code == 3 and SECRET not in result.stdout + result.stderr


@pytest.mark.parametrize("password", PASSWORDS)
def test_password_with_special_characters_connects(pg_server, tmp_path, password):
    """A password holding ``@ : / ? #`` written raw in --url reaches the driver whole (host not mangled)."""
    root = tmp_path / "p"
    api.init(root, url=pg_server.url("postgres"))
    url = f"postgresql+psycopg://{pg_server.user}:{password}@{pg_server.host}:{pg_server.port}/postgres"
    project = load_project(root / "alembic.ini", url=url)
    parsed = sa.engine.make_url(project.url)
    assert parsed.password == password and parsed.host == pg_server.host
    assert api.current(project).at_base


def test_percent_encoded_password_in_alembic_ini(pg_school, pg_server):
    """``%40`` in alembic.ini is the URL's escape for ``@``: it works, as ``%%40`` does, and is never printed."""
    school = pg_school
    base = f"{pg_server.user}:{{pw}}@{pg_server.host}:{pg_server.port}/postgres"
    ini = school.ini.read_text()
    for written, meant in ((f"{SECRET}%40x", f"{SECRET}@x"), (f"{SECRET}%%40x", f"{SECRET}@x"),
                           (f"{SECRET}%%25%40", f"{SECRET}%@")):
        school.ini.write_text(_with_url(ini, "postgresql+psycopg://" + base.format(pw=written)))
        project = school.project()
        assert sa.engine.make_url(project.url).password == meant
        result = school.cli("current", ok=True)
        assert SECRET not in result.stdout + result.stderr
    # the same password on a port nobody answers: an error, still redacted
    school.ini.write_text(_with_url(ini, f"postgresql+psycopg://u:{SECRET}%40x@127.0.0.1:{_closed_port()}/db"))
    for args in (("current",), ("--debug", "current")):
        result = school.cli(*args, ok=False)
        assert result.code == 3 and SECRET not in result.stdout + result.stderr


def test_unreadable_percent_in_alembic_ini_is_one_line_without_the_value(school):
    school.ini.write_text(_with_url(school.ini.read_text(), f"postgresql://u:{SECRET}%zz@h/db"))
    result = school.cli("current", ok=False)
    assert result.code == 2 and SECRET not in result.stdout + result.stderr
    assert "sqlalchemy.url" in result.error_line and "%%" in result.error_line
    assert len(result.stderr.strip().splitlines()) == 1


def test_missing_url_is_named(school):
    """No sqlalchemy.url: a config error naming the option, not "env.py failed"; no database made."""
    school.ini.write_text("\n".join(ln for ln in school.ini.read_text().splitlines()
                                    if not ln.startswith("sqlalchemy.url")))
    before = sorted(p.name for p in school.root.iterdir())
    for args in (("current",), ("upgrade", "head"), ("check",)):
        result = school.cli(*args, ok=False)
        assert result.code == 2, result.stderr
        assert "sqlalchemy.url is not set" in result.error_line and "--url" in result.error_line
        assert len(result.stderr.strip().splitlines()) == 1
    assert sorted(p.name for p in school.root.iterdir()) == before


def test_log_lines_are_redacted(pg_school, pg_server):
    """A log line (here env.py's own) that prints the URL goes through the redaction."""
    school = pg_school
    env_py = school.root / "migrations" / "env.py"
    env_py.write_text(env_py.read_text().replace(
        "target_metadata = load_target_metadata()",
        "target_metadata = load_target_metadata()\n"
        "import logging\nlogging.basicConfig()\n"
        "logging.getLogger('envlog').warning('connecting to %s', config.get_main_option('sqlalchemy.url'))\n"
        "logging.getLogger('envlog').warning('password is ' + "
        "__import__('sqlalchemy').engine.make_url(config.get_main_option('sqlalchemy.url')).password)",
    ))
    url = f"postgresql+psycopg://{pg_server.user}:pa@{SECRET}@{pg_server.host}:{pg_server.port}/postgres"
    result = school.cli("--url", url, "current", ok=True)
    assert "connecting to postgresql+psycopg://" in result.stderr and "password is ***" in result.stderr
    assert SECRET not in result.stdout + result.stderr


def _with_url(ini_text: str, url: str) -> str:
    lines = [f"sqlalchemy.url = {url}" if ln.startswith("sqlalchemy.url") else ln for ln in ini_text.splitlines()]
    return "\n".join(lines) + "\n"
