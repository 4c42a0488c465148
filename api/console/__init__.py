"""The social workers' web console: server-rendered pages under /console/, in Korean by default."""
