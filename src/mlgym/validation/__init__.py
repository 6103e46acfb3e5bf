"""Validation strategies: grid search, k-fold cross-validation and nested cross-validation, as plans of jobs."""
