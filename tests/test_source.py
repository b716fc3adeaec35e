"""The positioned loader: where every node came from, and what it refuses to read."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from ganspec import reading, source
from ganspec.reading import READ_TIMEOUT_S
from ganspec.source import (
    MAX_FILE_BYTES,
    MAX_NODES,
    Position,
    UnusableInput,
    parse_text,
    read_spec_file,
)
from tests.pipes import pipe_with

SPEC = """\
training:
  optimizers:
    generator: {type: adam, lr: 2e-4}
  epochs: 25
"""


def test_positions_of_keys_and_values_are_one_based() -> None:
    doc = parse_text(SPEC, "s.yaml")
    assert doc.key_positions[("training", "epochs")] == Position(4, 3)
    assert doc.value_positions[("training", "epochs")] == Position(4, 11)
    assert doc.value_positions[("training", "optimizers", "generator", "lr")] == Position(3, 33)


def test_position_falls_back_to_the_nearest_ancestor() -> None:
    doc = parse_text(SPEC, "s.yaml")
    missing = ("training", "optimizers", "generator", "betas")
    assert doc.position(missing) == doc.position(("training", "optimizers", "generator"))


def test_exponent_without_dot_is_a_number_as_in_yaml_1_2() -> None:
    doc = parse_text(SPEC + 'quoted: "2e-4"\n', "s.yaml")
    assert doc.data["training"]["optimizers"]["generator"]["lr"] == pytest.approx(2e-4)
    assert doc.data["quoted"] == "2e-4"


def test_keys_keep_their_written_form() -> None:
    assert parse_text("on: 1\nyes: 2\n", "s.yaml").data == {"on": 1, "yes": 2}


def test_duplicate_keys_are_recorded_with_both_positions() -> None:
    doc = parse_text("a: 1\nb: 2\na: 3\n", "s.yaml")
    [dup] = doc.duplicates
    assert dup.path == ("a",)
    assert (dup.first, dup.again) == (Position(1, 1), Position(3, 1))


@pytest.mark.parametrize(
    ("text", "code", "needle"),
    [
        ("", "GS101", "empty"),
        ("# only a comment\n", "GS101", "empty"),
        ("- 1\n- 2\n", "GS101", "list"),
        ("42\n", "GS101", "single value"),
        ("a: 1\n---\nb: 2\n", "GS100", "several YAML documents"),
        ("a: [1, 2\n", "GS100", "not valid YAML"),
        ("a: b\x00\n", "GS100", "NUL"),
        ("a: !!python/object:os.system {}\n", "GS100", "unsupported YAML tag"),
        ("a: !!python/name:os.system\n", "GS100", "cannot read the value"),
        ("? [1, 2]\n: x\n", "GS100", "plain words"),
        ("a: &x [*x]\n", "GS100", ""),
    ],
)
def test_unusable_documents_raise_with_a_reason(text: str, code: str, needle: str) -> None:
    with pytest.raises(UnusableInput) as caught:
        parse_text(text, "s.yaml")
    assert caught.value.code == code
    assert needle in caught.value.message


def test_alias_bomb_is_refused_before_it_expands() -> None:
    lines = ['a0: &a0 ["x", "x", "x", "x", "x", "x", "x", "x", "x", "x"]']
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 9)]
    with pytest.raises(UnusableInput, match="alias bomb"):
        parse_text("\n".join(lines) + "\n", "bomb.yaml")


def test_deep_nesting_is_refused() -> None:
    with pytest.raises(UnusableInput, match="nesting"):
        parse_text("a: " + "[" * 200 + "]" * 200 + "\n", "deep.yaml")


def test_unreadable_files(tmp_path: Path) -> None:
    with pytest.raises(UnusableInput, match="no such file"):
        read_spec_file(tmp_path / "missing.yaml")
    with pytest.raises(UnusableInput, match="directory"):
        read_spec_file(tmp_path)
    latin = tmp_path / "latin.yaml"
    latin.write_bytes("name: caf\xe9\n".encode("latin-1"))
    with pytest.raises(UnusableInput, match="UTF-8"):
        read_spec_file(latin)


def test_utf8_bom_is_accepted(tmp_path: Path) -> None:
    spec = tmp_path / "bom.yaml"
    spec.write_bytes(b"\xef\xbb\xbfa: 1\n")
    assert read_spec_file(spec).data == {"a": 1}


# --- keys: counted; an alias repeated as a key: reported once ---------------------------


def test_keys_count_against_the_node_limit() -> None:
    """Keys are nodes too: a mapping of many keys must not pass the limit on its values alone.

    The keys here come from aliases of one mapping, which only the builder expands: the scan of
    the text before it sees a few hundred nodes, so the refusal is the builder's own count.
    """
    keys, aliases = 100, 200  # per alias: 1 + 100 values (20,200 in all) and 100 keys
    assert aliases * (1 + keys) < MAX_NODES < aliases * (1 + 2 * keys)
    fields = ", ".join(f"k{i}: 0" for i in range(keys))
    text = f"base: &b {{{fields}}}\n" + "".join(f"a{i}: *b\n" for i in range(aliases))
    source._check_shape(text)  # the pre-scan lets it through
    with pytest.raises(UnusableInput, match=f"more than {MAX_NODES}"):
        parse_text(text, "keys.yaml")


def test_an_alias_repeated_as_a_key_is_one_duplicate() -> None:
    """Every repeat of ``? *k`` is the anchor's own node, at the anchor's place: one mistake."""
    doc = parse_text("? &k key\n: 0\n" + "? *k\n: 1\n" * 50, "keys.yaml")
    [dup] = doc.duplicates
    assert dup.path == ("key",)
    assert doc.data == {"key": 1}


# --- bounded reads ---------------------------------------------------------------------------


def test_a_pipe_is_read_like_a_file() -> None:
    """``validate <(cat spec.yaml)``: a pipe with a small spec in it validates."""
    with pipe_with(SPEC.encode()) as path:
        doc = read_spec_file(path)
    assert doc.data["training"]["epochs"] == 25


def test_a_pipe_is_read_no_further_than_the_limit() -> None:
    """``st_size`` is 0 for a pipe, so the limit must hold for what is read."""
    with (
        pipe_with(b"#" * (MAX_FILE_BYTES + 1)) as path,
        pytest.raises(UnusableInput, match=f"larger than {MAX_FILE_BYTES} bytes"),
    ):
        read_spec_file(path)


def test_a_pipe_closed_without_a_word_is_empty_at_once() -> None:
    """``validate <(true)``: the writer is gone, nothing will come, no need to wait."""
    started = time.monotonic()
    with pipe_with(b"") as path, pytest.raises(UnusableInput) as caught:
        read_spec_file(path)
    assert caught.value.code == "GS101" and "nothing could be read" in caught.value.message
    assert time.monotonic() - started < READ_TIMEOUT_S / 2


fifos_only = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="FIFOs are POSIX")


@contextmanager
def _fifo_written_late(fifo: Path, text: str, delay: float) -> Iterator[None]:
    """A writer that opens ``fifo`` only ``delay`` seconds from now, as
    ``(sleep 1; cat spec > f) & ganspec validate f`` does, writes ``text`` and closes it."""

    def write() -> None:
        time.sleep(delay)
        with fifo.open("w", encoding="utf-8") as pipe:  # blocks until a reader has it open
            pipe.write(text)

    writer = threading.Thread(target=write, daemon=True)
    writer.start()
    try:
        yield
    finally:
        writer.join(delay + 2)
        if writer.is_alive():  # the reader gave up before the writer came: let it finish
            unblock = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
            writer.join(5)
            os.close(unblock)


# Linux tells "no writer yet" from "a writer came and went" by one wait; elsewhere the reader
# polls. Both ways run here (the polling one by pretending not to be on Linux).
both_ways = pytest.mark.parametrize("linux_hangup", [True, False], ids=["wait", "poll"])


@fifos_only
@both_ways
def test_a_fifo_whose_writer_opens_late_is_waited_for(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, linux_hangup: bool
) -> None:
    """Opened non-blocking, a FIFO reads as ended until a writer comes: that is no spec yet."""
    if linux_hangup and not reading._HANGUP_MEANS_A_WRITER_LEFT:
        pytest.skip("Linux only")
    monkeypatch.setattr(reading, "_HANGUP_MEANS_A_WRITER_LEFT", linux_hangup)
    fifo = tmp_path / "spec.fifo"
    os.mkfifo(fifo)
    with _fifo_written_late(fifo, SPEC, delay=0.5):
        doc = read_spec_file(fifo)
    assert doc.data["training"]["epochs"] == 25


@fifos_only
@both_ways
def test_a_fifo_nobody_writes_to_is_given_up_on_at_the_deadline(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, linux_hangup: bool
) -> None:
    if linux_hangup and not reading._HANGUP_MEANS_A_WRITER_LEFT:
        pytest.skip("Linux only")
    monkeypatch.setattr(reading, "_HANGUP_MEANS_A_WRITER_LEFT", linux_hangup)
    fifo = tmp_path / "spec.fifo"
    os.mkfifo(fifo)
    monkeypatch.setattr(reading, "READ_TIMEOUT_S", 0.3)
    started = time.monotonic()
    with pytest.raises(UnusableInput) as caught:
        read_spec_file(fifo)
    waited = time.monotonic() - started
    assert caught.value.code == "GS101"
    assert f"nothing was written to {fifo} within 0.3 s" in caught.value.message
    assert 0.3 <= waited < 3


@fifos_only
def test_a_fifo_whose_writer_never_finishes_is_given_up_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A writer that holds the FIFO open without writing must not keep validate forever."""
    fifo = tmp_path / "spec.fifo"
    os.mkfifo(fifo)
    monkeypatch.setattr(reading, "READ_TIMEOUT_S", 0.3)
    writer = os.open(fifo, os.O_RDWR)  # a writer that is there and says nothing
    closed = threading.Lock()

    def close_writer() -> None:
        if closed.acquire(blocking=False):
            os.close(writer)

    # Should the read block after all, closing the writer ends it (and this test) in 5 s.
    closer = threading.Timer(5, close_writer)
    closer.start()
    started = time.monotonic()
    try:
        with pytest.raises(UnusableInput, match=r"no end of input within 0\.3 s"):
            read_spec_file(fifo)
    finally:
        closer.cancel()
        close_writer()
    assert time.monotonic() - started < 3


