"""The `feedback` Lambda: a person's correction of one prediction, into quarantine.

contracts/feedback.md is its contract; `correction` checks a body, `handler` serves it.
"""
