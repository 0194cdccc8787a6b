"""Judging: the harness that runs learner code and the judge that decides checks."""
