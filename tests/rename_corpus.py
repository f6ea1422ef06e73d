"""A corpus of rename cases written by others, translated to SQLAlchemy tables.

No tests here (``test_rename_corpus.py`` runs them).  Each case is an old
schema (the database), a new one (the models) and the truth about them:

* ``clear``: real renames the evidence makes unambiguous; ``--accept-renames``
  must apply every one (recall);
* ``asked``: real renames a person must confirm (names unrelated, a table
  holding only its key, a lossy type): they must be asked, never accepted
  without a question;
* every other pair is not a rename: accepting it is a false rename (precision).

Sources: Django's ``tests/migrations/test_autodetector.py`` (``AutodetectorTests``),
Alembic's autogenerate fixtures (``alembic/testing/suite/_autogen_fixtures.py``
``ModelOne``) and multiple-metadata test, and the reproductions of issue 10.
The cases are written anew from what those tests exercise; the upstream test
is named in ``source``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import sqlalchemy as sa
from sqlalchemy import CHAR, Column, ForeignKey, ForeignKeyConstraint, Integer, Numeric, String, Table, Text
from sqlalchemy import UniqueConstraint

Build = Callable[[sa.MetaData], None]


@dataclass(frozen=True)
class Case:
    id: str
    source: str
    old: Build
    new: Build
    clear: tuple[str, ...] = ()
    asked: tuple[str, ...] = ()
    #: ``--not-renamed`` values given for this case
    not_renamed: tuple[str, ...] = ()
    #: specs that must not even be asked about (declared new, or no evidence at all)
    silent: tuple[str, ...] = ()

    @property
    def real(self) -> set[str]:
        return set(self.clear) | set(self.asked)


def metadata(build: Build) -> sa.MetaData:
    md = sa.MetaData()
    build(md)
    return md


# ---------------------------------------------------------------- Django


def author_name(col: str) -> Build:
    def build(md: sa.MetaData) -> None:
        Table("author", md, Column("id", Integer, primary_key=True), Column(col, String(200)))

    return build


def foo_bar_to_field(field: str) -> Build:
    def build(md: sa.MetaData) -> None:
        Table("foo", md, Column("id", Integer, primary_key=True), Column(field, Integer, unique=True))
        Table("bar", md, Column("id", Integer, primary_key=True), Column("foo_id", ForeignKey(f"foo.{field}")))

    return build


def foreign_object(foo_fields: tuple[str, str], bar_fields: tuple[str, str]) -> Build:
    def build(md: sa.MetaData) -> None:
        Table(
            "foo",
            md,
            Column("id", Integer, primary_key=True),
            Column(foo_fields[0], Integer),
            Column(foo_fields[1], Integer),
            UniqueConstraint(*foo_fields),
        )
        Table(
            "bar",
            md,
            Column("id", Integer, primary_key=True),
            Column(bar_fields[0], Integer),
            Column(bar_fields[1], Integer),
            ForeignKeyConstraint(list(bar_fields), [f"foo.{f}" for f in foo_fields]),
        )

    return build


def referenced_pk(pk: str) -> Build:
    def build(md: sa.MetaData) -> None:
        Table("foo", md, Column(pk, String(20), primary_key=True))
        Table("bar", md, Column("id", Integer, primary_key=True), Column("foo_id", ForeignKey(f"foo.{pk}")))

    return build


def author_book(author: str, fk: str = "author_id", *, author_name_col: str = "name") -> Build:
    def build(md: sa.MetaData) -> None:
        Table(author, md, Column("id", Integer, primary_key=True), Column(author_name_col, String(200)))
        Table(
            "book",
            md,
            Column("id", Integer, primary_key=True),
            Column(fk, ForeignKey(f"{author}.id")),
            Column("title", String(200)),
        )

    return build


def through(name: str) -> Build:
    def build(md: sa.MetaData) -> None:
        Table("author", md, Column("id", Integer, primary_key=True), Column("name", String(200)))
        Table("publisher", md, Column("id", Integer, primary_key=True), Column("name", String(100)))
        Table(
            name,
            md,
            Column("id", Integer, primary_key=True),
            Column("author_id", ForeignKey("author.id")),
            Column("publisher_id", ForeignKey("publisher.id")),
        )

    return build


def entity_b(name: str, *, label_first: bool) -> Build:
    def build(md: sa.MetaData) -> None:
        Table("entitya", md, Column("id", Integer, primary_key=True))
        cols = [Column("some_label", String(255)), Column("entity_a_id", ForeignKey("entitya.id"))]
        Table(name, md, Column("id", Integer, primary_key=True), *(cols if label_first else cols[::-1]))

    return build


def attribute_only(key: str) -> Build:
    def build(md: sa.MetaData) -> None:
        # the attribute changes, the column keeps its name (Django's db_column)
        Table("foo", md, Column("id", Integer, primary_key=True), Column("field", Integer, key=key))

    return build


def publisher_and_book(md: sa.MetaData) -> None:
    Table("publisher", md, Column("id", Integer, primary_key=True), Column("address", Text), Column("founded", sa.Date))
    Table("book", md, Column("id", Integer, primary_key=True), Column("title", String(200)))


def author_columns(*cols: tuple[str, sa.types.TypeEngine]) -> Build:
    def build(md: sa.MetaData) -> None:
        Table("author", md, Column("id", Integer, primary_key=True), *(Column(n, t) for n, t in cols))

    return build


# ---------------------------------------------------------------- Alembic


def model_one_db(md: sa.MetaData) -> None:
    Table(
        "user",
        md,
        Column("id", Integer, primary_key=True),
        Column("name", String(50)),
        Column("a1", Text),
        Column("pw", String(50)),
    )
    Table("address", md, Column("id", Integer, primary_key=True), Column("email_address", String(100), nullable=False))
    Table("order", md, Column("order_id", Integer, primary_key=True), Column("amount", Numeric(8, 2), nullable=False))
    Table("extra", md, Column("x", CHAR(1)), Column("uid", Integer, ForeignKey("user.id")))


def model_one_models(md: sa.MetaData) -> None:
    Table("user", md, Column("id", Integer, primary_key=True), Column("name", String(50)), Column("a1", Text))
    Table(
        "address",
        md,
        Column("id", Integer, primary_key=True),
        Column("email_address", String(100), nullable=False),
        Column("street", String(50)),
    )
    Table(
        "order",
        md,
        Column("order_id", Integer, primary_key=True),
        Column("amount", Numeric(10, 2), nullable=True),
        Column("user_id", Integer, ForeignKey("user.id")),
    )
    Table(
        "item",
        md,
        Column("id", Integer, primary_key=True),
        Column("description", String(100)),
        Column("order_id", Integer, ForeignKey("order.order_id")),
    )


def key_only_tables(*names: str) -> Build:
    def build(md: sa.MetaData) -> None:
        Table("a", md, Column("id", Integer, primary_key=True), Column("x", Integer))
        for n in names:
            Table(n, md, Column("id", Integer, primary_key=True))

    return build


# ---------------------------------------------------------------- issue 10 reproductions


def user_cols(*cols: tuple[str, sa.types.TypeEngine, bool]) -> Build:
    def build(md: sa.MetaData) -> None:
        Table(
            "user",
            md,
            Column("id", Integer, primary_key=True),
            Column("name", String(50)),
            *(Column(n, t, nullable=nullable) for n, t, nullable in cols),
        )

    return build


def posts(*cols: tuple[str, sa.types.TypeEngine, bool]) -> Build:
    def build(md: sa.MetaData) -> None:
        Table(
            "posts",
            md,
            Column("id", Integer, primary_key=True),
            Column("title", String(200), nullable=False),
            *(Column(n, t, nullable=nullable) for n, t, nullable in cols),
        )

    return build


def pupils(name: str, *, first: str = "first_name", last: str = "last_name") -> Build:
    def build(md: sa.MetaData) -> None:
        Table(
            name,
            md,
            Column("id", Integer, primary_key=True),
            Column(first, String(50)),
            Column(last, String(50)),
            Column("born", sa.Date),
        )

    return build


S = String(50)

CASES: list[Case] = [
    # Django AutodetectorTests.test_rename_field: Author.name -> names
    Case("django-rename-field", "django test_rename_field", author_name("name"), author_name("names"),
         clear=("author.name=names",)),
    # Django test_rename_field_foreign_key_to_field: a unique field an FK points at
    Case("django-rename-fk-to-field", "django test_rename_field_foreign_key_to_field",
         foo_bar_to_field("field"), foo_bar_to_field("renamed_field"), clear=("foo.field=renamed_field",)),
    # Django test_rename_foreign_object_fields, case 1: the referenced pair renamed together
    Case("django-rename-foreign-object-to-fields", "django test_rename_foreign_object_fields (to_fields)",
         foreign_object(("first", "second"), ("first", "second")),
         foreign_object(("first_renamed", "second_renamed"), ("first", "second")),
         clear=("foo.first=first_renamed", "foo.second=second_renamed")),
    # ... case 2: the referencing pair renamed together
    Case("django-rename-foreign-object-from-fields", "django test_rename_foreign_object_fields (from_fields)",
         foreign_object(("first", "second"), ("first", "second")),
         foreign_object(("first", "second"), ("first_renamed", "second_renamed")),
         clear=("bar.first=first_renamed", "bar.second=second_renamed")),
    # Django test_rename_referenced_primary_key: a CharField primary key renamed
    Case("django-rename-referenced-pk", "django test_rename_referenced_primary_key",
         referenced_pk("id"), referenced_pk("renamed_id"), clear=("foo.id=renamed_id",)),
    # Django test_rename_field_preserved_db_column: the attribute changes, the column does not
    Case("django-rename-field-preserved-db-column", "django test_rename_field_preserved_db_column",
         attribute_only("field"), attribute_only("renamed_field")),
    # Django test_rename_model: Author -> Writer, Book keeps its FK column (now to writer)
    Case("django-rename-model", "django test_rename_model",
         author_book("author"), author_book("writer"), clear=("author=writer",)),
    # Django test_rename_model_with_renamed_rel_field: ... and book.author -> book.writer
    Case("django-rename-model-with-renamed-rel-field", "django test_rename_model_with_renamed_rel_field",
         author_book("author"), author_book("writer", "writer_id"),
         clear=("author=writer",), asked=("book.author_id=writer_id",)),
    # Django test_rename_field_with_renamed_model: Author -> Writer and name -> renamed_name together
    Case("django-rename-field-with-renamed-model", "django test_rename_field_with_renamed_model",
         author_book("author"), author_book("writer", author_name_col="renamed_name"),
         clear=("author=writer", "writer.name=renamed_name")),
    # Django test_rename_m2m_through_model: Contract -> Deal
    Case("django-rename-m2m-through", "django test_rename_m2m_through_model",
         through("contract"), through("deal"), clear=("contract=deal",)),
    # Django test_rename_model_with_fks_in_different_position: EntityB -> RenamedEntityB, columns reordered
    Case("django-rename-model-fks-reordered", "django test_rename_model_with_fks_in_different_position",
         entity_b("entityb", label_first=True), entity_b("renamedentityb", label_first=False),
         clear=("entityb=renamedentityb",)),
    # Django test_add_field + test_remove_field in one step: a field of another type is not a rename
    Case("django-remove-and-add-other-type", "django test_remove_field / test_add_field",
         author_columns(("name", String(200))), author_columns(("age", Integer()))),
    # Django test_alter_field with a rename question declined: same type, unrelated names
    Case("django-same-type-unrelated-names", "django test_rename_field (questioner says no)",
         author_columns(("name", String(200))), author_columns(("publisher", String(200))),
         asked=()),
    # Django test_add_model + test_old_model: one model deleted, an unrelated one created
    Case("django-delete-and-create-model", "django test_old_model / test_new_model",
         author_book("author"), publisher_and_book),
    # ---- Alembic
    # alembic ModelOne: user.pw dropped, address.street added (different tables), extra dropped, item created
    Case("alembic-model-one", "alembic _autogen_fixtures ModelOne", model_one_db, model_one_models),
    # alembic test_multiple (two MetaData): b2 dropped, c2 created, both only an id key
    Case("alembic-multiple-metadata-b2-c2", "alembic AutogenMultipleMetadataTest",
         key_only_tables("b1", "b2"), key_only_tables("b1", "c2"), asked=()),
    # ---- issue 10 reproductions
    Case("issue10-pw-street", "issue 10: user.pw dropped, user.street added",
         user_cols(("pw", S, True)), user_cols(("street", S, True))),
    Case("issue10-body-slug", "issue 10: body TEXT dropped, slug VARCHAR(100) NOT NULL added",
         posts(("body", Text(), True)), posts(("slug", String(100), False))),
    Case("issue10-body-slug-not-renamed", "issue 10: --not-renamed posts.slug",
         posts(("body", Text(), True)), posts(("slug", Text(), True)),
         not_renamed=("posts.slug",), silent=("posts.body=slug",)),
    # ---- renames that must be found
    Case("table-and-columns-renamed", "schemashift tour: students -> scholars, name -> full_name",
         lambda md: Table("students", md, Column("id", Integer, primary_key=True), Column("name", S), Column("email", S)),
         lambda md: Table("scholars", md, Column("id", Integer, primary_key=True), Column("full_name", S),
                          Column("email", S)),
         clear=("students=scholars", "scholars.name=full_name")),
    Case("column-widened", "a rename with a lossless widening",
         posts(("summary", String(100), True)), posts(("summary_text", String(200), True)),
         clear=("posts.summary=summary_text",)),
    Case("column-narrowed", "a rename that would cut values",
         posts(("summary", String(200), True)), posts(("summary_text", String(100), True)),
         asked=("posts.summary=summary_text",)),
    Case("abbreviation", "pw -> password",
         user_cols(("pw", S, True)), user_cols(("password", S, True)), clear=("user.pw=password",)),
    Case("two-first-names", "a name that resembles two added columns",
         pupils("pupils", first="name", last="nickname"), pupils("pupils", first="first_name", last="nickname"),
         clear=("pupils.name=first_name",)),
    Case("ambiguous-tables", "one dropped table, two identical created tables",
         pupils("students"), lambda md: (pupils("scholars")(md), pupils("learners")(md)),
         asked=("students=scholars", "students=learners")),
]


def generated(n_tables: int, n_renames: int, *, new: bool) -> Build:
    """``n_tables`` tables sharing every column name but one of their own (``k{i}``);
    in the models tables 0..R-1 are renamed ``r{i}`` and in tables R..2R-1 column
    ``email`` becomes ``email_address`` (issue 10: 0 of 20 table renames were found)."""

    def build(md: sa.MetaData) -> None:
        for i in range(n_tables):
            renamed = new and i < n_renames
            col_renamed = new and n_renames <= i < 2 * n_renames
            Table(
                f"r{i}" if renamed else f"t{i}",
                md,
                Column("id", Integer, primary_key=True),
                Column("name", String(50), nullable=False),
                Column("email_address" if col_renamed else "email", String(80)),
                Column(f"k{i}", Integer),
            )

    return build


def generated_case(n_tables: int = 1000, n_renames: int = 20) -> Case:
    clear = [f"t{i}=r{i}" for i in range(n_renames)]
    clear += [f"t{i}.email=email_address" for i in range(n_renames, 2 * n_renames)]
    return Case(
        f"generated-{n_tables}-tables",
        "issue 10: 1,000 tables, 20 renamed, 20 columns renamed",
        generated(n_tables, n_renames, new=False),
        generated(n_tables, n_renames, new=True),
        clear=tuple(clear),
    )
