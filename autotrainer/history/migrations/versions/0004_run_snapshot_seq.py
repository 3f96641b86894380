"""`training_runs.snapshot_seq`: each snapshot of a run is numbered, so an older one never replaces a newer.

Revision ID: 0004

The upsert of a run's row only takes effect for a snapshot whose number is at least the stored one (see
`history.supersedes`); rows recorded before this revision count as 0.
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("training_runs") as batch:
        batch.add_column(sa.Column("snapshot_seq", sa.Integer, nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("training_runs") as batch:
        batch.drop_column("snapshot_seq")
