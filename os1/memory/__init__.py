"""Memory: what she knows of each user, derived from the conversation log and searchable."""
