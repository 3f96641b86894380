"""The retraining policy replayed over history on a simulated clock, and its summary."""
