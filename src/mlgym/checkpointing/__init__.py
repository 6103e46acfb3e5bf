"""Checkpointing strategies, atomic checkpoint files with checksums, and resuming a job from them."""
