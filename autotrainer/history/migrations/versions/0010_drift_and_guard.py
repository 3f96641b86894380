"""`auc_checks` drift columns: the inputs' drift since training, measured without labels, and the guard.

Revision ID: 0010

`auc --live` reports, for the bars since training, the share of the model's inputs whose population stability
index exceeds 0.2, the largest PSI, and the share of bars the out-of-distribution guard withheld the signal on
(autotrainer/models/guard.py). The emergency rule can act on the drift share (setting 'drift_emergency_share').
Rows recorded before this revision have them empty.
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

COLUMNS = (("drift_bars", sa.Integer), ("drift_share", sa.Float), ("psi_max", sa.Float),
           ("guard_withheld_share", sa.Float))


def upgrade() -> None:
    with op.batch_alter_table("auc_checks") as batch:
        for name, kind in COLUMNS:
            batch.add_column(sa.Column(name, kind))


def downgrade() -> None:
    with op.batch_alter_table("auc_checks") as batch:
        for name, _ in COLUMNS:
            batch.drop_column(name)
