"""The proactive scheduler: reminders and alarms that fire on time, her own initiative
(a morning briefing, check-ins), and the channels that carry what she says."""
