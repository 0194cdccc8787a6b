"""Process runtime: the worker, the warm zygote and its spares, supervision of each process.

``python -m sandbox.runtime.worker`` is the entry point the tutor starts. Nothing here decides
what a process may reach (that is :mod:`sandbox.isolation`) or whether a solution is right
(:mod:`sandbox.judging`).
"""
