"""The facts PROMPT.md states for one image spec that depend on it: where the data comes from
and how it is split, what a layer table leaves out, what one training step does, what a run
writes, what health.py checks and what evaluate.py measures. Worked out here from the switches
the project's templates use, so the prompt says what the rendered code does and
``templates/agents/PROMPT.md.j2`` only places the sentences."""

from __future__ import annotations

from typing import Any

from ganspec.image.context import ImageContext
from ganspec.render.image_data import PIL_MODES, diff_augment_policy
from ganspec.render.image_losses import LABELLED_LOSSES
from ganspec.render.image_validation import feature_space, scoring
from ganspec.spec.image import SOURCE_SIZES, VECTOR_SOURCES, ImageSpec
from ganspec.spec.layers import op_of

HOLDOUT_SEED_OFFSET = 9_973  # data.py's split_indices: a stream apart from training's RNG
SCATTER_POINTS = 2_000  # train.py's points per scatter plot of 2-D data
REAL_LIMIT = 10_000  # evaluate.py's real samples per split
PICTURE_EXTENSIONS = ".png .jpg .jpeg .bmp .gif .webp .tif .tiff"
# training.lr_schedule -> the share of the configured rate at ``done`` (train.py's lr_factor)
SCHEDULE_FACTORS = {"linear": "(1 - done)", "cosine": "0.5 (1 + cos(pi done))"}
NULL = "`null`"  # JSON's null, as a report states it


def _range(spec: ImageSpec) -> str:
    low, high = spec.data.range or (0, 0)
    return f"[{low:g}, {high:g}]"


def _mode(spec: ImageSpec) -> str:
    return PIL_MODES.get(spec.data.shape.channels or 1, "L")


def _fitted(spec: ImageSpec) -> str:
    """How data.py fits a decoded picture (folder, torchvision) to the shape."""
    _, height, width = spec.data.shape.dims
    return (
        f"decoded in PIL mode {_mode(spec)}, resized (bicubic) to just cover {height}x{width} "
        f"keeping its aspect, centre-cropped, / 255, mapped linearly to {_range(spec)}"
    )


def source_text(spec: ImageSpec) -> str:
    """Where data.py's samples come from, as its loader makes them."""
    data = spec.data
    source, dims = data.source.type, data.shape.dims
    if source == "digits":
        channels, height, width = dims
        grey = f", grey repeated to {channels} channels" if channels > 1 else ""
        return (
            "scikit-learn's `load_digits()` (1,797 8x8 images, values 0 to 16) / 16, resized "
            f'to {height}x{width} by `F.interpolate(mode="bilinear", align_corners=False)`, '
            f"clamped to [0, 1]{grey}, mapped linearly to {_range(spec)}."
        )
    if source == "sample_images":
        _, height, width = dims
        return (
            f"{SOURCE_SIZES['sample_images']:,} crops cut once from scikit-learn's two "
            f"`load_sample_images()` photos (PIL mode {_mode(spec)}) by "
            "`numpy.random.default_rng(seed)`: a photo, a height uniform in [its height // 4, "
            f"its height], the width of a {height}:{width} aspect (at most the photo's), a "
            f"uniform corner; resized to {height}x{width} (PIL bilinear), / 255, mapped "
            f"linearly to {_range(spec)}."
        )
    if source in VECTOR_SOURCES:
        means = (
            "8 means at angles k x 2pi/8 on the unit circle, std 0.01"
            if source == "ring8"
            else "25 means at {-4, -2, 0, 2, 4}^2, std 0.05"
        )
        return (
            f"{SOURCE_SIZES[source]:,} 2-D points drawn once by a `torch.Generator` seeded "
            f"`seed`: a uniform mode of {means} (`torch.randint`, then `torch.randn`); no range."
        )
    if source == "folder":
        classes = (
            "; the sorted sub-folders are the classes 0, 1, ... (files directly in the folder "
            "are skipped, more sub-folders than data.classes raise ValueError)"
            if data.classes is not None
            else ""
        )
        return (
            f"every {PICTURE_EXTENSIONS} file under `data.source.path` (relative to the "
            f"project), recursively, sorted{classes}; each {_fitted(spec)}. A missing or "
            "empty folder raises RuntimeError."
        )
    if source == "torchvision":
        return (
            "`torchvision.datasets.<data.source.name>(root=<project>/<data.source.root>, "
            "download=False)`; missing torchvision or files raise RuntimeError saying how to "
            f"fetch them once elsewhere. Each picture is {_fitted(spec)}."
        )
    draw = f"uniform in {_range(spec)}" if data.range is not None else "standard normal"
    labels = ", labels uniform over the classes" if data.classes is not None else ""
    return (
        f"{SOURCE_SIZES['synthetic']:,} samples from a `torch.Generator` seeded `seed`: "
        f"{draw}{labels} (plumbing checks only)."
    )


