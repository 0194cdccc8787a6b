"""Isolation: what a learner's process may reach, and the report of what was applied.

Standard library only; nothing here imports torch. :mod:`.confine` is the one place a process
enters the sandbox; :mod:`.report` is the one place the isolation report is built.
"""
