"""DingTalk (钉钉): a Stream-mode robot with interactive cards. See docs/dingtalk.md."""