def label_text(spec: ImageSpec) -> str:
    if spec.data.classes is None:
        digit = ", not the digit" if spec.data.source.type == "digits" else ""
        return f"0 for every sample (unconditional{digit})"
    return f"the class, in [0, {spec.data.classes - 1}]"


def _held_out(size: int, fraction: float) -> int:
    """data.py's split_indices: how many of ``size`` samples the holdout takes."""
    return min(max(round(size * fraction), 1), size - 1) if fraction else 0


def split_text(spec: ImageSpec) -> str:
    fraction = spec.validation.holdout
    size = SOURCE_SIZES.get(spec.data.source.type)
    here = ""
    if size is not None:
        held = _held_out(size, fraction)
        here = f": here {held:,} of {size:,}, so {size - held:,} train"
    return (
        f"round(n x {fraction:g}) of the n samples, at least 1 and at most n - 1 (none at 0)"
        f"{here}. `torch.randperm(n)` under a `torch.Generator` seeded `seed + "
        f"{HOLDOUT_SEED_OFFSET}`: its first indices are part `holdout`, the rest `train`, each "
        "sorted; training sees `train` only."
    )


def batches_text(spec: ImageSpec) -> str:
    """build_loader's batches, and the one generator that keeps a resume exact."""
    pack = spec.discriminator.pack
    dims = ", ".join(map(str, spec.data.shape.dims))
    whole = f"that is whole packs of {pack}" if pack > 1 else "it divides evenly"
    return (
        f"`build_loader` yields x (N, {dims}) and labels (N,), N = batch_size "
        f"({spec.data.batch_size}) / processes (ValueError unless {whole}), shuffled by "
        "`DistributedSampler(shuffle=True, seed=seed, drop_last=True)` with `set_epoch(epoch)`, "
        "so a resume goes on mid-epoch with the same batches (train.py's sampler drops the "
        "epoch's `batch_in_epoch` x N used samples; iterating past those batches is the same); "
        "the `DataLoader` gets "
        "`generator=torch.Generator().manual_seed(seed)` (else each new iterator draws from "
        "torch's global RNG: no exact resume)."
    )


def schedule_text(spec: ImageSpec) -> str:
    training = spec.training
    k = training.d_steps_per_g_step
    per = "1 D step per G step" if k == 1 else f"{k} D steps per G step"
    size = SOURCE_SIZES.get(spec.data.source.type)
    if size is None:
        return f"{per}, {training.epochs} epochs (one pass of the loader each), seed {spec.seed}."
    batches = (size - _held_out(size, spec.validation.holdout)) // spec.data.batch_size
    total = training.epochs * batches // k
    formula = f" (epochs x batches // {k})" if k > 1 else ""
    return (
        f"{per}, {training.epochs} epochs of {batches} batches (one process): {total:,} G "
        f"steps{formula}; seed {spec.seed}."
    )


