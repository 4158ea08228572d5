"""The fake account every test talks to."""

from __future__ import annotations

# Distinctive enough that finding it anywhere in output is never a coincidence.
SECRET_KEY = "sk-TEST-6f1c2b9e-do-not-leak"
EMAIL = "agent@example.com"
# The fake OAuth app's access token, as distinctive.
SECRET_TOKEN = "oat-TEST-3d7a0c5e-do-not-leak"
