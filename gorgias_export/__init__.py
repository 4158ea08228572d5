"""Export a Gorgias helpdesk account's data to files, resumably and at the API's rate limit."""

__version__ = "0.2.0"
