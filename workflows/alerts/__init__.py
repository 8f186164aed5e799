"""Deadline colours and alerts (§4), the working-day-before delay question, and reports of missed clocks."""
