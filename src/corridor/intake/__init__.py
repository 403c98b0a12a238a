"""Intake: one reader per source format -> canonical rows; validation; quarantine; loading."""
