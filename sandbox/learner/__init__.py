"""The learner-facing API (``from sandbox import show``) and the event channel it writes to.

Nothing here imports ``tutor``: learner code runs in the worker's interpreter, which may not
have the tutor installed at all (``--python``).
"""
