"""Where the recorded real-server streams live, and a mark to skip when they are absent.

They sit beside the checkout (``../shared/streams``) and are never copied into the
project, so the suite still runs anywhere: tests that read them skip instead.
"""

from __future__ import annotations

from pathlib import Path

import pytest

STREAMS_DIR = Path(__file__).resolve().parents[2] / "shared" / "streams"

# Every recorded stream the tests expect; listed so parametrised ids are stable with or without the folder.
STREAM_NAMES = (
    "azure_gpt4o_tool_call",
    "copilot_gpt4o_tool_call",
    "deepseek_reasoner_reasoning_then_tool",
    "groq_llama33_tool_whole_chunk",
    "legacy_gpt35_function_call",
    "mistral_small_tool_no_index",
    "ollama_qwen25coder_tool_whole_chunk",
    "openai_gpt4o_length_truncated",
    "openai_gpt4o_parallel_tools",
    "openai_gpt4o_text",
    "openai_gpt4o_tool_single",
    "vllm_qwen25coder_tool_no_args_key",
)

needs_streams = pytest.mark.skipif(
    not STREAMS_DIR.is_dir(), reason=f"recorded streams not found at {STREAMS_DIR}"
)


def read_stream(name: str, directory: Path = STREAMS_DIR) -> bytes:
    """The raw SSE body of one recorded stream."""
    path = directory / f"{name}.sse"
    if not path.is_file():
        pytest.skip(f"recorded stream {path} is missing")
    return path.read_bytes()


RESPONSES_DIR = STREAMS_DIR / "responses"

# The recorded Responses API streams (see responses/SOURCES.md), listed for stable test ids.
RESPONSES_STREAM_NAMES = (
    "azure_gpt5mini_function_call",
    "openai_gpt4o_function_call",
    "openai_gpt4omini_parallel_calls",
    "openai_gpt4omini_text",
    "openai_gpt5_summary_encrypted_then_call",
    "openai_gpt5nano_error_insufficient_quota",
)

needs_responses_streams = pytest.mark.skipif(
    not RESPONSES_DIR.is_dir(), reason=f"recorded Responses streams not found at {RESPONSES_DIR}"
)


def read_responses_stream(name: str) -> bytes:
    """The raw SSE body of one recorded Responses API stream."""
    return read_stream(name, RESPONSES_DIR)
