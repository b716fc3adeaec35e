"""The superres spec: what validate knows without torch (the release table, the weights files'
size and hash, the memory of a tile) and what the render writes into contract.py."""

from __future__ import annotations

import ast
import dataclasses
import hashlib
import re
from pathlib import Path

import pytest
import yaml

from ganspec.render.pipeline import render_files
from ganspec.render.superres_context import project_path
from ganspec.superres.memory import tile_memory
from ganspec.superres.releases import RELEASES, WEAK_DENOISE
from ganspec.validate import validate_file, validate_text
from tests.conftest import SPECS, SUPERRES_PRESETS
from tests.project_imports import project_imports

PROJECT = Path(__file__).resolve().parents[1] / "templates" / "superres" / "project"


def spec_text(preset: str, **model: object) -> str:
    data = yaml.safe_load((SPECS / f"{preset}.yaml").read_text(encoding="utf-8"))
    data["model"].update(model)
    return yaml.safe_dump(data)


def codes(text: str, folder: Path) -> list[str]:
    spec = folder / "spec.yaml"
    spec.write_text(text, encoding="utf-8")
    return [d.code for d in validate_file(spec).diagnostics]


def test_the_release_table_matches_the_rendered_networks() -> None:
    """Architecture, scale and parameter count in ganspec's table (validate, PROMPT.md) are
    those of the networks the rendered models.py builds, and the release files' counts."""
    tree = ast.parse((PROJECT / "models.py").read_text(encoding="utf-8"))
    names = {
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
    }
    for name in [*RELEASES, WEAK_DENOISE.name]:
        assert name in names, f"models.MODELS lacks {name}"
    with project_imports(PROJECT) as project:  # the table against the networks torch builds
        models = project["models"]
        for release in [*RELEASES.values(), WEAK_DENOISE]:
            network = models.build(release.name)
            assert type(network).__name__ == release.arch, release.name
            assert models.scale_of(network) == release.scale, release.name
            assert sum(p.numel() for p in network.parameters()) == release.params, release.name
    assert RELEASES["RealESRGAN_x4plus"].params == 16_697_987
    assert RELEASES["RealESRGAN_x4plus_anime_6B"].params == 4_467_779
    assert RELEASES["realesr-general-x4v3"].params == 1_213_296
    # x2plus: x4plus plus conv_first's 9 extra input channels, and its file 4 bytes each more.
    extra = 9 * 64 * 3 * 3
    assert RELEASES["RealESRGAN_x2plus"].params == 16_697_987 + extra
    assert RELEASES["RealESRGAN_x2plus"].size == RELEASES["RealESRGAN_x4plus"].size + 4 * extra


def test_a_file_of_the_release_size_and_hash_passes_and_any_other_is_an_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """GS802 compares size first, then the sha256; the release file itself passes."""
    weights = tmp_path / "w.pth"
    content = b"\x00" * 1000
    weights.write_bytes(content)
    release = RELEASES["realesr-general-x4v3"]
    digest = hashlib.sha256(content).hexdigest()
    text = spec_text("realesrgan-anime-6b", weights="w.pth")
    assert "GS802" in codes(text, tmp_path)  # wrong size
    anime = RELEASES["RealESRGAN_x4plus_anime_6B"]
    patched = {**RELEASES, anime.name: dataclasses.replace(anime, size=1000, sha256=digest)}
    monkeypatch.setattr("ganspec.superres.context.RELEASES", patched)
    assert "GS802" not in codes(text, tmp_path) and "GS801" not in codes(text, tmp_path)
    weights.write_bytes(b"\x01" * 1000)  # same size, other bytes
    assert "GS802" in codes(text, tmp_path)
    weights.write_bytes(b"\x00" * 10)  # truncated
    found = validate_file(tmp_path / "spec.yaml").diagnostics
    assert any(d.code == "GS802" and "truncated: 10 of 1,000 bytes" in d.message for d in found)
    assert release.size == 4_885_111


def test_absent_weights_warn_with_the_url_and_the_place_to_put_them(tmp_path: Path) -> None:
    text = spec_text("realesr-general-x4v3")
    spec = tmp_path / "spec.yaml"
    spec.write_text(text, encoding="utf-8")
    found = {d.path: d for d in validate_file(spec).diagnostics if d.code == "GS801"}
    assert set(found) == {"model.weights", "model.weak_denoise_weights"}  # the release and twin
    assert all(d.severity == "warning" for d in found.values())
    fix = found["model.weights"].fix or ""
    assert str(tmp_path / "weights" / "realesr-general-x4v3.pth") in fix
    assert RELEASES["realesr-general-x4v3"].url in fix
    assert WEAK_DENOISE.url in (found["model.weak_denoise_weights"].fix or "")


