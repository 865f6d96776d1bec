"""Plugins: entry-point discovery, isolation of broken plugins, and the built-in default plugin.

Owns turning installed packages into a :class:`~chatfn.tools.tool.ToolSet`. The built-in
tools are a plugin like any other (:mod:`chatfn.plugins.builtin`). Imports
:mod:`chatfn.tools`, :mod:`chatfn.settings` and the base layer.
"""
