"""The seed's `started_at` / `completed_at` as `timestamp with time zone`, every row kept.

Revision ID: 0003

A database the original bot created is stamped 0001 as it is, and the seed names its columns, not their
types: `started_at` and `completed_at` may be plain `timestamp`. Such a column keeps no offset. PostgreSQL
stores each time a client sends with its offset (the seed's AutoTrainer records `datetime.now(WIB)`,
autotrainer sends UTC) as the wall-clock time of the session's TimeZone, and autotrainer read that back as
UTC: on a server set to Asia/Jakarta a 22:00Z run came back as 05:00Z, and the 20 h guard skipped a day.

What the naive values mean: wall-clock time in the session TimeZone they were written under. Neither the
seed nor autotrainer sets one, so that is the server's (or the database's) own setting, the one this
migration runs under too; `AT TIME ZONE current_setting('TimeZone')` gives each value back its instant.
(If the server's TimeZone was changed since those rows were written, they keep the error it made then.)
Columns that already carry a time zone, as 0001 creates them, are left alone; SQLite has no such type.
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

COLUMNS = ("started_at", "completed_at")


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    types = {c["name"]: c["type"] for c in sa.inspect(bind).get_columns("training_runs")}
    for name in COLUMNS:
        if not getattr(types[name], "timezone", False):
            op.execute(f"ALTER TABLE training_runs ALTER COLUMN {name} TYPE TIMESTAMP WITH TIME ZONE "
                       f"USING {name} AT TIME ZONE current_setting('TimeZone')")


def downgrade() -> None:
    """Nothing to undo: `timestamp with time zone` is the type 0001 declares for both columns."""