def test_the_weak_denoise_file_is_not_read_without_a_denoise_strength(tmp_path: Path) -> None:
    data = yaml.safe_load((SPECS / "realesr-general-x4v3.yaml").read_text(encoding="utf-8"))
    del data["model"]["denoise_strength"], data["model"]["weak_denoise_weights"]
    spec = tmp_path / "spec.yaml"
    spec.write_text(yaml.safe_dump(data), encoding="utf-8")
    found = validate_file(spec).diagnostics
    assert [d.path for d in found if d.code == "GS801"] == ["model.weights"]


def test_tile_memory_grows_with_the_tile_and_halves_in_half_precision() -> None:
    x4plus = RELEASES["RealESRGAN_x4plus"]
    small, large = (tile_memory(x4plus, side, "fp32") for side in (128, 256))
    assert large.activations == 4 * small.activations
    assert tile_memory(x4plus, 256, "fp16").total * 2 == large.total
    # The x4 tail dominates RRDBNet: two 64-channel maps at 16x the pixels, 4 bytes each.
    assert large.activations >= 2 * 64 * 16 * 256 * 256 * 4
    general = tile_memory(RELEASES["realesr-general-x4v3"], 256, "fp32")
    assert general.activations < large.activations / 5


def test_odd_tile_numbers_pass_for_the_x2_model_which_rounds_them_to_its_fold() -> None:
    """tiles.py rounds an x2 model's tile and context up to its 2x2 fold, so odd numbers are
    no error; a pad as wide as the tile still is."""
    data = yaml.safe_load((SPECS / "realesrgan-x4plus-photo.yaml").read_text(encoding="utf-8"))
    data["model"]["name"] = "RealESRGAN_x2plus"
    data["model"]["weights"] = "weights/RealESRGAN_x2plus.pth"
    data["inference"].update(tile=255, tile_pad=9, tile_overlap=15)
    assert "GS804" not in [d.code for d in validate_text(yaml.safe_dump(data)).diagnostics]
    data["inference"].update(tile_pad=255)
    found = [d for d in validate_text(yaml.safe_dump(data)).diagnostics if d.code == "GS804"]
    assert [(d.path, d.fix) for d in found] == [("inference.tile_pad", "tile_pad: 31")]


@pytest.mark.parametrize(
    ("device", "precision", "code"),
    [
        ("cpu", "fp16", "GS805"),
        ("mps", "fp16", "GS805"),
        ("mps", "bf16", "GS805"),
        ("cpu", "bf16", "GS806"),
        ("auto", "bf16", "GS806"),
        ("auto", "fp16", "GS806"),
        ("cuda", "fp16", None),
        ("cuda", "bf16", None),
        ("cpu", "fp32", None),
    ],
)
def test_precision_findings_match_what_upscale_py_refuses(
    device: str, precision: str, code: str | None
) -> None:
    """The rendered upscale.model_dtype runs fp16 on CUDA only and bf16 on CUDA or CPUs with
    native bf16: validate says so before a run does."""
    data = yaml.safe_load((SPECS / "realesrgan-anime-6b.yaml").read_text(encoding="utf-8"))
    data["inference"].update(device=device, precision=precision)
    found = {d.code for d in validate_text(yaml.safe_dump(data)).diagnostics} & {"GS805", "GS806"}
    assert found == ({code} if code else set())


def test_bf16_flags_are_read_from_cpuinfo(tmp_path: Path) -> None:
    from ganspec.superres.context import cpu_has_bf16

    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor : 0\nflags : fpu avx2 avx512f\n", encoding="utf-8")
    assert cpu_has_bf16(cpuinfo) is False
    cpuinfo.write_text("flags : fpu avx512_bf16\nflags : fpu avx512_bf16\n", encoding="utf-8")
    assert cpu_has_bf16(cpuinfo) is True
    assert cpu_has_bf16(tmp_path / "absent") is None


def test_paths_are_relative_to_the_project_when_close_and_absolute_when_far(
    tmp_path: Path,
) -> None:
    out = tmp_path / "work" / "project"
    assert project_path(tmp_path / "work" / "weights" / "x.pth", out) == "../weights/x.pth"
    assert project_path(out / "weights" / "x.pth", out) == "weights/x.pth"
    far = Path("/opt/models/x.pth")
    assert project_path(far, tmp_path / "a" / "b" / "c" / "project") == str(far)
    assert project_path(far, None) == str(far)


