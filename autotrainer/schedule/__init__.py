"""When a retrain is due: the pure decision and the state it decides from."""
