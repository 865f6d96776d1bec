"""SSEDecoder: any split of the bytes, every line ending, the SSE fields, [DONE] and errors."""

from __future__ import annotations

import json

import pytest

from chatfn.errors import ProviderError
from chatfn.wire.sse import SSEDecoder

CHUNKS = [
    {"choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}}]},
    {"choices": [{"index": 0, "delta": {"content": "Grüße, 世界 🌍"}}]},
    {"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]},
]


def body(chunks: list[dict], newline: str = "\n") -> bytes:
    events = [f"data: {json.dumps(chunk, ensure_ascii=False)}{newline}{newline}" for chunk in chunks]
    return ("".join(events) + f"data: [DONE]{newline}{newline}").encode()


def decode(*reads: bytes) -> tuple[list[dict], SSEDecoder]:
    decoder = SSEDecoder()
    chunks = []
    for read in reads:
        chunks += decoder.feed(read)
    chunks += decoder.finish()
    return chunks, decoder


def test_whole_body_in_one_read() -> None:
    chunks, decoder = decode(body(CHUNKS))
    assert chunks == CHUNKS
    assert decoder.done


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"])
def test_every_two_way_split_gives_the_same_chunks(newline: str) -> None:
    data = body(CHUNKS, newline)
    for cut in range(len(data) + 1):
        chunks, decoder = decode(data[:cut], data[cut:])
        assert chunks == CHUNKS, f"split at byte {cut}"
        assert decoder.done


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"])
def test_one_byte_at_a_time(newline: str) -> None:
    data = body(CHUNKS, newline)
    chunks, decoder = decode(*(data[i : i + 1] for i in range(len(data))))
    assert chunks == CHUNKS
    assert decoder.done


def test_mixed_line_endings() -> None:
    data = b'data: {"a": 1}\r\n\r\ndata: {"a": 2}\r\rdata: {"a": 3}\n\ndata: {"a": 4}\r\n\n'
    assert decode(data)[0] == [{"a": 1}, {"a": 2}, {"a": 3}, {"a": 4}]


def test_cr_lf_split_between_reads_is_one_line_ending() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b'data: {"a": 1}\r') == []
    # "\r" then "\n" in the next read: one line end, then the blank line ends the event.
    assert decoder.feed(b"\n\r") == [{"a": 1}]
    assert decoder.feed(b"\n") == []
    assert decoder.feed(b'data: {"a": 2}\r\n\r\n') == [{"a": 2}]


def test_cr_lf_split_inside_a_multi_line_event() -> None:
    # A second line ending here would end the event after its first line, making it malformed.
    decoder = SSEDecoder()
    assert decoder.feed(b'data: {"a":\r') == []
    assert decoder.feed(b'\ndata: 1}\r\n\r\n') == [{"a": 1}]


def test_event_ending_in_cr_is_dispatched_without_waiting() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b'data: {"a": 1}\r\r') == [{"a": 1}]


def test_utf8_character_split_across_reads() -> None:
    data = 'data: {"t": "🌍"}\n\n'.encode()
    middle = data.index("🌍".encode()) + 2
    assert decode(data[:middle], data[middle:])[0] == [{"t": "🌍"}]


def test_comments_and_other_fields_are_ignored() -> None:
    data = (
        b": keep-alive\n\n"
        b": OPENROUTER PROCESSING\n"
        b"event: message\nid: 7\nretry: 3000\n"
        b'data: {"a": 1}\n\n'
        b"id\n\n"
        b'data:{"a": 2}\n\n'
    )
    assert decode(data)[0] == [{"a": 1}, {"a": 2}]


def test_multi_line_data_is_joined_with_newlines() -> None:
    data = b'data: {"a":\ndata: [1,\ndata:2]}\n\n'
    assert decode(data)[0] == [{"a": [1, 2]}]


def test_a_newline_inside_a_joined_string_is_a_real_newline() -> None:
    # Joined with "\n": a JSON string cannot hold a raw newline, so this is malformed, not "ab".
    with pytest.raises(ProviderError, match="malformed chunk"):
        decode(b'data: {"a": "a\ndata: b"}\n\n')


