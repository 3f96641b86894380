"""`training_runs.sample_count`, `features_used`, `trigger_reason`: the columns the bot's dashboard selects.

Revision ID: 0009

The original bot's web dashboard shows its training history with
`SELECT id, started_at, completed_at, train_auc, test_auc, sample_count, features_used, trigger_reason
FROM training_runs ORDER BY started_at DESC LIMIT 20`. Its deployed DDL lacks the last three, so that page is
empty. Each is added where it is missing (a deployment may already have one) and every run fills them:
rows trained and tested, the feature count, and the decision's reason in words. Our own earlier rows get
the two that were recorded under other names (`feature_count`, `reason`); the bot's old rows stay as they were.
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

COLUMNS = [("sample_count", sa.Integer), ("features_used", sa.Integer), ("trigger_reason", sa.Text)]


def upgrade() -> None:
    present = {c["name"] for c in sa.inspect(op.get_bind()).get_columns("training_runs")}
    with op.batch_alter_table("training_runs") as batch:
        for name, kind in COLUMNS:
            if name not in present:
                batch.add_column(sa.Column(name, kind))
    op.execute("UPDATE training_runs SET features_used = feature_count "
               "WHERE features_used IS NULL AND feature_count IS NOT NULL")
    op.execute("UPDATE training_runs SET trigger_reason = reason "
               "WHERE trigger_reason IS NULL AND reason IS NOT NULL AND reason <> ''")


def downgrade() -> None:
    with op.batch_alter_table("training_runs") as batch:
        for name, _ in reversed(COLUMNS):
            batch.drop_column(name)
