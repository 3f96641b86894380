"""What happened: run records and model events, in the database or the outbox file when it is down."""
