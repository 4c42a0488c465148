"""Safety checks: "are you safe?" for people in care when a severe warning covers their district."""
