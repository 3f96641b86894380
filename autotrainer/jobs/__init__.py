"""One module per use case the command line offers: retrain, check, rollback, monitor, inspect bars, past runs
(history); `session` opens an invocation's settings and `exit_codes` holds the commands' exit-code rules."""