def test_chunks_without_blank_lines_between_them_are_each_accepted() -> None:
    data = b'data: {"a": 1}\ndata: {"a": 2}\n\ndata: [DONE]\n\n'
    chunks, decoder = decode(data)
    assert chunks == [{"a": 1}, {"a": 2}]
    assert decoder.done


def test_done_stops_decoding_and_later_data_is_ignored() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b'data: {"a": 1}\n\ndata: [DONE]\n\ndata: {"a": 2}\n\n') == [{"a": 1}]
    assert decoder.done
    assert decoder.feed(b'data: {"a": 3}\n\n') == []
    assert decoder.feed(b"data: not json\n\n") == []
    assert decoder.finish() == []


def test_no_done_leaves_done_false() -> None:
    chunks, decoder = decode(b'data: {"a": 1}\n\n')
    assert chunks == [{"a": 1}]
    assert not decoder.done


def test_finish_flushes_an_event_without_a_blank_line() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b'data: {"a": 1}\n\ndata: {"a": 2}\n') == [{"a": 1}]
    assert decoder.finish() == [{"a": 2}]


def test_finish_flushes_an_unterminated_last_line() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b'data: {"a": 1}') == []
    assert decoder.finish() == [{"a": 1}]
    done = SSEDecoder()
    done.feed(b"data: [DONE]")
    assert done.finish() == [] and done.done


def test_empty_data_is_not_an_event() -> None:
    assert decode(b"data:\n\ndata: \n\n\n\n")[0] == []


def test_byte_order_mark_is_skipped() -> None:
    assert decode(b'\xef\xbb\xbfdata: {"a": 1}\n\n')[0] == [{"a": 1}]


def test_malformed_json_is_a_provider_error_quoting_the_payload() -> None:
    payload = '{"choices": [' + "x" * 200
    with pytest.raises(ProviderError) as caught:
        decode(f"data: {payload}\n\n".encode())
    message = str(caught.value)
    assert "malformed chunk" in message
    assert payload[:80] in message
    assert payload[:81] not in message
    assert "\n" not in message


def test_invalid_utf8_is_a_provider_error() -> None:
    with pytest.raises(ProviderError, match="malformed chunk"):
        decode(b'data: {"a": "\xff\xfe"}\n\n')


@pytest.mark.parametrize("payload", [b"42", b'"text"', b"[1, 2]", b"null", b"true"])
def test_json_that_is_not_an_object_is_an_error(payload: bytes) -> None:
    with pytest.raises(ProviderError, match="not an object"):
        decode(b"data: " + payload + b"\n\n")


def test_error_object_mid_stream_raises_with_the_servers_message() -> None:
    data = (
        b'data: {"choices": [{"index": 0, "delta": {"content": "Hi"}}]}\n\n'
        b'data: {"error": {"message": "Rate limit reached for gpt-4o", "type": "rate_limit", "code": "429"}}\n\n'
    )
    decoder = SSEDecoder()
    with pytest.raises(ProviderError) as caught:
        decoder.feed(data)
    assert "Rate limit reached for gpt-4o" in str(caught.value)
    assert "429" in str(caught.value)


def test_error_as_a_string() -> None:
    with pytest.raises(ProviderError, match="model overloaded"):
        decode(b'data: {"error": "model overloaded"}\n\n')


def test_error_event_type() -> None:
    with pytest.raises(ProviderError, match="upstream timed out"):
        decode(b'event: error\ndata: {"message": "upstream timed out"}\n\n')
    with pytest.raises(ProviderError, match="gateway gave up"):
        decode(b"event: error\ndata: gateway gave up\n\n")


def test_null_error_key_is_not_an_error() -> None:
    assert decode(b'data: {"error": null, "a": 1}\n\n')[0] == [{"error": None, "a": 1}]


def test_event_name_does_not_leak_into_the_next_event() -> None:
    data = b"event: error\n\n" b'data: {"a": 1}\n\n'
    assert decode(data)[0] == [{"a": 1}]
