"""One module per use case the command line offers: retrain, check, rollback, monitor, audit, inspect bars."""
