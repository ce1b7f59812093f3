"""Time in the user's life: calendars and reminders as RFC 5545 objects, imported, synced
over CalDAV, asked about in conversation, and changed only with the user's consent."""
