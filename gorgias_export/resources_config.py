"""The configuration lists and the account, as data: what each of their commands reads. All are
read in full on every run (`Incremental.FULL`), in the order of `resources.ENTITIES`."""

from __future__ import annotations

from gorgias_export.entity_types import Entity, Incremental, Listing

_CONFIG_TIMES = ("created_datetime", "updated_datetime", "deactivated_datetime")

CONFIGURATION: tuple[Entity, ...] = (
    Entity(
        name="tags",
        path="/tags",
        summary="Export the tags (read in full on every run).",
        columns=("id", "name", "description", "decoration", "usage", "created_datetime", "uri"),
        incremental=Incremental.FULL,
        example="gorgias-export tags --out tags.csv",
    ),
    Entity(
        name="users",
        path="/users",
        summary="Export the users (agents), read in full on every run.",
        columns=(
            "id",
            "email",
            "name",
            "firstname",
            "lastname",
            "role",
            "active",
            "external_id",
            "language",
            "timezone",
            "meta",
            *_CONFIG_TIMES,
        ),
        incremental=Incremental.FULL,
        example="gorgias-export users --out users.csv",
    ),
    Entity(
        name="teams",
        path="/teams",
        summary="Export the teams, read in full on every run.",
        columns=("id", "name", "description", "decoration", "members", *_CONFIG_TIMES, "uri"),
        incremental=Incremental.FULL,
        example="gorgias-export teams --out teams.csv",
    ),
    Entity(
        name="views",
        path="/views",
        summary="Export the views (saved ticket lists), read in full on every run.",
        columns=(
            "id",
            "name",
            "type",
            "category",
            "visibility",
            "filters",
            "order_by",
            "order_dir",
            "fields",
            *_CONFIG_TIMES,
            "uri",
        ),
        incremental=Incremental.FULL,
        example="gorgias-export views --out views.csv",
    ),
    Entity(
        name="custom-fields",
        path="/custom-fields",
        summary="Export the ticket and customer custom fields, archived ones included.",
        columns=(
            "object_type",
            "id",
            "label",
            "description",
            "definition",
            "priority",
            "required",
            "managed_type",
            *_CONFIG_TIMES,
            "uri",
        ),
        incremental=Incremental.FULL,
        order_field="priority",
        # Whether archived fields are listed by default is not documented: ask for both, and
        # de-duplicate by id, which is right whichever way the API answers.
        listings=tuple(
            Listing(params=(("object_type", kind), *archived), implied=(("object_type", kind),))
            for kind in ("Ticket", "Customer")
            for archived in ((), (("archived", "true"),))
        ),
        example="gorgias-export custom-fields --out custom-fields.csv",
    ),
    Entity(
        name="integrations",
        path="/integrations",
        summary="Export the integrations, read in full on every run.",
        columns=("id", "name", "type", "description", "meta", *_CONFIG_TIMES, "uri"),
        incremental=Incremental.FULL,
        example="gorgias-export integrations --out integrations.csv",
    ),
    Entity(
        name="macros",
        path="/macros",
        summary="Export the macros (canned replies), read in full on every run.",
        columns=(
            "id",
            "name",
            "intent",
            "language",
            "actions",
            "usage",
            "archived_datetime",
            "created_datetime",
            "updated_datetime",
            "uri",
        ),
        incremental=Incremental.FULL,
        # The API may list archived macros only with archived=true: ask for both, and
        # de-duplicate by id, which is right whichever way it answers.
        listings=(Listing(), Listing(params=(("archived", "true"),))),
        example="gorgias-export macros --out macros.csv",
    ),
    Entity(
        name="rules",
        path="/rules",
        summary="Export the automation rules, read in full on every run.",
        columns=(
            "id",
            "name",
            "description",
            "code",
            "event_types",
            "priority",
            *_CONFIG_TIMES,
            "uri",
        ),
        incremental=Incremental.FULL,
        example="gorgias-export rules --out rules.csv",
    ),
    Entity(
        name="account",
        path="/account",
        summary="Export the account itself: one row.",
        columns=("domain", "status", "created_datetime", "settings", "meta"),
        incremental=Incremental.FULL,
        key="domain",
        single_object=True,
        example="gorgias-export account --out account.jsonl",
    ),
)
