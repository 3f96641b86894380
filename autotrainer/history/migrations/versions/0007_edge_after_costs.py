"""`training_runs` edge columns: the test slice's net edge after costs, and the threshold the bot acts at.

Revision ID: 0007

An operator does not trade AUC: the question is whether the signals the bot acts on make money after the
spread. Each run now records the verdict in words, the mean net return per signal with its 95% interval,
the total, the profit factor, the same mean in spreads, the always-long baseline, the point it priced the
spread with and where point and spread came from, and the confidence threshold (chosen on the validation
slice under `confidence_threshold = "auto"`). Rows recorded before this revision have them empty.
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

COLUMNS = [("confidence_threshold", sa.Float), ("edge_verdict", sa.String(32)), ("edge_signals", sa.Integer),
           ("edge_mean", sa.Float), ("edge_low", sa.Float), ("edge_high", sa.Float), ("edge_total", sa.Float),
           ("edge_profit_factor", sa.Float), ("edge_mean_spreads", sa.Float), ("edge_always_long_mean", sa.Float),
           ("edge_point", sa.Float), ("edge_cost_source", sa.Text)]


def upgrade() -> None:
    with op.batch_alter_table("training_runs") as batch:
        for name, kind in COLUMNS:
            batch.add_column(sa.Column(name, kind))


def downgrade() -> None:
    with op.batch_alter_table("training_runs") as batch:
        for name, _ in reversed(COLUMNS):
            batch.drop_column(name)
