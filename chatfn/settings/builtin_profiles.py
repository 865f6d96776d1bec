"""Profiles for well-known OpenAI-compatible services, so ``-p groq`` works with no config file.

Each names the service's base URL and the environment variable its own docs name
for the key (the source of both is beside each entry). They are the *default*
level of the one precedence (:mod:`chatfn.settings.resolve`): a profile of the
same name in the config file overrides them key by key, and the environment
overrides both. Two rules keep a key where it belongs:

- a built-in profile reads only its own key variable, never ``OPENAI_API_KEY``
  (local servers that need no key get none);
- its base URL comes from ``CHATFN_<NAME>_BASE_URL`` (say, a vLLM on another host),
  never from ``OPENAI_BASE_URL``, which would send the service's key elsewhere.
  ``openai`` alone keeps ``OPENAI_BASE_URL``, the SDK's own variable.

``azure`` takes its endpoint, API version and deployment from the same
``AZURE_OPENAI_*`` variables as the environment profile.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Optional

__all__ = ["BUILTIN_PROFILES", "Service", "builtin_profile"]


@dataclass(frozen=True)
class Service:
    """A well-known service: where it lives, which variable holds its key, and where that is documented."""

    name: str
    title: str
    base_url: Optional[str]
    key_env: Optional[str]
    source: str
    """The provider's page that gives the base URL and the key variable."""
    key_required: bool = True
    provider: Literal["openai", "azure"] = "openai"
    note: str = ""

    @property
    def base_url_env(self) -> str:
        """The variable that moves this service's base URL (``CHATFN_GROQ_BASE_URL``…)."""
        return "OPENAI_BASE_URL" if self.name == "openai" else f"CHATFN_{self.name.upper()}_BASE_URL"


BUILTIN_PROFILES: dict[str, Service] = {
    service.name: service
    for service in (
        Service(
            "openai", "OpenAI", "https://api.openai.com/v1", "OPENAI_API_KEY",
            "https://platform.openai.com/docs/api-reference (the openai SDK's defaults)",
        ),
        Service(
            "azure", "Azure OpenAI", None, "AZURE_OPENAI_API_KEY",
            "https://learn.microsoft.com/azure/ai-services/openai/reference",
            provider="azure",
            note="endpoint, API version and deployment from $AZURE_OPENAI_ENDPOINT, $AZURE_OPENAI_API_VERSION, "
            "$AZURE_OPENAI_CHAT_DEPLOYMENT",
        ),
        Service("openrouter", "OpenRouter", "https://openrouter.ai/api/v1", "OPENROUTER_API_KEY",
                "https://openrouter.ai/docs/quickstart"),
        Service("groq", "Groq", "https://api.groq.com/openai/v1", "GROQ_API_KEY",
                "https://console.groq.com/docs/openai"),
        Service("deepseek", "DeepSeek", "https://api.deepseek.com", "DEEPSEEK_API_KEY",
                "https://api-docs.deepseek.com/"),
        Service("mistral", "Mistral AI", "https://api.mistral.ai/v1", "MISTRAL_API_KEY",
                "https://docs.mistral.ai/api (endpoint; MISTRAL_API_KEY in its SDK examples)"),
        Service("together", "Together AI", "https://api.together.ai/v1", "TOGETHER_API_KEY",
                "https://docs.together.ai/docs/inference/openai-compatibility"),
        Service("fireworks", "Fireworks AI", "https://api.fireworks.ai/inference/v1", "FIREWORKS_API_KEY",
                "https://docs.fireworks.ai/tools-sdks/openai-compatibility (its docs write the key as "
                "<YOUR_FIREWORKS_API_KEY>)"),
        Service("xai", "xAI", "https://api.x.ai/v1", "XAI_API_KEY",
                "https://docs.x.ai/api/integrations"),
        Service("gemini", "Google Gemini (OpenAI endpoint)",
                "https://generativelanguage.googleapis.com/v1beta/openai/", "GEMINI_API_KEY",
                "https://ai.google.dev/gemini-api/docs/openai"),
        Service("anthropic", "Anthropic (OpenAI SDK compatibility)", "https://api.anthropic.com/v1/",
                "ANTHROPIC_API_KEY", "https://docs.anthropic.com/en/api/openai-sdk"),
        Service("ollama", "Ollama (local)", "http://localhost:11434/v1", None,
                "https://github.com/ollama/ollama/blob/main/docs/openai.md (the key is 'required but ignored')",
                key_required=False),
        Service("lmstudio", "LM Studio (local)", "http://localhost:1234/v1", None,
                "https://lmstudio.ai/docs/api/openai-api", key_required=False),
        Service("llamacpp", "llama.cpp server (local)", "http://localhost:8080/v1", "LLAMA_API_KEY",
                "llama-server --help: '--api-key KEY ... (env: LLAMA_API_KEY)', default port 8080",
                key_required=False),
        Service("vllm", "vLLM (local)", "http://localhost:8000/v1", "VLLM_API_KEY",
                "https://docs.vllm.ai/en/latest/serving/openai_compatible_server.html; VLLM_API_KEY in vllm/envs.py",
                key_required=False),
    )
}
"""Every built-in profile, by the name ``-p`` takes."""


def builtin_profile(name: Optional[str]) -> Optional[Service]:
    """The built-in profile called ``name``, if there is one."""
    return BUILTIN_PROFILES.get(name) if name else None
