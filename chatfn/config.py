"""The user's configuration: one TOML file read into one typed model, in one place.

Found at ``--config PATH``, else ``$CHATFN_CONFIG``, else ``config.toml`` in the
user config directory. Precedence for every setting is flag > environment > file
> default; the flags and variables are applied by the code that uses a setting
(:mod:`chatfn.provider` for profiles), this module only reads the file.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any, Literal, Optional

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError

from chatfn.errors import ConfigError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

CONFIG_ENV = "CHATFN_CONFIG"
DEFAULT_SYSTEM_PROMPT = "You are a helpful AI assistant."


class _Section(BaseModel):
    """Every table rejects keys it does not know, so typos are caught, not ignored."""

    model_config = ConfigDict(extra="forbid", validate_default=True)


class Profile(_Section):
    """How to reach one model: a provider, where it lives, and which key to use."""

    provider: Literal["openai", "azure"] = "openai"
    model: Optional[str] = None
    deployment: Optional[str] = None
    base_url: Optional[str] = None
    endpoint: Optional[str] = None
    api_version: Optional[str] = None
    api_key_env: Optional[str] = None
    api_key: Optional[str] = Field(default=None, repr=False)
    api: Literal["tools", "functions"] = "tools"
    system_prompt: Optional[str] = None
    timeout: float = Field(default=60.0, gt=0)
    max_retries: int = Field(default=2, ge=0)
    stream_usage: bool = True
    headers: dict[str, str] = Field(default_factory=dict)
    params: dict[str, Any] = Field(default_factory=dict)


class ToolSettings(_Section):
    """Which tools the model sees, which need approval, and how long they may run."""

    enabled: list[str] = Field(default_factory=list)
    disabled: list[str] = Field(default_factory=list)
    require_approval: list[str] = Field(default_factory=list)
    skip_approval: list[str] = Field(default_factory=list)
    timeout: float = Field(default=30.0, gt=0)
    timeouts: dict[str, float] = Field(default_factory=dict)
    max_result_chars: int = Field(default=20_000, ge=100)
    prefer: dict[str, str] = Field(default_factory=dict)


class LogSettings(_Section):
    """Where conversations are logged, and whether they are."""

    enabled: bool = True
    path: Optional[str] = None


class Config(_Section):
    """The whole configuration file."""

    default_profile: Optional[str] = None
    system_prompt: Optional[str] = None
    max_rounds: int = Field(default=10, ge=1)
    profiles: dict[str, Profile] = Field(default_factory=dict)
    tools: ToolSettings = Field(default_factory=ToolSettings)
    disabled_plugins: list[str] = Field(default_factory=list)
    log: LogSettings = Field(default_factory=LogSettings)
    plugins: dict[str, dict[str, Any]] = Field(default_factory=dict)

    _source: Optional[Path] = PrivateAttr(default=None)

    @property
    def source(self) -> Path | None:
        """The file this config was read from, or None when it is all defaults."""
        return self._source


def user_config_path() -> Path:
    """``config.toml`` in the platform's user config directory."""
    from platformdirs import user_config_dir

    return Path(user_config_dir("chatfn", appauthor=False)) / "config.toml"


def config_path(path: Path | None = None) -> Path:
    """The config file to use: the flag, else ``$CHATFN_CONFIG``, else the user's."""
    if path is not None:
        return path.expanduser()
    from_env = os.environ.get(CONFIG_ENV)
    if from_env:
        return Path(from_env).expanduser()
    return user_config_path()


def load_config(path: Path | None = None) -> Config:
    """Read and check the config; a missing default file means all defaults.

    A file named explicitly (flag or ``$CHATFN_CONFIG``) must exist.
    """
    explicit = path is not None or bool(os.environ.get(CONFIG_ENV))
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
    config._source = file
    return config


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
        config = Config.model_validate(data)
    except ValidationError as error:
        raise ConfigError(f"{file}: {describe_validation_error(error)}") from None
    if config.default_profile is not None and config.default_profile not in config.profiles:
        known = ", ".join(sorted(config.profiles)) or "none defined"
        raise ConfigError(f"{file}: default_profile: no profile named {config.default_profile!r} (profiles: {known})")
    return config


def describe_validation_error(error: ValidationError) -> str:
    """The first problem pydantic found, as ``key.path: what is wrong``."""
    first = error.errors(include_url=False)[0]
    key = ".".join(str(part) for part in first["loc"]) or "(top level)"
    if first["type"] == "extra_forbidden":
        return f"{key}: unknown key"
    message = first["msg"]
    if first["type"] == "missing":
        return f"{key}: required key is missing"
    if "input" in first and first["type"] not in ("extra_forbidden",) and not isinstance(first["input"], (dict, list)):
        return f"{key}: {message} (got {first['input']!r})"
    return f"{key}: {message}"


def redacted(config: Config) -> dict[str, Any]:
    """The config as plain data with every secret replaced, for ``chatfn config show``."""
    data = config.model_dump(mode="json")
    for profile in data.get("profiles", {}).values():
        if profile.get("api_key"):
            profile["api_key"] = "***"
        for name in list(profile.get("headers", {})):
            if _looks_secret(name):
                profile["headers"][name] = "***"
    for table in data.get("plugins", {}).values():
        _redact_table(table)
    return data


def _redact_table(table: dict[str, Any]) -> None:
    for key, value in table.items():
        if isinstance(value, dict):
            _redact_table(value)
        elif _looks_secret(key) and value:
            table[key] = "***"


def _looks_secret(key: str) -> bool:
    lowered = key.lower().replace("-", "_")
    return any(word in lowered for word in ("key", "token", "secret", "password", "authorization"))
