"""The seed's `training_runs` table: its columns, in the seed's order.

A database the original bot created is stamped at this revision as it is; its run times may lack a time
zone, which 0003 corrects.

Revision ID: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "training_runs",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("training_type", sa.String(20)),
        sa.Column("bars_used", sa.Integer),
        sa.Column("num_boost_rounds", sa.Integer),
        sa.Column("started_at", sa.DateTime(timezone=True)),
        sa.Column("completed_at", sa.DateTime(timezone=True)),
        sa.Column("duration_seconds", sa.Float),
        sa.Column("hmm_trained", sa.Boolean),
        sa.Column("xgb_trained", sa.Boolean),
        sa.Column("train_auc", sa.Float),
        sa.Column("test_auc", sa.Float),
        sa.Column("train_accuracy", sa.Float),
        sa.Column("test_accuracy", sa.Float),
        sa.Column("model_path", sa.Text),
        sa.Column("backup_path", sa.Text),
        sa.Column("success", sa.Boolean),
        sa.Column("error_message", sa.Text),
    )


def downgrade() -> None:
    op.drop_table("training_runs")