@pytest.mark.parametrize("preset", SUPERRES_PRESETS)
def test_contract_py_holds_the_spec_numbers(preset: str, tmp_path: Path) -> None:
    """The rendered contract.py is the spec: model, hashes, settings, output, literally."""
    report = validate_file(SPECS / f"{preset}.yaml")
    files = render_files(report, set(), tmp_path / preset)
    namespace: dict[str, object] = {"__file__": str(tmp_path / preset / "contract.py")}
    exec(compile(files["contract.py"], "contract.py", "exec"), namespace)
    spec = report.spec
    assert spec is not None and spec.kind == "superres"
    release = RELEASES[spec.model.name]
    assert namespace["MODEL"] == release.name and namespace["SCALE"] == release.scale
    weights = namespace["WEIGHTS"]
    assert (weights.size, weights.sha256, weights.url) == (  # type: ignore[attr-defined]
        release.size,
        release.sha256,
        release.url,
    )
    settings = namespace["SETTINGS"]
    assert settings.outscale == (spec.inference.outscale or release.scale)  # type: ignore[attr-defined]
    assert settings.tile == spec.inference.tile  # type: ignore[attr-defined]
    assert settings.channel_order == spec.input.channel_order  # type: ignore[attr-defined]
    assert namespace["OUTPUT_FORMAT"] == spec.output.format
    assert (namespace["WEAK_DENOISE_WEIGHTS"] is None) == (spec.model.denoise_strength is None)
    code = "".join(text for path, text in files.items() if path.endswith(".py"))
    imports = re.findall(r"^\s*(?:import|from) (\w+)", code, flags=re.MULTILINE)
    assert not {"torchvision", "basicsr", "realesrgan", "spandrel", "PIL", "ganspec"} & set(imports)


@pytest.mark.parametrize(
    ("typed", "meant"),
    [
        ("RealESRGAN_x4pluss", "RealESRGAN_x4plus"),
        ("realesrgan-general-x4v3", "realesr-general-x4v3"),
    ],
)
def test_a_misspelt_model_name_gets_the_release_name_as_fix(typed: str, meant: str) -> None:
    """Release names mix cases (RealESRGAN_x4plus, realesr-general-x4v3): matched ignoring case."""
    text = spec_text("realesrgan-anime-6b", name=typed)
    (found,) = [d for d in validate_text(text).diagnostics if d.code == "GS104"]
    assert found.path == "model.name" and found.fix == f"name: {meant}"


@pytest.mark.parametrize("preset", SUPERRES_PRESETS)
def test_explain_shows_the_network_the_weights_files_and_the_memory(preset: str) -> None:
    """validate --explain on a superres spec: the release, each weights file as found (here:
    absent) with its size, hash and URL, and the memory of a tile."""
    from click.testing import CliRunner

    from ganspec.cli import cli

    result = CliRunner().invoke(cli, ["validate", str(SPECS / f"{preset}.yaml"), "--explain"])
    assert result.exit_code == 0, result.output
    spec = yaml.safe_load((SPECS / f"{preset}.yaml").read_text(encoding="utf-8"))
    release = RELEASES[spec["model"]["name"]]
    assert f"{release.params:,} parameters" in result.output
    assert release.sha256 in result.output and release.url in result.output
    assert ": absent" in result.output
    assert "memory per tile" in result.output or "per input megapixel" in result.output


def test_unreadable_weights_and_input_are_findings_not_tracebacks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A weights file or input folder this user may not read is a GS802 / GS811 finding.
    (Tests run as root, which reads anything: Path.exists raises as it does without access.)"""
    data = yaml.safe_load((SPECS / "realesrgan-anime-6b.yaml").read_text(encoding="utf-8"))
    data["input"]["source"] = {"type": "path", "path": "photos"}
    spec = tmp_path / "spec.yaml"
    spec.write_text(yaml.safe_dump(data), encoding="utf-8")
    real_exists = Path.exists

    def exists(self: Path, *args: object, **kwargs: object) -> bool:
        if self.name in ("RealESRGAN_x4plus_anime_6B.pth", "photos"):
            raise PermissionError(13, "Permission denied")
        return real_exists(self, *args, **kwargs)

    monkeypatch.setattr(Path, "exists", exists)
    found = {d.code: d.message for d in validate_file(spec).diagnostics}
    assert "cannot be read (Permission denied)" in found["GS802"]
    assert "cannot be read (Permission denied)" in found["GS811"]
