"""§7 Meetings and minutes: the notice (《沟通会议通知》), the minutes (表3 会议纪要), their confirmation, and
action items that become tracked subtasks."""