def legend_text(context: ImageContext) -> str:
    """What a layer table row means beyond what it shows."""
    spec = context.spec
    layers = [*spec.generator.layers, *spec.discriminator.layers]
    ops = {op_of(layer) for layer in layers}
    order = "op -> norm -> act" + (" -> dropout" if any(x.dropout for x in layers) else "")
    if any(layer.order == "act_norm" for layer in layers):
        order += " (`order=act_norm`: op -> act -> norm)"
    defaults = []
    if ops & {"conv", "conv_transpose"}:
        defaults.append("stride 1, padding 0")
    if ops & {"linear", "conv", "conv_transpose"}:
        defaults.append("bias on (also before a norm)")
    if any(layer.act == "leaky_relu" for layer in layers):
        defaults.append("`leaky_relu` slope 0.2")
    if any(layer.norm != "none" for layer in layers):
        defaults.append("norms learn a scale and shift")
    parts = [f"Rows run {order}; a parameter not shown is the default: {', '.join(defaults)}"]
    image = spec.data.shape.is_image
    if image and any(layer.norm == "layer" for layer in layers):
        parts.append("`norm=layer` on a C x H x W map is `nn.GroupNorm(1, C)`")
    if "embedding" in ops:
        where = "channels, constant over H x W" if image else "features"
        parts.append(
            f"`embedding K, dim=E` is `nn.Embedding(K, E)` of the label, concatenated to the "
            f"input as E extra {where}"
        )
    return "; ".join(parts) + "."


def init_text(spec: ImageSpec, network: str) -> str:
    init = getattr(spec, network).init
    if init is None:
        return "PyTorch's default"
    if init.scheme == "normal":
        return (
            f"weights ~ N(0, {init.std:g}), BatchNorm scales ~ N(1, {init.std:g}), biases and "
            "shifts 0 (DCGAN)"
        )
    return f"`nn.init.{init.scheme}_` weights, biases 0"


def step_text(spec: ImageSpec) -> str:
    """One G step of train.py: the D updates before it, then G's update."""
    k = spec.training.d_steps_per_g_step
    if k == 1:
        text = "one D update on the next real batch and as many fresh fakes, whose G graph is kept"
    else:
        text = (
            f"{k} D updates, each on the next real batch (a group may cross an epoch's end) and "
            "as many fresh fakes, the last one's G graph kept (the others drawn under "
            "`torch.no_grad()`)"
        )
    text += (
        ": D scores them detached, then G's update scores that same batch, the very tensor (no "
        "copy, no second G forward) with D's parameters at `requires_grad=False` (restored after)"
    )
    if spec.data.classes is not None:
        text += "; fakes get `sample_labels` (uniform), seen by G and D, reals the loader's labels"
    if any(layer.norm == "batch" for layer in spec.discriminator.layers):
        text += ". D has BatchNorm: real and fake go through it in two forwards"
    else:
        text += ". D scores `torch.cat([real, fake])` in one forward (it has no BatchNorm)"
    uses = []
    if spec.training.instance_noise is not None:
        uses.append("sets instance noise's std")
    if spec.training.r1 is not None:
        uses.append("picks D's lazy R1 updates when `d_update` is `None`")
    use = " and ".join(uses) or "is unused by this spec"
    return text + f". Their `step` argument, the G steps done before (0 first), {use}."


def returns_text(context: ImageContext) -> str:
    """The shape D's forward returns: one score per (packed) sample, or a patch map's."""
    pack = context.spec.discriminator.pack
    rows = "N" if pack == 1 else f"N/{pack}"
    per = "sample" if pack == 1 else "packed sample"
    out = context.discriminator_trace.output or ()
    size = 1
    for n in out:
        size *= n
    if size == 1:
        return f"one value per {per}, shape ({rows},)"
    shape = "x".join(map(str, out))
    return f"a {shape} map of scores per {per}, flattened: shape ({rows}, {size})"


def pack_text(spec: ImageSpec) -> str:
    pack = spec.discriminator.pack
    if pack == 1:
        return ' With pack 1, a "pack" (in test names and docstrings) is one sample.'
    labels = "; a pack takes its first sample's label" if spec.data.classes is not None else ""
    return (
        f" Each {pack} consecutive samples form one input (`x.reshape(N // {pack}, ...)`){labels}."
    )


