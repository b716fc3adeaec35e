"""The positioned loader: where every node came from, and what it refuses to read."""

from __future__ import annotations

from pathlib import Path

import pytest

from ganspec.source import Position, UnusableInput, parse_text, read_spec_file

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
