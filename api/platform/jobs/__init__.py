"""Scheduled jobs: what a job is, its slots, and running one slot exactly once across all workers."""
