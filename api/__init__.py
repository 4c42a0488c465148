"""safecity's HTTP API, worker and CLI: the platform floor (api.platform), the domains, and the app on top."""
