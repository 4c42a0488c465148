"""The worker process: scheduled jobs (APScheduler), each slot run once across all workers."""
