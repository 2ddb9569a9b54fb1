"""Initial schema: one table per entity of bot.model (storage/tables.py).

Revision ID: 0001
Revises:
Create Date: 2026-11-23

Written out in full rather than generated at run time, so this revision stays what it was when
tables.py moves on; tests/integration/test_repositories.py proves the two agree.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ONLY_A = sa.text("letter = 'A'")
"""The RACI invariant "exactly one A per (project, area)" is a partial unique index."""


def upgrade() -> None:
    op.create_table(
        "organizations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("escalation_contact_id", sa.Integer(), nullable=True),
        sa.Column("admin_person_id", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_organizations"),
    )

    op.create_table(
        "workspaces",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=False),
        sa.Column("platform", sa.String(32), nullable=False),
        sa.Column("external_id", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_workspaces"),
        sa.UniqueConstraint("platform", "external_id", name="uq_workspaces_platform_external_id"),
    )
    op.create_index(
        "ix_workspaces_organization_id", "workspaces", ["organization_id"], unique=False
    )

    op.create_table(
        "people",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=False),
        sa.Column("handle", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("email", sa.Text(), nullable=False),
        sa.Column("timezone", sa.Text(), nullable=False),
        sa.Column("work_start", sa.Time(), nullable=False),
        sa.Column("work_end", sa.Time(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_people"),
        sa.UniqueConstraint("organization_id", "handle", name="uq_people_organization_id_handle"),
    )

    op.create_table(
        "identities",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("platform", sa.String(32), nullable=False),
        sa.Column("user_id", sa.Text(), nullable=False),
        sa.Column("conversation_ref", sa.Text(), nullable=True),
        sa.Column("unreachable", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_identities"),
        sa.UniqueConstraint("workspace_id", "user_id", name="uq_identities_workspace_id_user_id"),
    )
    op.create_index("ix_identities_person_id", "identities", ["person_id"], unique=False)

    op.create_table(
        "projects",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("aim", sa.Text(), nullable=False),
        sa.Column("scope", sa.Text(), nullable=False),
        sa.Column("measures", sa.Text(), nullable=False),
        sa.Column("priority", sa.Text(), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_projects"),
        sa.UniqueConstraint("organization_id", "key", name="uq_projects_organization_id_key"),
    )

    op.create_table(
        "project_channels",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("channel_id", sa.Text(), nullable=False),
        sa.Column("conversation_ref", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_project_channels"),
    )
    op.create_index(
        "ix_project_channels_project_id", "project_channels", ["project_id"], unique=False
    )
    op.create_index(
        "ix_project_channels_workspace_id_channel_id",
        "project_channels",
        ["workspace_id", "channel_id"],
        unique=False,
    )

    op.create_table(
        "stakeholders",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(32), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_stakeholders"),
    )
    op.create_index("ix_stakeholders_person_id", "stakeholders", ["person_id"], unique=False)
    op.create_index("ix_stakeholders_project_id", "stakeholders", ["project_id"], unique=False)

    op.create_table(
        "raci_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("area", sa.Text(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("letter", sa.String(32), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_raci_entries"),
    )
    op.create_index("ix_raci_entries_person_id", "raci_entries", ["person_id"], unique=False)
    op.create_index("ix_raci_entries_project_id", "raci_entries", ["project_id"], unique=False)
    op.create_index(
        "uq_raci_entries_one_accountable",
        "raci_entries",
        ["project_id", "area"],
        unique=True,
        sqlite_where=ONLY_A,
        postgresql_where=ONLY_A,
    )

    op.create_table(
        "delegations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=False),
        sa.Column("delegator_id", sa.Integer(), nullable=False),
        sa.Column("delegate_id", sa.Integer(), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_delegations"),
    )
    op.create_index("ix_delegations_delegate_id", "delegations", ["delegate_id"], unique=False)
    op.create_index("ix_delegations_delegator_id", "delegations", ["delegator_id"], unique=False)

    op.create_table(
        "asks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("requester_id", sa.Integer(), nullable=False),
        sa.Column("assignee_id", sa.Integer(), nullable=False),
        sa.Column("area", sa.Text(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("needed_by", sa.Date(), nullable=True),
        sa.Column("consulted_ids", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decided_by_id", sa.Integer(), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("rationale", sa.Text(), nullable=False),
        sa.Column("reminded_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_asks"),
    )
    op.create_index("ix_asks_assignee_id_state", "asks", ["assignee_id", "state"], unique=False)
    op.create_index("ix_asks_project_id_state", "asks", ["project_id", "state"], unique=False)
    op.create_index("ix_asks_requester_id", "asks", ["requester_id"], unique=False)

    op.create_table(
        "blockers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("reporter_id", sa.Integer(), nullable=False),
        sa.Column("area", sa.Text(), nullable=False),
        sa.Column("severity", sa.String(32), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("state", sa.String(32), nullable=False),
        sa.Column("ladder", sa.JSON(), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("next_escalation_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("acknowledged_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolution", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_blockers"),
    )
    op.create_index(
        "ix_blockers_project_id_state", "blockers", ["project_id", "state"], unique=False
    )
    op.create_index("ix_blockers_reporter_id", "blockers", ["reporter_id"], unique=False)
    op.create_index(
        "ix_blockers_state_next_escalation_at",
        "blockers",
        ["state", "next_escalation_at"],
        unique=False,
    )

    op.create_table(
        "updates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=False),
        sa.Column("period", sa.Text(), nullable=False),
        sa.Column("rag", sa.String(32), nullable=False),
        sa.Column("progress", sa.Text(), nullable=False),
        sa.Column("next_steps", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_updates"),
    )
    op.create_index(
        "ix_updates_project_id_created_at", "updates", ["project_id", "created_at"], unique=False
    )

    op.create_table(
        "measures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("unit", sa.Text(), nullable=False),
        sa.Column("direction", sa.String(32), nullable=False),
        sa.Column("target", sa.Float(), nullable=True),
        sa.Column("warn", sa.Float(), nullable=True),
        sa.Column("alert", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_measures"),
    )
    op.create_index("ix_measures_project_id", "measures", ["project_id"], unique=False)

    op.create_table(
        "observations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("measure_id", sa.Integer(), nullable=False),
        sa.Column("observed_on", sa.Date(), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("level", sa.String(32), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_observations"),
    )
    op.create_index(
        "ix_observations_measure_id_observed_on",
        "observations",
        ["measure_id", "observed_on"],
        unique=False,
    )

    op.create_table(
        "reviews",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("measure_id", sa.Integer(), nullable=False),
        sa.Column("observation_id", sa.Integer(), nullable=False),
        sa.Column("sponsor_id", sa.Integer(), nullable=False),
        sa.Column("level", sa.String(32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_reviews"),
    )
    op.create_index("ix_reviews_measure_id", "reviews", ["measure_id"], unique=False)
    op.create_index("ix_reviews_project_id", "reviews", ["project_id"], unique=False)
    op.create_index("ix_reviews_sponsor_id", "reviews", ["sponsor_id"], unique=False)

    op.create_table(
        "decisions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("subject_kind", sa.Text(), nullable=False),
        sa.Column("subject_id", sa.Integer(), nullable=True),
        sa.Column("outcome", sa.Text(), nullable=False),
        sa.Column("rationale", sa.Text(), nullable=False),
        sa.Column("decided_by_id", sa.Integer(), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_decisions"),
    )
    op.create_index(
        "ix_decisions_project_id_decided_at",
        "decisions",
        ["project_id", "decided_at"],
        unique=False,
    )

    op.create_table(
        "cadence_preferences",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("frequency", sa.String(32), nullable=False),
        sa.Column("weekday", sa.Integer(), nullable=False),
        sa.Column("local_time", sa.Time(), nullable=False),
        sa.Column("detail", sa.String(32), nullable=False),
        sa.Column("max_lines", sa.Integer(), nullable=False),
        sa.Column("channel", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_cadence_preferences"),
        sa.UniqueConstraint("person_id", name="uq_cadence_preferences_person_id"),
    )

    op.create_table(
        "feedback",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("period", sa.Text(), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_feedback"),
    )
    op.create_index(
        "ix_feedback_person_id_created_at", "feedback", ["person_id", "created_at"], unique=False
    )

    op.create_table(
        "threads",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("channel_id", sa.Text(), nullable=False),
        sa.Column("root_id", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_threads"),
        sa.UniqueConstraint(
            "key", "workspace_id", "channel_id", name="uq_threads_key_workspace_id_channel_id"
        ),
    )

    op.create_table(
        "audit_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("action", sa.Text(), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("platform", sa.Text(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_audit_events"),
    )
    op.create_index(
        "ix_audit_events_organization_id_at",
        "audit_events",
        ["organization_id", "at"],
        unique=False,
    )

    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("platform", sa.String(32), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("address", sa.Text(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=True),
        sa.Column("project_id", sa.Integer(), nullable=True),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("category", sa.Text(), nullable=False),
        sa.Column("state", sa.String(32), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("platform_ref", sa.Text(), nullable=True),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("memo", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_outbox"),
        sa.UniqueConstraint("key", name="uq_outbox_key"),
    )
    op.create_index("ix_outbox_person_id", "outbox", ["person_id"], unique=False)
    op.create_index(
        "ix_outbox_state_next_attempt_at", "outbox", ["state", "next_attempt_at"], unique=False
    )


def downgrade() -> None:
    op.drop_table("outbox")
    op.drop_table("audit_events")
    op.drop_table("threads")
    op.drop_table("feedback")
    op.drop_table("cadence_preferences")
    op.drop_table("decisions")
    op.drop_table("reviews")
    op.drop_table("observations")
    op.drop_table("measures")
    op.drop_table("updates")
    op.drop_table("blockers")
    op.drop_table("asks")
    op.drop_table("delegations")
    op.drop_table("raci_entries")
    op.drop_table("stakeholders")
    op.drop_table("project_channels")
    op.drop_table("projects")
    op.drop_table("identities")
    op.drop_table("people")
    op.drop_table("workspaces")
    op.drop_table("organizations")
