"""Fleet targets as written: files, groups, environment variables, schemas, globs (no database)."""

from __future__ import annotations

import pytest

from schemashift.errors import ConfigError
from schemashift.fleet.targets import CANARY_GROUP, Target, ordered_groups, parse_target, parse_targets

ENV = {"PGHOST_T": "db.internal", "PW": "hunter2"}


def test_file_with_comments_groups_and_variables(tmp_path):
    path = tmp_path / "targets.txt"
    path.write_text(
        "# tenants\n\n"
        "postgresql+psycopg://app:${PW}@$PGHOST_T/t1   # first tenant\n"
        "[eu]\n"
        "postgresql+psycopg://app@db/main#schema=tenant_7\n"
        "  # indented comment\n"
        "[us]\n"
        "postgresql+psycopg://app@db/us\n"
    )
    targets = parse_targets([], [path], environ=ENV)
    assert targets == [
        Target("postgresql+psycopg://app:hunter2@db.internal/t1"),
        Target("postgresql+psycopg://app@db/main", "tenant_7", "eu"),
        Target("postgresql+psycopg://app@db/us", None, "us"),
    ]
    assert targets[0].label == "postgresql+psycopg://app:***@db.internal/t1"
    assert targets[1].label == "postgresql+psycopg://app@db/main#schema=tenant_7"
    assert targets[0].scrub("failed for app:hunter2") == "failed for app:***"


def test_canaries_come_first_and_repeats_are_dropped():
    targets = parse_targets(["sqlite:///a.db", "sqlite:///b.db", "sqlite:///a.db"], canaries=["sqlite:///b.db"])
    assert [(t.url, t.group) for t in targets] == [("sqlite:///b.db", CANARY_GROUP), ("sqlite:///a.db", "default")]
    groups = ordered_groups([Target("x://1", group="late"), Target("x://2", group=CANARY_GROUP), Target("x://3", group="late")])
    assert [[t.url for t in g] for g in groups] == [["x://2"], ["x://1", "x://3"]]


def test_schema_target_sets_only_its_search_path():
    target = parse_target("postgresql+psycopg://app:pw@db:5432/main?sslmode=disable#schema=tenant_7")[0]
    url = target.connect_url()
    assert url.startswith("postgresql+psycopg://app:pw@db:5432/main?")
    assert "options=-csearch_path%3Dtenant_7" in url and "sslmode=disable" in url


def test_sqlite_glob_gives_every_file_sorted(tmp_path, monkeypatch):
    for name in ("b.db", "a.db", "notes.txt"):
        (tmp_path / name).write_text("")
    monkeypatch.chdir(tmp_path)
    targets = parse_target("sqlite:///*.db")
    assert [t.url for t in targets] == [f"sqlite:///{tmp_path / 'a.db'}", f"sqlite:///{tmp_path / 'b.db'}"]


@pytest.mark.parametrize("text, needle", [
    ("postgresql://u@h/db#schema=1bad", "unknown fragment"),
    ("postgresql://u@h/db#tenant=7", "unknown fragment"),
    ("mysql+pymysql://u@h/db#schema=x", "PostgreSQL only"),
    ("just-a-name", "not a database URL"),
    ("postgresql://u:$MISSING_PW@h/db", "$MISSING_PW"),
])
def test_bad_targets_are_config_errors_without_passwords(text, needle):
    with pytest.raises(ConfigError) as info:
        parse_target(text, environ=ENV)
    assert needle in info.value.one_line()
