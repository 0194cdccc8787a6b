"""The per-user warm worker daemon that the CLI reuses (``pytorch-tutor worker``).

A CLI command that runs learner code would otherwise start a whole sandbox worker (and so
``import torch``) for one check and tear it down again: seconds, where the TUI answers in
milliseconds. Instead the first ``check``/``run``/``watch`` starts a small daemon in the
background (``python -m tutor.workerd.server``) that keeps one warm :class:`tutor.engine.Engine`
and serves later commands over a Unix socket:

* ``runtime``  where the sockets live (a 0700 folder of this user's), their names (one per
  interpreter + device + sandbox checkout), and the peer-credential checks both ends make;
* ``channel``  JSON lines over a socket (the same encoding as the worker protocol);
* ``server``   the daemon: one request at a time, a ``waiting`` line for the next in line,
  idle exit, never a connection from another user; it never imports torch (its sandbox
  worker does);
* ``client``   :class:`RemoteEngine`, a drop-in ``Engine`` for the commands, and the helpers
  behind ``pytorch-tutor worker start|stop|status``.
"""

#: The daemon's own handshake version (its hello, status and stop messages). The requests
#: and events it relays are the sandbox protocol's, versioned by ``PROTOCOL_VERSION``.
DAEMON_VERSION = 1
