"""Slack: slash commands, @-mentions and DMs in; Block Kit cards, modals and edits out (see docs/slack.md)."""
