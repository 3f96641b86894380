"""autotrainer's additions: run id, status, trigger, data range, confidence bounds...; model_events; auc_checks.

Rows written by the seed get a run id `legacy-<id>` and a status derived from their `success` flag.

Revision ID: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

UTC = sa.DateTime(timezone=True)
ADDED = [
    ("run_id", sa.String(64)), ("status", sa.String(20)), ("trigger", sa.String(20)), ("reason", sa.Text),
    ("symbol", sa.String(32)), ("timeframe", sa.String(8)), ("source", sa.Text), ("data_start", UTC),
    ("data_end", UTC), ("data_fingerprint", sa.String(64)), ("feature_count", sa.Integer),
    ("validation_auc", sa.Float), ("test_auc_low", sa.Float), ("test_auc_high", sa.Float),
    ("best_iteration", sa.Integer), ("champion_auc", sa.Float), ("manifest_sha256", sa.String(64)),
    ("warnings", sa.Text), ("host", sa.String(255)), ("tool_version", sa.String(32)),
]


def upgrade() -> None:
    with op.batch_alter_table("training_runs") as batch:
        for name, kind in ADDED:
            batch.add_column(sa.Column(name, kind))
    op.execute("UPDATE training_runs SET run_id = 'legacy-' || CAST(id AS VARCHAR(20)) WHERE run_id IS NULL")
    op.execute("UPDATE training_runs SET status = CASE WHEN success THEN 'success' ELSE 'failed' END "
               "WHERE status IS NULL")
    op.execute("UPDATE training_runs SET trigger = 'legacy' WHERE trigger IS NULL")
    with op.batch_alter_table("training_runs") as batch:
        batch.alter_column("run_id", existing_type=sa.String(64), nullable=False)
        batch.alter_column("status", existing_type=sa.String(20), nullable=False)
        batch.create_unique_constraint("uq_training_runs_run_id", ["run_id"])
    op.create_index("ix_training_runs_started_at", "training_runs", ["started_at"])

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
    op.drop_table("auc_checks")
    op.drop_table("model_events")
    op.drop_index("ix_training_runs_started_at", table_name="training_runs")
    with op.batch_alter_table("training_runs") as batch:
        batch.drop_constraint("uq_training_runs_run_id", type_="unique")
        for name, _ in reversed(ADDED):
            batch.drop_column(name)
