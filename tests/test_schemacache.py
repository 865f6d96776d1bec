"""Schemas from signatures are cached between runs, and never stale."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from plugin_factory import make_plugin, plugin_env

from chatfn.tools.schema import function_schema
from chatfn.tools.schemacache import SchemaCache

SOURCE = '''
import chatfn

def forecast(city: str, days: int = 3) -> str:
    """DOC

    Args:
        city: The city.
        days: Days ahead.
    """
    return city

@chatfn.hookimpl
def register_tools(register):
    register(forecast)
'''

PROBE = (
    "import sys, json\n"
    "from chatfn.plugins.host import load_tools\n"
    "tool = load_tools().tools['forecast']\n"
    "print(json.dumps([tool.description, 'pydantic' in sys.modules]))\n"
)


def probe(env: dict[str, str]) -> tuple[str, bool]:
    import json

    result = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, check=True)
    description, imported = json.loads(result.stdout)
    return description, imported


@pytest.mark.slow
def test_second_run_builds_no_schema_and_an_edit_is_seen(tmp_path: Path) -> None:
    site = make_plugin(tmp_path / "site", SOURCE.replace("DOC", "Weather forecast."), module="chatfn_cached",
                       distribution="chatfn-cached", entry_point="cached")
    env = plugin_env(site, load="cached")
    assert probe(env) == ("Weather forecast.", True)  # first run builds it with pydantic
    assert probe(env) == ("Weather forecast.", False)  # then it comes from the cache
    module = site / "chatfn_cached.py"
    module.write_text(SOURCE.replace("DOC", "A better forecast."), encoding="utf-8")
    later = time.time() + 5
    os.utime(module, (later, later))
    assert probe(env) == ("A better forecast.", True)


CHECK_PROBE = (
    "import sys, json\n"
    "from chatfn.plugins.host import load_tools\n"
    "from chatfn.tools.arguments import validate_arguments\n"
    "tool = load_tools().tools['forecast']\n"
    "validate_arguments(tool, {'city': 'Oslo', 'days': 2})\n"
    "print(json.dumps('jsonschema' in sys.modules))\n"
)


def test_schemas_are_checked_once_each_and_a_plain_call_needs_no_jsonschema(tmp_path: Path) -> None:
    site = make_plugin(tmp_path / "site", SOURCE.replace("DOC", "Weather forecast."), module="chatfn_checked",
                       distribution="chatfn-checked", entry_point="checked")
    env = plugin_env(site, load="checked")

    def imports_jsonschema() -> bool:
        result = subprocess.run([sys.executable, "-c", CHECK_PROBE], env=env, capture_output=True, text=True, check=True)
        return bool(json.loads(result.stdout))

    assert imports_jsonschema()  # the first run checks the schemas against the metaschema
    assert not imports_jsonschema()  # the second knows them checked, and the call is plain
    module = site / "chatfn_checked.py"
    module.write_text(SOURCE.replace("DOC", "Weather forecast.").replace("days: int = 3", "days: int = 3, hours: bool = False"), encoding="utf-8")
    later = time.time() + 5
    os.utime(module, (later, later))
    assert imports_jsonschema()  # a new version's schema is checked again


def test_a_broken_cache_file_is_rebuilt(tmp_path: Path) -> None:
    path = tmp_path / "schemas.json"
    path.write_text("{not json", encoding="utf-8")
    cache = SchemaCache(path)

    def tool(x: int) -> int:
        """Double it.

        Args:
            x: A number.
        """
        return 2 * x

    built = cache.schema(tool, None, None, function_schema)
    assert built == function_schema(tool)
    cache.save()
    again = SchemaCache(path).schema(tool, None, None, lambda *args: {"never": "called"})
    assert again == built


def test_functions_without_a_source_file_are_not_cached(tmp_path: Path) -> None:
    namespace: dict[str, object] = {}
    exec("def made(a: int) -> int:\n    'Made at run time.'\n    return a\n", namespace)
    cache = SchemaCache(tmp_path / "schemas.json")
    calls = []
    cache.schema(namespace["made"], None, None, lambda *args: calls.append(1) or {"name": "made"})
    cache.schema(namespace["made"], None, None, lambda *args: calls.append(1) or {"name": "made"})
    assert len(calls) == 2
