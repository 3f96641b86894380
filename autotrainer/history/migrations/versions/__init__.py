"""Schema revisions, oldest first: 0001 the seed's training_runs table, 0002 autotrainer's additions,
0003 the seed's run times as timestamptz, 0004 numbered run snapshots, 0005 champion evidence and signals."""
