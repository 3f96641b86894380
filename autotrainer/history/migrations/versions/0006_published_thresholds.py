"""`training_runs.auc_floor` and `auc_target`: the thresholds a run was judged by.

Revision ID: 0006

An operator may lower the floor for one run (`AUTOTRAINER_PUBLISH_FLOOR_AUC=0.5 autotrainer retrain`);
history and its plot then judge that run by the floor it met, not by today's. Rows recorded before this
revision have them empty (they are shown against today's settings).
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

COLUMNS = [("auc_floor", sa.Float), ("auc_target", sa.Float)]


def upgrade() -> None:
    with op.batch_alter_table("training_runs") as batch:
        for name, kind in COLUMNS:
            batch.add_column(sa.Column(name, kind))


def downgrade() -> None:
    with op.batch_alter_table("training_runs") as batch:
        for name, _ in reversed(COLUMNS):
            batch.drop_column(name)