def training_lines(spec: ImageSpec) -> list[str]:
    """The optional parts of the loop the spec switches on, each as train.py runs it."""
    training = spec.training
    lines = []
    if training.lr_schedule != "constant":
        formula = SCHEDULE_FACTORS[training.lr_schedule]
        lines.append(
            f"**Learning rates:** before each step both are lr x {formula}, done = min(step / "
            "total, 1), step = G steps done, total = G steps in training.epochs (not "
            "--max-steps), so `--resume` continues the curve."
        )
    if training.instance_noise is not None:
        noise = training.instance_noise
        lines.append(
            f"**Instance noise:** N(0, s^2) added to D's real and fake inputs in both steps, s = "
            f"{noise.std:g} x max(0, 1 - step / {noise.decay_steps}) (step = G steps done)."
        )
    if training.ema is not None:
        lines.append(
            f"**EMA of G:** starts as a copy of G; after each G update ema = {training.ema:g} x "
            f"ema + {1 - training.ema:.6g} x G (parameters; buffers copied). Sample pictures, "
            "scores, `evaluate.py`, `sample.py` and `export.py` use it; `health.py` uses G."
        )
    return lines


def device_text(spec: ImageSpec) -> str:
    training = spec.training
    layout = ", channels_last unless compiled" if spec.data.shape.is_image else ""
    amp = ""
    if training.amp != "off":
        scaler = (
            " with a GradScaler per network (`scaler_g`, `scaler_d`)"
            if training.amp == "fp16"
            else ""
        )
        amp = f" AMP {training.amp} on CUDA only (autocast{scaler}; losses in float32)."
    compiled = "on" if training.compile else "off"
    return (
        f"{training.device} (auto = CUDA, then MPS, then CPU; `--device` overrides); on CUDA "
        f"TF32 and cudnn.benchmark{layout}.{amp} torch.compile {compiled} (`--compile`: both "
        "networks, D with `dynamic=False`)."
    )


def torchrun_text(spec: ImageSpec) -> str:
    """build_gan's DDP wrappers and which forward runs through which."""
    batch_norm = any(layer.norm == "batch" for layer in spec.discriminator.layers)
    keyword = ", broadcast_buffers=False" if batch_norm else ""
    why = " (D's BatchNorm statistics stay per process)" if batch_norm else ""
    return (
        "`torchrun --nproc_per_node K train.py`: NCCL on CUDA, else gloo. `build_gan` sets "
        f"`g_ddp = DDP(g)`, `d_ddp = DDP(d{keyword})`{why}; alone they are `g`, `d`. D's "
        "update runs D's forwards through `d_ddp`, then one backward of its whole loss, and G's "
        "graph-keeping forward through `g_ddp`; G's step scores with the plain `d` (D frozen). "
        "Only rank 0 logs, samples, scores and writes files."
    )


def nan_text(spec: ImageSpec) -> str:
    """validation.on_nan as train.py handles it."""
    policy = spec.validation.on_nan or "stop_and_save_last_good"
    default = " (the default)" if spec.validation.on_nan is None else ""
    head = (
        f"`on_nan: {policy}`{default}: each loss is checked before its backward (all processes "
        "agree); a NaN/Inf "
    )
    if policy == "continue":
        return head + (
            "skips that update with `warning: <loss> is <value> at step S; update skipped`; the "
            "step counts, its values are missing from its metrics row."
        )
    kept = (
        ", writes `last_good.pt` (if no intact one exists and all weights are finite) from the "
        "weights as they are: the failing loss is never stepped, an earlier update of the "
        "step (D's, when loss_g fails) is kept"
        if policy == "stop_and_save_last_good"
        else ""
    )
    return head + (
        f"stops training at once{kept}, then `nan_report.json` (no other checkpoint); "
        "`main` prints `error: <reason>` to stderr and returns 3."
    )


