"""What may reach a terminal or a pipe, made safe: the one sanitiser, the one redactor, stderr lines.

The lowest layer with :mod:`chatfn.errors` and :mod:`chatfn.events`: it imports nothing
else of chatfn, so every other package can use it.
"""
