"""Output over the cap keeps its beginning and its end (issue 12: the last lines matter)."""

from __future__ import annotations

from sandbox.runtime.supervise import _Stream


def _feed(stream: _Stream, chunks: list[bytes]) -> str:
    for chunk in chunks:
        stream.feed(chunk)
    stream.finish()
    return "".join(stream.text)


def test_output_within_the_cap_is_kept_whole_and_unmarked() -> None:
    events: list[dict] = []
    stream = _Stream("stdout", 1000, events.append)
    text = _feed(stream, [b"line %d\n" % i for i in range(50)])
    assert text == "".join(f"line {i}\n" for i in range(50))
    assert stream.dropped == 0
    assert not any(e["truncated"] for e in events)
    assert "".join(e["text"] for e in events) == text


def test_a_flood_keeps_head_and_tail_and_says_what_it_left_out() -> None:
    events: list[dict] = []
    stream = _Stream("stdout", 4096, events.append)
    lines = [b"step %05d loss 0.%05d\n" % (i, i) for i in range(5000)]
    text = _feed(stream, lines)
    assert text.startswith("step 00000 loss")
    assert text.endswith("step 04999 loss 0.04999\n")  # the last line survives
    assert stream.dropped > 100_000
    markers = [e for e in events if e["truncated"]]
    assert len(markers) == 1 and f"{stream.dropped:,} bytes of output left out" in markers[0]["text"]
    assert len(text.encode()) < 4096 + 200
    assert "".join(e["text"] for e in events) == text


def test_the_tail_never_starts_mid_character() -> None:
    stream = _Stream("stderr", 64, None)
    text = _feed(stream, ["é".encode() * 500])  # two bytes each: any cut may split one
    assert "\ufffd" not in text.split("left out")[-1]
    assert text.rstrip().endswith("é")