def off_settings(spec: ImageSpec) -> list[str]:
    """config.yaml keys the rendered code has no code for, because the spec leaves them off
    (the templates' switches leave that code out)."""
    training, validation, data = spec.training, spec.validation, spec.data
    off = []
    if data.classes is None:
        off.append("data.classes")
    if not (diff_augment_policy(spec) or ("hflip" in data.augment and data.shape.is_image)):
        off.append("data.augment")
    if spec.discriminator.pack == 1:
        off.append("discriminator.pack")
    if training.d_steps_per_g_step == 1:
        off.append("training.d_steps_per_g_step")
    if training.loss != "wgan-gp":
        off.append("training.gradient_penalty")
    if training.r1 is None:
        off += ["training.r1", "training.r1_every"]
    if training.weight_clip is None:
        off.append("training.weight_clip")
    if not (training.label_smoothing > 0 and training.loss in LABELLED_LOSSES):
        off.append("training.label_smoothing")
    if training.instance_noise is None:
        off.append("training.instance_noise")
    if training.ema is None:
        off.append("training.ema")
    if training.amp == "off":  # config.yaml then has no amp key; the tests' small() sets it
        off.append("training.amp")
    if training.lr_schedule == "constant":
        off.append("training.lr_schedule")
    if validation.d_fake_healthy is None or spec.discriminator.output == "critic":
        off.append("validation.d_fake_healthy")
    if not data.shape.is_image:
        off.append("validation.grid_size")
    if not scores_in_training(spec):
        off.append("validation.fid")
    elif feature_space(spec) != "inception":
        off.append("validation.fid.dims")
    return off


def grouped(keys: list[str]) -> str:
    """``data.classes; training: ema, r1`` for dotted keys: each section named once."""
    sections: dict[str, list[str]] = {}
    for key in keys:
        section, _, rest = key.partition(".")
        sections.setdefault(section, []).append(rest)
    parts = [
        f"{section}.{names[0]}" if len(names) == 1 else f"{section}: {', '.join(names)}"
        for section, names in sections.items()
    ]
    return "; ".join(parts)


def scores_in_training(spec: ImageSpec) -> bool:
    """train.py scores G at validation.fid.every (validation_context's same switch)."""
    return spec.validation.fid is not None and (
        scoring(spec) == "modes" or feature_space(spec) is not None
    )


def checkpoint_keys(spec: ImageSpec) -> str:
    ema = "G's EMA state dict" if spec.training.ema is not None else "`None`"
    scalers = ", `scaler_g`, `scaler_d`" if spec.training.amp != "off" else ""
    return (
        f"`config` (the run's dict), `generator`, `discriminator`, `ema` ({ema}), `opt_g`, "
        f"`opt_d`{scalers} (state dicts), `progress` {{`epoch` (completed), `batch_in_epoch` "
        "(used), `step` (G updates), `d_updates`}, `rng` {`python` (`random.getstate()`'s "
        "tuple), `numpy` (a list: `np.random.get_state()` without its name, keys as an int64 "
        "tensor, then pos, has_gauss, cached_gaussian), `torch`, `cuda` (a list)}"
    )


def samples_text(spec: ImageSpec) -> str:
    model = "the EMA" if spec.training.ema is not None else "G"
    if not spec.data.shape.is_image:
        return (
            f"{SCATTER_POINTS:,} points of {model} (eval mode) from fixed noise, red, over the "
            f"first {SCATTER_POINTS:,} train points, blue (512x512)"
        )
    labels = (
        ", labels cycling 0, 1, ... (a multiple of data.classes per row)"
        if spec.data.classes is not None
        else ""
    )
    return (
        f"validation.grid_size samples of {model} (eval mode) from fixed noise{labels}, "
        "ceil(sqrt(n)) per row, 2-pixel gaps, data.range mapped to [0, 1]"
    )


