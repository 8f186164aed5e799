"""The weekly report (《周进度表》): owners are asked, the bot compiles one report per collaboration."""
