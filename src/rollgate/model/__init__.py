"""The estimator, its safe serialization and its metrics: pure functions, no tracking, no paths."""
