"""The terminal: rendering events, the ``User:`` prompt, and the approval prompt.

Everything a person sees or types during a chat. Imports the layers below
(:mod:`chatfn.chat` and under); never imported by them.
"""
