"""Daily stand-ups (每日站会): per-group configuration, prompts, answers, reminders, digests, participation."""
