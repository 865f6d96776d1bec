"""The user's configuration: one TOML file read into one typed model, in one place.

Found at ``--config PATH``, else ``$CHATFN_CONFIG``, else ``config.toml`` in the
user config directory. Precedence for every setting is flag > environment > file
> default, applied by :func:`chatfn.settings.resolve.resolve` for every setting that
has more than one source; this module only reads the file.
"""

from __future__ import annotations

import os
import sys
from dataclasses import asdict, dataclass, field, fields, is_dataclass
from pathlib import Path
from typing import Any, Literal, Optional, Union, get_args, get_origin, get_type_hints

from chatfn.errors import ConfigError
from chatfn.settings.resolve import resolve

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

CONFIG_ENV = "CHATFN_CONFIG"


def _positive(default: float) -> Any:
    return field(default=default, metadata={"minimum": 0, "exclusive": True})


def _at_least(default: int, minimum: int) -> Any:
    return field(default=default, metadata={"minimum": minimum})


@dataclass
class Profile:
    """How to reach one model: a provider, where it lives, and which key to use."""

    provider: Literal["openai", "azure"] = "openai"
    model: Optional[str] = None
    deployment: Optional[str] = None
    base_url: Optional[str] = None
    endpoint: Optional[str] = None
    api_version: Optional[str] = None
    api_key_env: Optional[str] = None
    api_key: Optional[str] = field(default=None, repr=False)
    api: Literal["tools", "functions", "responses"] = "tools"
    store: bool = False
    stream_max_event_mib: float = _positive(16.0)
    """One streamed event larger than this is an error, not an ever-growing buffer."""
    stream_max_body_mib: float = _positive(256.0)
    """A response body larger than this once decompressed (a gzip bomb) is an error."""
    stream_idle_timeout: float = _positive(300.0)
    """Seconds a stream may carry only keep-alive comments before chatfn gives up on it."""
    system_prompt: Optional[str] = None
    timeout: float = _positive(60.0)
    max_retries: int = _at_least(2, 0)
    stream_usage: bool = True
    headers: dict[str, str] = field(default_factory=dict)
    options: dict[str, Any] = field(default_factory=dict)
    """Model options sent with every request (temperature, seed…); see :mod:`chatfn.settings.options`."""
    params: dict[str, Any] = field(default_factory=dict)
    """The older name for ``options``; ``options`` wins where both set a key."""


@dataclass
class ToolSettings:
    """Which tools the model sees, which need approval, and how long they may run."""

    enabled: list[str] = field(default_factory=list)
    disabled: list[str] = field(default_factory=list)
    require_approval: list[str] = field(default_factory=list)
    skip_approval: list[str] = field(default_factory=list)
    private_data: list[str] = field(default_factory=list)
    open_world: list[str] = field(default_factory=list)
    trust_with_private_data: list[str] = field(default_factory=list)
    isolated: list[str] = field(default_factory=list)
    timeout: float = _positive(30.0)
    timeouts: dict[str, float] = field(default_factory=dict)
    max_result_chars: int = _at_least(20_000, 100)
    prefer: dict[str, str] = field(default_factory=dict)


@dataclass
class LogSettings:
    """Where conversations are logged, and whether they are."""

    enabled: bool = True
    path: Optional[str] = None


@dataclass
class Config:
    """The whole configuration file."""

    default_profile: Optional[str] = None
    system_prompt: Optional[str] = None
    max_rounds: int = _at_least(10, 1)
    profiles: dict[str, Profile] = field(default_factory=dict)
    tools: ToolSettings = field(default_factory=ToolSettings)
    disabled_plugins: list[str] = field(default_factory=list)
    log: LogSettings = field(default_factory=LogSettings)
    plugins: dict[str, dict[str, Any]] = field(default_factory=dict)
    mcp: dict[str, Any] = field(default_factory=dict)
    """The ``[mcp]`` table; :mod:`chatfn.mcp.config` checks it, as it shares the JSON files' entry shape."""
    mcp_files: list[Path] = field(default_factory=list, compare=False, metadata={"internal": True})
    """MCP config files named by ``--mcp-config`` on the command line."""
    source: Optional[Path] = field(default=None, compare=False, metadata={"internal": True})
    """The file this config was read from; None when it is all defaults."""


def user_config_path() -> Path:
    """``config.toml`` in the platform's user config directory."""
    from platformdirs import user_config_dir

    return Path(user_config_dir("chatfn", appauthor=False)) / "config.toml"


def config_path(path: Path | None = None) -> Path:
    """The config file to use: the flag, else ``$CHATFN_CONFIG``, else the user's."""
    chosen = resolve("config", flag=path)
    if chosen.value is None:
        return user_config_path()
    return Path(chosen.value).expanduser()