def scores_text(spec: ImageSpec) -> str:
    """What train.py's validation.fid scoring writes, or why it has none."""
    fid = spec.validation.fid
    if fid is None:
        return ""
    if not scores_in_training(spec):
        return (
            "validation.fid cannot be scored for this data: training prints `warning: "
            "validation.fid is skipped: <why>` once at its start."
        )
    model = "the EMA" if spec.training.ema is not None else "G"
    if scoring(spec) == "modes":
        keys = "`samples`, `modes`, `modes_covered`, `high_quality_percent`, `reverse_kl`"
    else:
        dims = (
            "64, the classifier's: validation.fid.dims is unused"
            if feature_space(spec) == "domain"
            else "validation.fid.dims"
        )
        keys = (
            "`fd` (the Fréchet distance of Scoring below, to the held-out features), "
            f"`feature_dims` ({dims}), `fd_floor` (FD of the first validation.fid.samples of "
            "Scoring's train pick, computed once), `fd_ratio` (fd / fd_floor, "
            f"{NULL} at 0)"
        )
    labels = " and `sample_labels`" if spec.data.classes is not None else ""
    text = (
        f"`scores.jsonl`: every {fid.every} epochs (validation.fid) `write_score` scores {model} "
        "(eval mode, its mode restored after) on validation.fid.samples (here "
        f"{fid.samples:,}; the tests set their own) `sample_latent`{labels} draws of a "
        "`torch.Generator` seeded `seed`; one JSON object each, these keys only (no timing): "
        f"`step`, `epoch`, {keys}, also printed as `[epoch] score: ...`. `make_scorer` returns "
        "`None` when validation.fid is `null`."
    )
    if feature_space(spec) == "inception":
        text += (
            " Without loadable features `make_scorer` prints `warning: validation.fid is "
            "skipped: <why>` and returns `None`: training goes on unscored."
        )
    return text


def health_lines(spec: ImageSpec) -> list[str]:
    """health.py's run, checks with their thresholds, report and exit codes: Markdown list
    lines (a check is a nested item)."""
    data = spec.data
    draw = f"uniform in {_range(spec)}" if data.range is not None else "standard normal"
    labels = "uniform classes" if data.classes is not None else "0"
    fid = ", validation.fid `null`" if scores_in_training(spec) else ""
    inside = f"within {_range(spec)} +- 1e-6" if data.range is not None else "finite"
    band = spec.validation.d_fake_healthy is not None and spec.discriminator.output != "critic"
    with_labels = " and `sample_labels`" if data.classes is not None else ""
    checks = [
        "`losses_finite`: each row's loss_d, loss_g with |v| < 1e4, and no NaN stop.",
        "`gradients_nonzero`: each row's grad norms finite and > 0.",
        "`checkpoint_intact`: only when that checkpoint (last.pt, else last_good.pt) is "
        "damaged: fail.",
        f"`output_shape`, `output_range` ({inside}): n = max(2, min(batch_size, 128)) samples "
        "of G's own weights (no EMA) from that checkpoint, in train mode, from "
        f"`sample_latent`{with_labels} under a `torch.Generator` seeded `seed` (no or a damaged "
        "checkpoint: these and `not_collapsed` skip).",
        "`not_collapsed` (skips when either fails): ratio = those samples' mean pairwise L2 "
        "distance / that of n samples of the data it trained on (the first of a "
        "`torch.randperm` seeded `seed`). Pass if ratio >= 0.1; else fail if it is under half "
        "an untrained G's ratio (that G built after `torch.manual_seed(seed)`, the global RNG "
        "restored after); else warn.",
    ]
    if band:
        checks.append(
            "`d_fake_in_band`: pass if the last logged d_fake is in validation.d_fake_healthy, "
            "else warn (never fail)."
        )
    checks.append("A crash: the one check `no_crash` (fail), and `error` (the traceback's end).")
    return [
        "- `python health.py [--config PATH] [--steps 6] [--device auto] [--out "
        f"runs/{spec.name}_health] [--overwrite] [--synthetic] [--json]` trains --steps G "
        "steps into --out as `train.py --max-steps` does, with validation.log all seven keys "
        f"and validation.log_every 1{fid}; `--synthetic` uses 1,024 samples seeded `seed`, "
        f"{draw}, labels {labels}.",
        "- Checks, in this order, each {`name`, `status`: pass|fail|warn|skip, `detail`}:",
        *(f"  - {check}" for check in checks),
        "- Report: `healthy` (no fail), `failed` (names), `checks`, `steps` (an int: metrics "
        'rows), `steps_requested`, `device` (`str(device)`, e.g. `"cpu"`), `synthetic`, '
        "`data_source`, `d_real`, `d_fake` ({`first`, `last`, `min`, `max`})"
        + (", `d_fake_healthy`" if band else "")
        + ", `diversity_ratio` (that ratio), `seconds_per_step` (median), `peak_rss_mib`, "
        "`cuda_max_memory_allocated_mib`, `nan_report`, `run`, `metrics`, `samples` "
        f"(samples/final.png), `checkpoint`; {NULL} where none. `--json` prints it alone on "
        "stdout: while it runs, stdout goes to stderr (`contextlib.redirect_stdout`). Else "
        "`PASS  name: detail` lines, then `healthy` or `UNHEALTHY: <names>`.",
        "- Exit 0 healthy, 1 not, 2 when --out holds a run it did not record (`--overwrite` "
        "moves that to `previous-<time>/`). It lists its files with size and mtime in "
        "`health.json` however it ends (SIGTERM, SIGHUP too); the next health run deletes "
        "them while unchanged, so it reruns freely.",
    ]


