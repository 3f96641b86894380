"""`training_runs.recipe_digest`: the settings and code that made a run's model.

Revision ID: 0008

A run whose bars, settings and code equal those of the last run that trained would train a byte-identical
model, so it is skipped (jobs/recipe.py). The bars already have `data_fingerprint`; this column holds the
digest of the rest. Rows recorded before this revision have it empty, so the first run after the upgrade
always trains.
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("training_runs") as batch:
        batch.add_column(sa.Column("recipe_digest", sa.String(64)))


def downgrade() -> None:
    with op.batch_alter_table("training_runs") as batch:
        batch.drop_column("recipe_digest")