# --- merge keys (<<) --------------------------------------------------------------------------

MERGED = """\
training:
  optimizers:
    generator: &adam {type: adam, lr: 2.0e-4, betas: [0.5, 0.999]}
    discriminator:
      <<: *adam
      lr: 1.0e-4
"""


def test_merge_key_copies_the_mapping_and_explicit_keys_override() -> None:
    doc = parse_text(MERGED, "s.yaml")
    optimizers = doc.data["training"]["optimizers"]
    assert optimizers["discriminator"] == {"type": "adam", "lr": 1.0e-4, "betas": [0.5, 0.999]}
    assert optimizers["generator"]["lr"] == 2.0e-4
    assert doc.duplicates == []


def test_merged_keys_are_placed_where_their_value_is_written() -> None:
    doc = parse_text(MERGED, "s.yaml")
    merged = ("training", "optimizers", "discriminator")
    anchored = MERGED.splitlines()[2]
    # In the anchored mapping, where the value is written:
    assert doc.position((*merged, "betas")) == Position(3, anchored.index("[0.5") + 1)
    assert doc.position((*merged, "lr")) == Position(6, 11)  # the override
    assert doc.position((*merged, "betas"), key=True).line == 3


@pytest.mark.parametrize(
    "text",
    ["a: &a {x: 1, y: 2}\nb: {<<: *a, x: 9}\n", "a: &a {x: 1, y: 2}\nb: {x: 9, <<: *a}\n"],
)
def test_explicit_keys_win_wherever_the_merge_key_sits(text: str) -> None:
    doc = parse_text(text, "s.yaml")
    assert doc.data["b"] == {"x": 9, "y": 2}
    assert doc.duplicates == []


