"""One precedence for every setting: command-line flag > environment > config file > default.

Every setting that more than one place can give is named once in :data:`SETTINGS`,
with its flag, its environment variables (the first one set wins) and its key in the
file, and every reader asks :func:`resolve` for it. So the rule the README states is
true by construction, a new setting cannot forget it, and ``chatfn config show``
can say where each value came from. An empty environment variable counts as unset,
as in a shell that exports ``X=`` to turn something off.

Settings only the file can give (timeouts, headers, tool lists) are read from the
:class:`~chatfn.settings.config.Config` directly; they have one source, no precedence.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Callable, Generic, Mapping, Optional, Sequence, TypeVar

from chatfn.errors import ConfigError

T = TypeVar("T")

DEFAULT_SYSTEM_PROMPT = "You are a helpful AI assistant."


@dataclass(frozen=True)
class Setting:
    """Where one setting can come from, highest precedence first."""

    name: str
    flag: Optional[str] = None
    env: tuple[str, ...] = ()
    file: Optional[str] = None
    default: Any = None
    parse: Callable[[str], Any] = str
    """Turns an environment variable's text into the setting's type (may raise ValueError)."""


@dataclass(frozen=True)
class Resolved(Generic[T]):
    """A setting's value and where it came from (``--model``, ``$CHATFN_MODEL``, ``file``, ``default``)."""

    value: T
    source: str


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise ValueError("must be at least 1")
    return value


SETTINGS: dict[str, Setting] = {
    setting.name: setting
    for setting in (
        Setting("config", flag="--config", env=("CHATFN_CONFIG",)),
        Setting("profile", flag="--profile", env=("CHATFN_PROFILE",), file="default_profile"),
        Setting("model", flag="--model", env=("CHATFN_MODEL",), file="profiles.<name>.model"),
        Setting(
            "deployment",
            flag="--model",
            env=("CHATFN_MODEL", "AZURE_OPENAI_CHAT_DEPLOYMENT"),
            file="profiles.<name>.deployment",
        ),
        Setting("base_url", env=("OPENAI_BASE_URL",), file="profiles.<name>.base_url"),
        Setting("endpoint", env=("AZURE_OPENAI_ENDPOINT",), file="profiles.<name>.endpoint"),
        Setting(
            "api_version", env=("AZURE_OPENAI_API_VERSION", "OPENAI_API_VERSION"), file="profiles.<name>.api_version"
        ),
        Setting("api_key", env=("OPENAI_API_KEY",), file="profiles.<name>.api_key"),
        Setting("azure_api_key", env=("AZURE_OPENAI_API_KEY",), file="profiles.<name>.api_key"),
        Setting(
            "system_prompt",
            flag="--system",
            env=("CHATFN_SYSTEM_PROMPT",),
            file="profiles.<name>.system_prompt, then system_prompt",
            default=DEFAULT_SYSTEM_PROMPT,
        ),
        Setting(
            "azure_system_prompt",
            flag="--system",
            env=("CHATFN_SYSTEM_PROMPT", "AZURE_OPENAI_SYSTEM_PROMPT"),
            file="profiles.<name>.system_prompt, then system_prompt",
            default=DEFAULT_SYSTEM_PROMPT,
        ),
        Setting(
            "max_rounds",
            flag="--max-rounds",
            env=("CHATFN_MAX_ROUNDS",),
            file="max_rounds",
            default=10,
            parse=_positive_int,
        ),
        Setting("log_path", env=("CHATFN_LOG_DB",), file="log.path"),
        Setting("log_enabled", flag="--no-log", file="log.enabled", default=True),
    )
}
"""Every setting with more than one source. Tests walk this table: each row, each source."""


def resolve(
    name: str,
    *,
    flag: Optional[T] = None,
    file: Optional[T] = None,
    env: Optional[Sequence[str]] = None,
    default: Optional[T] = None,
    environ: Optional[Mapping[str, str]] = None,
) -> Resolved[Any]:
    """The value of setting ``name``: ``flag``, else its environment, else ``file``, else its default.

    ``None`` means "not given" at every level. ``env`` replaces the setting's own
    variables where the file names another (``api_key_env``); ``default`` replaces
    its default where one depends on other settings.
    """
    setting = SETTINGS[name]
    if flag is not None:
        return Resolved(flag, setting.flag or "flag")
    environ = os.environ if environ is None else environ
    for variable in setting.env if env is None else env:
        text = environ.get(variable)
        if text:
            try:
                return Resolved(setting.parse(text), f"${variable}")
            except ValueError as error:
                raise ConfigError(f"${variable}: {error} (got {text!r})") from None
    if file is not None:
        return Resolved(file, "file")
    return Resolved(setting.default if default is None else default, "default")


def value(name: str, **sources: Any) -> Any:
    """Just the value of :func:`resolve`."""
    return resolve(name, **sources).value

