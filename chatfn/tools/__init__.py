"""Tools: the :class:`~chatfn.tools.tool.Tool` type, schemas built from signatures, running a round.

Owns what a tool is, how its schema is built and checked, how its arguments are checked,
whether a call may run without asking (the policy), and running calls with timeouts.
Imports the base layer and :mod:`chatfn.settings`; knows nothing of plugins or the wire.
"""
