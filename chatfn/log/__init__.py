"""The conversation log: a SQLite store, its schema and migrations, and a session's view of it.

Imports :mod:`chatfn.settings` and the base layer; the chat loop writes to it through
the small :class:`~chatfn.log.session.ChatLog` protocol.
"""
