"""Schema revisions, oldest first: 0001 the seed's training_runs table, 0002 autotrainer's additions."""
