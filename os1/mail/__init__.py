"""Mail: import, sync, triage, drafts and sending — sending and deleting only with a yes."""
