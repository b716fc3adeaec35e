"""GS1xx: the file and its structure. Emitted by the loader and the schema stage."""

from __future__ import annotations

from ganspec.rules.registry import document

document(
    "GS100",
    "unreadable-input",
    "error",
    summary="The file cannot be read as YAML: missing, not UTF-8, tab-indented, several "
    "documents, or broken syntax.",
    why="Nothing else can be checked until the file parses; validate exits with code 2.",
    example="generator:\n\tlatent_dim: 100   # a tab indents this line",
    fix="Indent with spaces, keep one YAML document per file, save as UTF-8.",
)
document(
    "GS101",
    "not-a-mapping",
    "error",
    summary="The document is empty, a list or a single value instead of a mapping.",
    why="A spec is a mapping of its surfaces (data, discriminator, generator, training, "
    "validation); validate exits with code 2.",
    example="- name: faces\n- kind: image",
    fix="Start from `ganspec init --preset dcgan-64` and edit it.",
)
document(
    "GS102",
    "duplicate-key",
    "error",
    summary="The same key appears twice in one mapping.",
    why="YAML loaders silently keep the last value, so the first one you edited is ignored.",
    example="training:\n  epochs: 25\n  epochs: 5",
    fix="Keep one of the two keys.",
)
document(
    "GS103",
    "unknown-key",
    "error",
    summary="A key the schema does not know, usually a typo; the message suggests the key "
    "you most likely meant. A layer op PyTorch names otherwise is named as ganspec writes it "
    "(`adaptive_avg_pool: 1` is `global_avg_pool: true`, `batch_norm` is `norm: batch` on a "
    "layer).",
    why="An unknown key is never read, so `learning_rat: 1e-4` would silently train with "
    "another learning rate.",
    example="optimizers:\n  generator: {type: adam, learning_rat: 2.0e-4}",
    fix="Rename the key as suggested (`lr`), or remove it.",
)
document(
    "GS104",
    "invalid-value",
    "error",
    summary="A value of the wrong type or outside its allowed range.",
    why="Wrong types (a string where a number belongs, a float kernel) crash or silently "
    "change the model at run time.",
    example="generator:\n  latent_dim: one hundred",
    fix="Give a value of the type and range the message names.",
)
document(
    "GS105",
    "missing-key",
    "error",
    summary="A required key is missing.",
    why="ganspec never invents a number the spec did not state: every value is explicit.",
    example="training:\n  loss: hinge   # no optimizers, no epochs",
    fix="Add the key; `ganspec schema` lists what each section needs.",
)
document(
    "GS106",
    "unsupported-version",
    "error",
    summary="The spec format version (`ganspec:`) or `kind` is not one this ganspec reads.",
    why="Fields differ between versions and kinds; reading a spec as something else would "
    "misread it.",
    example="ganspec: 7\nkind: image",
    fix="Use `ganspec: 1` and a supported kind (`ganspec schema` lists them).",
)
document(
    "GS107",
    "bad-ignore",
    "warning",
    summary="`ignore` names an unknown rule code, or an error-level rule (errors cannot be "
    "ignored).",
    why="A typo in `ignore` silences nothing, and an error means the project would not run.",
    example="ignore: [GS999, GS201]",
    fix="List warning or info codes that exist (`ganspec rule --all`).",
)
document(
    "GS108",
    "ignored-rule",
    "info",
    summary="A rule the spec ignores fired; its findings are hidden but counted.",
    why="Ignoring is explicit and visible, never silent.",
    example="ignore: [GS305]",
    fix="Nothing to do if the choice is deliberate; remove the code to see the findings.",
)
