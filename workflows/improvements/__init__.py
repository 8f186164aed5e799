"""§8 The improvement log (协作改进流程表), tracked like subtasks."""