def test_a_list_of_merged_mappings_gives_each_key_from_the_first_that_has_it() -> None:
    text = "a: &a {x: 1}\nb: &b {x: 2, y: 2}\nc: &c {<<: *a, z: 3}\nd: {<<: [*a, *b, *c], w: 0}\n"
    assert parse_text(text, "s.yaml").data["d"] == {"x": 1, "y": 2, "z": 3, "w": 0}


def test_a_key_written_twice_next_to_a_merge_is_still_a_duplicate() -> None:
    doc = parse_text("a: &a {x: 1}\nb: {<<: *a, x: 2, x: 3}\n", "s.yaml")
    [dup] = doc.duplicates
    assert dup.path == ("b", "x")
    assert (dup.first.line, dup.again.line) == (2, 2)


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("a: {<<: 1}\n", "merge key (<<) takes a mapping or a list of mappings"),
        ("a: &a [1]\nb: {<<: *a}\n", "not a single value"),
        ("a: &a {x: 1}\nb: {<<: [*a, 2]}\n", "not a single value"),
        ("a: &a {x: 1}\nb: {<<: [[*a]]}\n", "not a list"),
        ("a: {<<: !!set {x}}\n", "merge key"),
        ("a: &a {b: {<<: *a}}\n", "recursive"),
        ("a: &a {<<: *a}\n", "recursive"),
        ("a: {<<: &s {<<: *s}}\n", "recursive"),
    ],
)
def test_merging_anything_but_mappings_is_refused_with_a_reason(text: str, needle: str) -> None:
    with pytest.raises(UnusableInput) as caught:
        parse_text(text, "s.yaml")
    assert caught.value.code == "GS100"
    assert needle in caught.value.message


def test_merged_keys_count_against_the_node_limit() -> None:
    """``<<: [*m, *m, ...]`` ten levels deep would be 10**10 keys."""
    rows = ["m0: &m0 {a: 1, b: 2}"]
    rows += [
        f"m{i}: &m{i} {{<<: [{', '.join([f'*m{i - 1}'] * 10)}], x{i}: 1}}" for i in range(1, 10)
    ]
    with pytest.raises(UnusableInput, match="more than"):
        parse_text("\n".join(rows) + "\n", "merge-bomb.yaml")