def load_config(path: Path | None = None) -> Config:
    """Read and check the config; a missing default file means all defaults.

    A file named explicitly (flag or ``$CHATFN_CONFIG``) must exist.
    """
    explicit = resolve("config", flag=path).source != "default"
    file = config_path(path)
    try:
        raw = file.read_bytes()
    except FileNotFoundError:
        if explicit:
            raise ConfigError(f"{file}: no such config file", hint="run 'chatfn config init' to create one") from None
        return Config()
    except OSError as error:
        raise ConfigError(f"{file}: cannot read config file: {error.strerror or error}") from None
    config = parse_config(raw, file)
    config.source = file
    _warn_if_readable(file, config)
    return config


def _warn_if_readable(file: Path, config: Config) -> None:
    """One line when a file holding a secret can be read by other users of the machine."""
    if os.name != "posix":
        return
    try:
        mode = file.stat().st_mode
    except OSError:
        return
    if not mode & 0o044 or redacted(config) == _plain(config):
        return
    from chatfn.output.console import warning

    warning(f"{file} holds a secret and other users can read it (mode {mode & 0o777:o}); run: chmod 600 {file}")


def _plain(config: Config) -> dict[str, Any]:
    data = asdict(config)
    data.pop("source", None)
    data.pop("mcp_files", None)
    return data


def parse_config(raw: bytes, file: Path | str) -> Config:
    """Parse TOML bytes into a :class:`Config`, naming ``file`` in every error."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise ConfigError(f"{file}: not UTF-8 text (byte {error.start})") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{file}: TOML syntax error: {error}") from None
    try:
        config = _build(Config, data, "")
    except _Invalid as error:
        raise ConfigError(f"{file}: {error}") from None
    from chatfn.settings.builtin_profiles import BUILTIN_PROFILES
    from chatfn.settings.options import check_profile_options

    for name, profile in config.profiles.items():
        check_profile_options(name, profile.options, str(file))
    if config.default_profile is not None and config.default_profile not in {*config.profiles, *BUILTIN_PROFILES}:
        known = ", ".join(sorted(config.profiles)) or "none defined"
        raise ConfigError(f"{file}: default_profile: no profile named {config.default_profile!r} (profiles: {known})")
    return config


class _Invalid(ValueError):
    """One wrong value, as ``key.path: what is wrong``."""


_TYPE_NAMES = {str: "a string", int: "an integer", float: "a number", bool: "true or false"}


def _build(cls: Any, data: Any, prefix: str) -> Any:
    """Check ``data`` (a TOML table) against the dataclass ``cls`` and build it."""
    if not isinstance(data, dict):
        raise _Invalid(f"{prefix.rstrip('.') or '(top level)'}: expected a table (got {data!r})")
    hints = _hints(cls)
    known = {f.name: f for f in fields(cls) if not f.metadata.get("internal")}
    values: dict[str, Any] = {}
    for key, value in data.items():
        if key not in known:
            raise _Invalid(f"{prefix}{key}: unknown key")
        values[key] = _convert(value, hints[key], f"{prefix}{key}")
        _check_bounds(known[key], values[key], f"{prefix}{key}")
    return cls(**values)


def _hints(cls: Any) -> dict[str, Any]:
    cached = _HINTS.get(cls)
    if cached is None:
        cached = _HINTS[cls] = get_type_hints(cls)
    return cached


_HINTS: dict[Any, dict[str, Any]] = {}


def _convert(value: Any, hint: Any, key: str) -> Any:
    origin = get_origin(hint)
    if hint is Any:
        return value
    if origin is Union:  # Optional[X]: TOML has no null, so a value present must be an X
        return _convert(value, next(arg for arg in get_args(hint) if arg is not type(None)), key)
    if origin is Literal:
        if value not in get_args(hint):
            allowed = " or ".join(repr(arg) for arg in get_args(hint))
            raise _Invalid(f"{key}: must be {allowed} (got {value!r})")
        return value
    if origin is list:
        if not isinstance(value, list):
            raise _Invalid(f"{key}: expected a list (got {value!r})")
        (item,) = get_args(hint)
        return [_convert(element, item, f"{key}[{index}]") for index, element in enumerate(value)]
    if origin is dict:
        if not isinstance(value, dict):
            raise _Invalid(f"{key}: expected a table (got {value!r})")
        item = get_args(hint)[1]
        return {name: _convert(element, item, f"{key}.{name}") for name, element in value.items()}
    if is_dataclass(hint):
        return _build(hint, value, f"{key}.")
    if hint is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, hint) and not (hint is int and isinstance(value, bool)):
        return value
    raise _Invalid(f"{key}: expected {_TYPE_NAMES.get(hint, hint.__name__)} (got {value!r})")


def _check_bounds(spec: Any, value: Any, key: str) -> None:
    minimum = spec.metadata.get("minimum")
    if minimum is None:
        return
    if spec.metadata.get("exclusive") and value <= minimum:
        raise _Invalid(f"{key}: must be greater than {minimum} (got {value!r})")
    if value < minimum:
        raise _Invalid(f"{key}: must be at least {minimum} (got {value!r})")


def redacted(config: Config) -> dict[str, Any]:
    """The config as plain data with every secret replaced, for ``chatfn config show``."""
    from chatfn.output.redact import redact_data

    return redact_data(_plain(config))
