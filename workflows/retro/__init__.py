"""§6 Retrospective (《复盘报告》), SOP templates (协作SOP), planned subtasks and the archive search (项目库)."""
