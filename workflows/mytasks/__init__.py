"""“My tasks” (我的任务): everything waiting for one person across collaborations, and the optional morning digest."""
