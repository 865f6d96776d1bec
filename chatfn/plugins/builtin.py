"""chatfn's own tools as a plugin: this module holds only its hook, as any third party's would.

The tools live beside it (:mod:`chatfn.plugins.clock`, :mod:`chatfn.plugins.weather`);
they are registered through the same hook and ``register()`` as a third party's, so
that path is the one every test exercises.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import chatfn
from chatfn.plugins.clock import (
    DATE_SCHEMA,
    TIME_SCHEMA,
    get_current_date,
    get_current_time,
)
from chatfn.plugins.weather import WEATHER_SCHEMA, weather_from_config


@chatfn.hookimpl
def register_tools(register: Any, plugin_config: Mapping[str, Mapping[str, Any]]) -> None:
    """The sample's three tools, the weather made real."""
    local = {"read_only_hint": True, "open_world_hint": False, "idempotent_hint": True}
    register(get_current_date, schema=DATE_SCHEMA, **local)
    register(get_current_time, schema=TIME_SCHEMA, **local)
    # The weather asks a web service: open-world, so it asks once the conversation holds private data.
    register(
        weather_from_config(plugin_config.get("builtin", {})),
        schema=WEATHER_SCHEMA,
        read_only_hint=True,
        open_world_hint=True,
    )
