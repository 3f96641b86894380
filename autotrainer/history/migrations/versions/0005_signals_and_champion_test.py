"""The numbers the bot trades on, and the champion test's evidence, on runs and live checks.

Revision ID: 0005

`training_runs`: the paired DeLong comparison with the active model (difference, its 95% interval, the
one-sided p-value) and the test slice's signals at the manifest's confidence threshold (coverage, BUY and
SELL counts, hit rate with its Wilson 95% interval, Brier score). `auc_checks`: the same signal numbers on
live bars. Rows recorded before this revision have them empty.
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

RUN_COLUMNS = [
    ("champion_auc_difference", sa.Float), ("champion_difference_low", sa.Float),
    ("champion_difference_high", sa.Float), ("champion_p_value", sa.Float), ("signal_coverage", sa.Float),
    ("signal_buys", sa.Integer), ("signal_sells", sa.Integer), ("signal_hit_rate", sa.Float),
    ("signal_hit_rate_low", sa.Float), ("signal_hit_rate_high", sa.Float), ("brier", sa.Float),
]
CHECK_COLUMNS = [
    ("signal_coverage", sa.Float), ("signal_count", sa.Integer), ("signal_hit_rate", sa.Float),
    ("signal_hit_rate_low", sa.Float), ("signal_hit_rate_high", sa.Float), ("brier", sa.Float),
]


def upgrade() -> None:
    for table, columns in (("training_runs", RUN_COLUMNS), ("auc_checks", CHECK_COLUMNS)):
        with op.batch_alter_table(table) as batch:
            for name, kind in columns:
                batch.add_column(sa.Column(name, kind))


def downgrade() -> None:
    for table, columns in (("training_runs", RUN_COLUMNS), ("auc_checks", CHECK_COLUMNS)):
        with op.batch_alter_table(table) as batch:
            for name, _ in reversed(columns):
                batch.drop_column(name)
