"""autotrainer's additions: run id, status, trigger, data range, confidence bounds...; model_events; auc_checks.

Rows written by the seed get a run id `legacy-<id>` and a status derived from their `success` flag.

Revision ID: 0002

The table may be one the original bot created and still writes (`migrate` stamps it 0001 and sets
`adopted_table`), so this revision looks before it changes anything: columns the table already has are kept
as they are, and nothing is ever dropped. The xaubot deployment (docker/init-db/01-schema.sql) has a `run_id`
of its own, a UUID its default fills; autotrainer's run ids go into `autotrainer_run_id` there. On a table
the bot still inserts into, our run id and status stay nullable (the bot's inserts name neither), its
`training_type` CHECK also admits autotrainer's types, and its VARCHAR(255) paths become TEXT, so a long
backup path cannot push every run into the outbox.
"""

import re

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

UTC = sa.DateTime(timezone=True)
OWN_RUN_ID = "autotrainer_run_id"  # where our run ids go when the bot's table has a run_id of another type
TRAINING_TYPES = ("initial", "daily", "weekend", "emergency", "manual")
ADDED = [
    ("run_id", sa.String(64)), ("status", sa.String(20)), ("trigger", sa.String(20)), ("reason", sa.Text),
    ("symbol", sa.String(32)), ("timeframe", sa.String(8)), ("source", sa.Text), ("data_start", UTC),
    ("data_end", UTC), ("data_fingerprint", sa.String(64)), ("feature_count", sa.Integer),
    ("validation_auc", sa.Float), ("test_auc_low", sa.Float), ("test_auc_high", sa.Float),
    ("best_iteration", sa.Integer), ("champion_auc", sa.Float), ("manifest_sha256", sa.String(64)),
    ("warnings", sa.Text), ("host", sa.String(255)), ("tool_version", sa.String(32)),
]


def run_id_column(existing: dict[str, sa.types.TypeEngine]) -> str:
    """`run_id`, unless the table already has a `run_id` that cannot hold ours (the bot's UUID)."""
    kind = existing.get("run_id")
    return "run_id" if kind is None or isinstance(kind, sa.String) else OWN_RUN_ID


def upgrade() -> None:
    bind = op.get_bind()
    inspector = sa.inspect(bind)
    existing = {c["name"]: c["type"] for c in inspector.get_columns("training_runs")}
    adopted = bool(op.get_context().config.attributes.get("adopted_table"))
    run_id = run_id_column(existing)
    added = [(run_id if name == "run_id" else name, kind) for name, kind in ADDED]
    with op.batch_alter_table("training_runs") as batch:
        for name, kind in added:
            if name not in existing:
                batch.add_column(sa.Column(name, kind))
    op.execute(f"UPDATE training_runs SET {run_id} = 'legacy-' || CAST(id AS VARCHAR(20)) WHERE {run_id} IS NULL")
    op.execute("UPDATE training_runs SET status = CASE WHEN success THEN 'success' ELSE 'failed' END "
               "WHERE status IS NULL")
    op.execute("UPDATE training_runs SET trigger = 'legacy' WHERE trigger IS NULL")
    with op.batch_alter_table("training_runs") as batch:
        if not adopted:
            batch.alter_column(run_id, existing_type=sa.String(64), nullable=False)
            batch.alter_column("status", existing_type=sa.String(20), nullable=False)
        batch.create_unique_constraint("uq_training_runs_run_id", [run_id])
    if not any(ix["column_names"] == ["started_at"] for ix in inspector.get_indexes("training_runs")):
        op.create_index("ix_training_runs_started_at", "training_runs", ["started_at"])
    if bind.dialect.name == "postgresql":
        _admit_our_training_types(inspector)
        _widen_paths(existing)
    _create_tables(set(inspector.get_table_names()))


def _admit_our_training_types(inspector: sa.Inspector) -> None:
    """Recreate a CHECK on training_type (the bot's: daily/weekend/manual/initial) with its values and ours."""
    for check in inspector.get_check_constraints("training_runs"):
        if "training_type" not in check["sqltext"]:
            continue
        allowed = list(dict.fromkeys(re.findall(r"'([^']*)'", check["sqltext"]) + list(TRAINING_TYPES)))
        op.drop_constraint(check["name"], "training_runs", type_="check")
        op.create_check_constraint(check["name"], "training_runs",
                                   sa.column("training_type").in_(allowed))


def _widen_paths(existing: dict[str, sa.types.TypeEngine]) -> None:
    for name in ("model_path", "backup_path"):
        if isinstance(existing.get(name), sa.String) and existing[name].length:
            op.alter_column("training_runs", name, type_=sa.Text, existing_type=existing[name])


def _create_tables(tables: set[str]) -> None:
    if "model_events" not in tables:
        op.create_table(
            "model_events",
            sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
            sa.Column("event_id", sa.String(64), nullable=False, unique=True),
            sa.Column("occurred_at", UTC, nullable=False),
            sa.Column("kind", sa.String(20), nullable=False),
            sa.Column("run_id", sa.String(64)),
            sa.Column("reason", sa.Text),
            sa.Column("backup_path", sa.Text),
            sa.Column("manifest_before", sa.Text),
            sa.Column("manifest_after", sa.Text),
            sa.Column("host", sa.String(255)),
        )
    if "auc_checks" not in tables:
        op.create_table(
            "auc_checks",
            sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
            sa.Column("check_id", sa.String(64), nullable=False, unique=True),
            sa.Column("measured_at", UTC, nullable=False),
            sa.Column("model_run_id", sa.String(64)),
            sa.Column("auc", sa.Float),
            sa.Column("auc_low", sa.Float),
            sa.Column("auc_high", sa.Float),
            sa.Column("bars_scored", sa.Integer),
            sa.Column("data_start", UTC),
            sa.Column("data_end", UTC),
            sa.Column("status", sa.String(20)),
        )


def downgrade() -> None:
    inspector = sa.inspect(op.get_bind())
    op.drop_table("auc_checks")
    op.drop_table("model_events")
    if any(ix["name"] == "ix_training_runs_started_at" for ix in inspector.get_indexes("training_runs")):
        op.drop_index("ix_training_runs_started_at", table_name="training_runs")  # not made beside the bot's
    run_id = run_id_column({c["name"]: c["type"] for c in inspector.get_columns("training_runs")})
    with op.batch_alter_table("training_runs") as batch:
        batch.drop_constraint("uq_training_runs_run_id", type_="unique")
        for name, _ in reversed(ADDED):
            batch.drop_column(run_id if name == "run_id" else name)