def evaluate_lines(spec: ImageSpec) -> list[str]:
    """evaluate.py's command line, report keys and metric definitions."""
    kind, features = scoring(spec), feature_space(spec)
    model = (
        "G (its EMA when saved, eval mode)" if spec.training.ema is not None else "G (eval mode)"
    )
    exit2 = "Exit 2 (`evaluate.py: <why>` on stderr) on a missing or damaged checkpoint"
    if kind == "modes":
        return [
            f"`python evaluate.py --checkpoint PATH [--samples 2500] [--seed 0] [--json]`: {model} "
            "on N latents of a `torch.Generator` seeded `--seed`, PacGAN's protocol: a sample is "
            "high quality within 3 std of its nearest mode; `counts` per mode, `modes_covered` "
            "(modes with one at least), `high_quality_percent`, `reverse_kl` = sum of p log(p x "
            f"modes) over the nonzero shares p of `counts` ({NULL} without any). `--json` prints "
            "{`source`, `checkpoint`, `samples`, `modes`, `modes_covered`, "
            f"`high_quality_percent`, `reverse_kl`, `counts`}}, else one line. {exit2}. The "
            "holdout is only kept out of training.",
        ]
    labels = " and `sample_labels`" if spec.data.classes is not None else ""
    inception = " [--inception FILE]" if features == "inception" else ""
    keys = "`source`, `checkpoint`, `samples`, `real_train`, `real_holdout`, `memorization`"
    if features is not None:
        keys += ", `features`, `feature_dims`, `frechet`, `precision_recall`"
    if features == "domain":
        keys += ", `classifier_holdout_accuracy`, `classes`"
        keys += ", `label_agreement`" if spec.data.classes is not None else ""
    lines = [
        f"`python evaluate.py --checkpoint PATH [--samples N] [--seed 0]{inception} [--json]`: "
        f"{model} makes N samples (default: as many as train; >= 4) from latents{labels} "
        f"seeded `--seed`; each real split counts up to {REAL_LIMIT:,} (a `torch.randperm` "
        "pick, same seed); all in [0, 1] (range mapped back, clamped). "
        f"`--json` prints {{{keys}}}, else text. {exit2} or an incomputable metric."
        + (
            f" The feature space (`{features}`) is fixed in the code, not read from the "
            "checkpoint's config (its validation.fid may be `null`)."
            if features is not None
            else ""
        ),
        "`memorization` (pixel space, L2): `median_nn_generated`, `median_nn_holdout` (median "
        f"distance to the nearest train sample), `ratio` (their quotient; {NULL} at 0), "
        "`near_copies_percent` (% of generated samples nearer than the held-out distances' "
        "1% quantile).",
    ]
    if features is None:
        lines.append(
            f"No feature space for this data: `features` is {NULL}, `features_unavailable` "
            "says why."
        )
        return lines
    lines.append(
        "`frechet` {`generated_vs_holdout`, `train_vs_holdout` (the real floor), `ratio` "
        f"({NULL} at 0)}}: ||mu_a - mu_b||^2 + tr(S_a + S_b - 2 (S_a^1/2 S_b S_a^1/2)^1/2) of the "
        "features in float64 (`torch.cov`), deterministic: both roots by `torch.linalg.eigh`, "
        "eigenvalues clamped at 0; `precision_recall` {`generated`, `holdout`} "
        "(Kynkäänniemi et al. 2019, k = 3: a manifold is the balls around each point reaching "
        "its 3rd nearest other one): `precision` = share of the set inside the train "
        "manifold, `recall` = share of train inside the set's."
    )
    if features == "domain":
        agreement = (
            ", `label_agreement` (share classified as the label asked for)"
            if spec.data.classes is not None
            else ""
        )
        lines.append(
            "Features `domain` (`features.py`): `DigitsClassifier` takes images in [0, 1], "
            'their channel mean `F.interpolate(mode="area")`d to 16x16, two blocks of 3x3 '
            "Conv2d (32, then 64 channels, padding 1), ReLU, MaxPool2d(2), then Flatten, "
            "Linear(1024, 64), ReLU: that 64-d output is the features; a Linear(64, 10) head "
            "classifies. Trained once on the train split's digits in [0, 1] at the data shape "
            "(before the range mapping) with their digit classes: torch seeded `seed` (global "
            "RNG restored after), 20 epochs of Adam(lr=1e-3), cross-entropy, batches of 64 in "
            "the order of a `torch.randperm` per epoch; each batch as a whole rolled by "
            "one `(dx, dy) = torch.randint(-s, s + 1, (2,))` draw, s = max(1, W // 16): "
            "`torch.roll(batch, shifts=(dy, dx), dims=(-2, -1))` at the data shape (the resize "
            "comes after); all draws from one `torch.Generator` seeded `seed`. "
            "`holdout_accuracy`: eval mode, on the unshifted holdout split. Cached as one file "
            "in `CACHE_DIR` (name and format yours) keyed by the given config's data shape, "
            "seed and validation.holdout (evaluate.py passes the checkpoint's `config`) and the "
            "code of features.py and data.py (not batch size). Training it calls `log` once "
            "(evaluate.py's prints to stderr: stdout is the report); a cache hit says nothing. "
            "The report adds `classifier_holdout_accuracy` and `classes` {`counts` (10 predicted "
            "digits), "
            "`classes_covered` (how many have a share >= 0.025), `classes`: 10, "
            f"`kl_to_uniform` (sum of p log(10 p) over shares p > 0)}}{agreement}."
        )
    else:
        lines.append(
            "Features `inception` (`features.py`, never downloads): InceptionV3 from "
            "`--inception FILE` (TorchScript, NVIDIA's inception-2015-12-05.pt, called on uint8 "
            "RGB with `return_features=True`: 2048-d), else torch-fidelity's "
            '`FeatureExtractorInceptionV3("inception-v3-compat", [str(dims)])` when installed '
            "(dims 2048; in training validation.fid.dims, which must be 2048 with "
            "`--inception`); grey is repeated to RGB. Without weights: `features` "
            f"{NULL}, `features_unavailable` says why."
        )
    return lines


def prompt_context(context: ImageContext) -> dict[str, Any]:
    """The template's ``prompt`` values: finished sentences and lists."""
    spec = context.spec
    return {
        "prompt": {
            "off": grouped(off_settings(spec)),
            "source": source_text(spec),
            "sample_shape": f"({', '.join(map(str, spec.data.shape.dims))}"
            + ("," if len(spec.data.shape.dims) == 1 else "")
            + ")",
            "labels": label_text(spec),
            "split": split_text(spec),
            "batches": batches_text(spec),
            "legend": legend_text(context),
            "pack": pack_text(spec),
            "d_returns": returns_text(context),
            "g_init": init_text(spec, "generator"),
            "d_init": init_text(spec, "discriminator"),
            "step": step_text(spec),
            "schedule": schedule_text(spec),
            "training": training_lines(spec),
            "device": device_text(spec),
            "torchrun": torchrun_text(spec),
            "nan": nan_text(spec),
            "checkpoint_keys": checkpoint_keys(spec),
            "samples": samples_text(spec),
            "scores": scores_text(spec),
            "health": health_lines(spec),
            "evaluate": evaluate_lines(spec) if scoring(spec) else [],
        }
    }
