"""The `mlgym` command line: train, validate, report, warmstart, sync."""
