#!/usr/bin/python3
"""make_reference.py: an independent PyTorch reference for every positional
encoding of posbench and for its probe transformer, written from the papers'
formulas (never by calling posbench's C code), which writes the fixtures that
tests/reference/test_reference.c compares the C implementation against.

    tests/reference/make_reference.py            regenerate tests/reference/fixtures/
    tests/reference/make_reference.py --check    regenerate into a temporary
                                                 directory, compare by value with
                                                 the committed fixtures, exit 1 on drift
    tests/reference/make_reference.py -o DIR     write the fixtures to DIR

Everything is computed in float64 from float32-representable inputs (random
draws are made in float32 and widened), so the C side, which computes in
float32, is compared with values whose own rounding is negligible. Fixed
seeds, one torch thread: the same torch gives the same values.

One file per registered encoding, fixtures/<name>.h5 (root attributes
script_version, torch_version, encoding, kind = "posbench-reference"):

  /hooks/<case>   one hook test: attributes variant, knobs, dim, heads,
                  max_len, B, T (queries / positions), pos0 (first
                  position), K (attn_bias, score: keys 0..K-1), hooks (the
                  hooks the formula acts through: "embed", "rotate", "bias",
                  "score"),
                  n_params; datasets (f32 inputs, f64 results):
      params [n]                 the encoding's parameters (if any)
      embed:  x [B,T,C], dout [B,T,C]; out [B,T,C] = x + PE
      rotate: q, k [B,T,H,D], dq_out, dk_out [B,T,H,D];
              q_out, k_out (rotated), dq, dk (gradients w.r.t. q, k)
      bias:   dbias [H,T,K]; bias [H,T,K] (NaN where the formula does not
              define a value: keys after the query in causal variants, which
              the mask hides; dbias is 0 there)
      dparams [n]                gradient of the scalar loss
                                 sum(out*dout) + sum(q_out*dq_out)
                                 + sum(k_out*dk_out) + sum(bias*dbias)
  /model/<name>   the probe transformer (harness/model/model.h) with this
                  encoding: attributes vocab, context, layers, dim, heads,
                  tied, embed_scale, unscored_prefix (targets at positions
                  t < unscored_prefix are not scored: MODEL_UNSCORED, as a
                  task's question tokens), variant, knobs and the trainer's
                  batch, steps, lr, warmup, min_lr_ratio, weight_decay,
                  beta1, beta2, eps, grad_clip; datasets ids [B*T+1] (the
                  token stream: B windows of T, stride T, so every step sees
                  the same batch), params/<tensor> (f32, the model's tensor
                  table names and shapes), logits [B,T,V], losses [B,T] (NaN
                  where unscored), loss [1], grads/<tensor>, train_losses
                  [steps] (the loss of each AdamW step, before it) and
                  grad_norms [steps] (before clipping; for the reader: the
                  clip at 1.0 acts in some steps and not in others).

Conventions of the C model that this reference follows (read from
harness/model/model.c, adamw.c, train.c; where they are project choices and
not a paper's, the comment says so):
  - GPT-2 (Radford et al. 2019) pre-LayerNorm decoder; LayerNorm eps 1e-5,
    biased variance; GELU tanh approximation; attention logits
    q.k / sqrt(D) + bias + score(q, k), causal (q, k rotated); tied LM head without bias; mean
    cross-entropy over the scored tokens.
  - embed_scale s: x0 = s wte[ids] + PE (Vaswani et al. 2017 sec. 3.4
    multiply the embedding by sqrt(d_model)); the tied head uses wte unscaled.
  - The encoding's parameters are one tensor shared by every layer (T5 shares
    its relative bias across layers too); embed acts once on the input.
  - AdamW (Loshchilov & Hutter 2019) as torch.optim.AdamW, weight decay on
    wte, qkv, proj, fc, fcproj and lm_head only (project choice: not the
    encoding's parameters, not biases or LayerNorms; nanoGPT also decays
    its position table).
  - Learning rate: llm.c's linear warmup lr (step+1)/warmup, then cosine to
    min_lr_ratio * lr over the remaining steps.
  - Clipping: global L2 norm, scaled by max_norm / norm when above (llm.c;
    torch's clip_grad_norm_ divides by norm + 1e-6).

A new encoding adds one Encoding subclass below (its formula, with the
paper), registers it in ENCODINGS with hook cases covering its variants, and
one model configuration; then regenerate and commit its fixture file.
"""
import argparse
import math
import os
import sys
import tempfile

SCRIPT_VERSION = "1"
HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_OUT = os.path.join(HERE, "fixtures")

# One thread: float64 sums in a fixed order, so regeneration is reproducible.
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

try:
    import h5py
    import numpy as np
    import torch
except ImportError as err:  # the check script turns this into a skip
    sys.stderr.write(f"make_reference.py: {err}; install python3-torch and python3-h5py\n")
    sys.exit(3)

torch.set_num_threads(1)
torch.set_default_dtype(torch.float64)
F64 = torch.float64


def parse_knobs(s):
    out = {}
    for item in filter(None, (s or "").split(",")):
        k, v = item.split("=")
        out[k] = float(v)
    return out


def randn32(gen, *shape, std=1.0):
    """N(0, std^2) drawn in float32 (so the C side gets the very same values),
    returned as float64."""
    return (torch.randn(*shape, generator=gen, dtype=torch.float32) * std).to(F64)


# ---- encodings, from the papers ------------------------------------------------
#
# Each reference knows which hooks its formula acts through and gives, for
# absolute positions:
#   embed(params, pos [T])            -> PE [T,C]              added to x
#   rotate(params, x [..,T,H,D], pos) -> x rotated             queries and keys
#     (rotate_q / rotate_k where the two differ, as xPos scales them apart)
#   bias(params, qpos [T], kpos [K])  -> [H,T,K]               added to logits
#   score(params, q [B,T,H,D], k [B,K,H,D], qpos [T], kpos [K])
#                                     -> [B,H,T,K]             added to the scaled
#     logits: a term reading the (rotated) queries and keys; None: no score
#   defined(qpos, kpos)               -> bool [T,K]            where bias/score is defined
#   project(params)                   -> in place, after every optimizer step
#     (constrained parameters, as KERPLE's clamps)


class Encoding:
    name = ""
    hooks = ()
    variants = ("default",)
    knob_defaults = {}

    def __init__(self, variant, knobs, dim, heads, max_len):
        self.variant = variant or self.variants[0]
        assert self.variant in self.variants, (self.name, variant)
        self.knobs = dict(self.knob_defaults)
        self.knobs.update(parse_knobs(knobs))
        self.C, self.H, self.max_len = dim, heads, max_len
        self.D = dim // heads

    def param_shape(self):
        return None

    def init_params(self, gen, std):
        shape = self.param_shape()
        return None if shape is None else randn32(gen, *shape, std=std)

    def defined(self, qpos, kpos):
        return torch.ones(len(qpos), len(kpos), dtype=torch.bool)

    def rotate_q(self, params, x, pos):
        return self.rotate(params, x, pos)

    def score(self, params, q, k, qpos, kpos):
        return None

    def rotate_k(self, params, x, pos):
        return self.rotate(params, x, pos)

    def project(self, params):
        pass


class LearnedAbsolute(Encoding):
    """GPT-2 (Radford et al. 2019) / the seed notebook's torch.nn.Embedding:
    x[b,t] += P[pos0 + t], P [max_len, C] trainable."""
    name = "learned_absolute"
    hooks = ("embed",)

    def param_shape(self):
        return (self.max_len, self.C)

    def embed(self, params, pos):
        return params[pos]


class Sinusoidal(Encoding):
    """Vaswani et al. 2017, "Attention Is All You Need", sec. 3.5:
      interleaved: PE(p, 2i) = sin(p / base^(2i/C)), PE(p, 2i+1) = cos(same)
      concat (tensor2tensor get_timing_signal_1d, fairseq
      SinusoidalPositionalEmbedding): PE(p, i) = sin(p w_i),
      PE(p, C/2 + i) = cos(p w_i), w_i = exp(-i log(base) / (C/2 - 1))."""
    name = "sinusoidal"
    hooks = ("embed",)
    variants = ("interleaved", "concat")
    knob_defaults = {"base": 10000.0}

    def embed(self, params, pos):
        base, C = self.knobs["base"], self.C
        p = pos.to(F64)[:, None]
        if self.variant == "interleaved":
            two_i = torch.arange(0, C, 2, dtype=F64)
            angle = p / base ** (two_i / C)
            pe = torch.empty(len(pos), C, dtype=F64)
            pe[:, 0::2] = torch.sin(angle)
            pe[:, 1::2] = torch.cos(angle)
            return pe
        half = C // 2
        increment = math.log(base) / (half - 1)  # tensor2tensor's log_timescale_increment
        inv = torch.exp(torch.arange(half, dtype=F64) * -increment)
        angle = p * inv[None, :]
        return torch.cat([torch.sin(angle), torch.cos(angle)], dim=1)


class Rope(Encoding):
    """Su et al. 2021, RoFormer, eq. 34: pair i of a head turns by
    theta = p base^(-2i/R) over the first R = 2 floor(fraction D / 2) dims
    (GPT-NeoX rotary_pct: the rest pass through).
      interleaved (RoFormer; Llama's apply_rotary_emb): pairs (2i, 2i+1),
        computed here as a complex product (x_2i + j x_2i+1) e^{j theta}
      half (GPT-NeoX / HF rotate_half): pairs (i, i + R/2),
        x cos + rotate_half(x) sin, rotate_half(x) = [-x2, x1]."""
    name = "rope"
    hooks = ("rotate",)
    variants = ("interleaved", "half")
    knob_defaults = {"base": 10000.0, "fraction": 1.0}

    ext = None  # a context extension: dict(method, factor, original, ...)

    def R(self):
        return 2 * int(math.floor(self.knobs["fraction"] * self.D / 2))

    def frequencies(self, length):
        """theta_k of the pairs, the q/k multiplier and the share of each pair
        interpolated, for a pass over a text of `length` tokens so far."""
        return rope_scaling(self.ext, self.knobs["base"], self.R(), length)

    def rotate(self, params, x, pos):
        R = self.R()
        inv_freq, mscale, _ = self.frequencies(int(pos[-1]) + 1)
        theta = pos.to(F64)[:, None] * inv_freq[None, :]          # [T, R/2]
        theta = theta[:, None, :]                                  # over heads
        rot, keep = x[..., :R], x[..., R:]
        if self.variant == "interleaved":
            z = torch.view_as_complex(rot.reshape(*rot.shape[:-1], R // 2, 2).contiguous())
            out = torch.view_as_real(z * torch.polar(torch.ones_like(theta), theta))
            out = out.reshape(rot.shape)
        else:
            cos = torch.cat([torch.cos(theta)] * 2, dim=-1)
            sin = torch.cat([torch.sin(theta)] * 2, dim=-1)
            x1, x2 = rot[..., : R // 2], rot[..., R // 2:]
            out = rot * cos + torch.cat([-x2, x1], dim=-1) * sin
        return torch.cat([out * mscale, keep], dim=-1)


def rope_scaling(ext, base, R, length):
    """RoPE's frequencies theta_k = base^(-2k/R), k < R/2, under a context
    extension (None: unchanged), the multiplier of the rotated q and k, and
    r_k, the share of pair k moved to theta_k / s:
      pi (Chen et al. 2023, eq. 3: positions m -> m / s): every pair, r = 1.
      ntk (bloc97's NTK-aware scaling, YaRN sec. 3.1): base -> base s^(R/(R-2)).
      dynamic-ntk (YaRN sec. 3.3): ntk with s' = max(1, s l / L - (s - 1)) at
        the current length l (Hugging Face's dynamic rule; s = 1 gives the
        paper's s' = max(1, l / L)).
      yarn (Peng et al. 2023, sec. 3.2 and 3.4; jquesnelle/yarn's ramp): the
        pairs whose wavelength 2 pi / theta_k fits beta_fast = 32 times or
        more into L keep theta_k, those fitting beta_slow = 1 time or less
        take theta_k / s, linearly in the pair index between (the bounds
        floor and ceil of the index where the wavelength fits n times,
        R ln(L / (2 pi n)) / (2 ln base)); attention temperature
        sqrt(1/t) = 0.1 ln s + 1 on both q and k.
      llama3 (Meta's Llama 3.1 apply_scaling): wavelengths above L / low
        divided by s, below L / high kept, in between smoothed by
        (L / wavelength - low) / (high - low)."""
    k = torch.arange(0, R, 2, dtype=F64)
    theta = base ** (-k / R)
    pairs = R // 2
    if ext is None or ext["method"] == "none":
        return theta, 1.0, torch.zeros(pairs, dtype=F64)
    m, s, L = ext["method"], float(ext["factor"]), float(ext["original"])
    if m == "pi":
        return theta / s, 1.0, torch.ones(pairs, dtype=F64)
    if m in ("ntk", "dynamic-ntk"):
        if m == "dynamic-ntk":
            s = max(1.0, s * length / L - (s - 1))
        return (base * s ** (R / (R - 2))) ** (-k / R), 1.0, torch.zeros(pairs, dtype=F64)
    if m == "yarn":
        def index_fitting(n):  # the pair whose wavelength fits n times into L
            return R * math.log(L / (n * 2 * math.pi)) / (2 * math.log(base))
        lo = max(math.floor(index_fitting(ext.get("beta_fast", 32.0))), 0)
        hi = min(math.ceil(index_fitting(ext.get("beta_slow", 1.0))), R - 1)
        if lo == hi:
            hi += 0.001
        r = ((torch.arange(pairs, dtype=F64) - lo) / (hi - lo)).clamp(0, 1)
        mscale = 0.1 * math.log(s) + 1 if s > 1 else 1.0
        return theta / s * r + theta * (1 - r), mscale, r
    if m == "llama3":
        low, high = ext.get("low_freq_factor", 1.0), ext.get("high_freq_factor", 4.0)
        wavelen = 2 * math.pi / theta
        smooth = ((L / wavelen - low) / (high - low))
        r = torch.where(wavelen > L / low, torch.ones_like(theta),
                        torch.where(wavelen < L / high, torch.zeros_like(theta), 1 - smooth))
        return theta / s * r + theta * (1 - r), 1.0, r
    raise ValueError(m)


class XPos(Encoding):
    """Sun et al. 2022, "A Length-Extrapolatable Transformer" (xPos), as
    microsoft/torchscale's XPOS: RoPE's rotation by theta = p 10000^(-2i/D)
    (fixed base) on pair i, with the pair scaled by zeta_i^(n/B) for a query
    at position n and by zeta_i^(-m/B) for a key at position m,
    zeta_i = (2i + 0.4 D) / (1.4 D), B = scale_base (default 512); so
    q_n . k_m carries zeta_i^((n - m)/B).
      interleaved (torchscale rotate_every_two): pairs (2i, 2i+1)
      half (lucidrains' rotary-embedding-torch): pairs (i, i + D/2), both
        halves scaled by zeta_i (torch.cat((scale, scale)))
    torchscale centres the exponent on each call's middle position, a
    factor that cancels in q.k; posbench's hooks take absolute positions, so
    the exponent is the position itself. Project choice, not the paper's:
    positions past the formula bound P (the first p with zeta_0^(p/B) below
    2^-64; zeta_0 = 2/7 is the smallest) act as position P - 1, which is
    what the C hooks do when the clamp fallback lets them run there."""
    name = "xpos"
    hooks = ("rotate",)
    variants = ("interleaved", "half")
    knob_defaults = {"scale_base": 512.0}

    def bound(self):
        zeta0 = 0.4 / 1.4
        B = self.knobs["scale_base"]
        # the largest p with (p / B) log2(1 / zeta0) <= 64, by its definition
        p = math.floor(64.0 * B / math.log2(1.0 / zeta0))
        while (p + 1) / B * math.log2(1.0 / zeta0) <= 64.0:
            p += 1
        while p / B * math.log2(1.0 / zeta0) > 64.0:
            p -= 1
        return p + 1

    def turn(self, x, pos, sign):
        D, B = self.D, self.knobs["scale_base"]
        p = torch.clamp(pos, max=self.bound() - 1).to(F64)[:, None]  # [T, 1]
        two_i = torch.arange(0, D, 2, dtype=F64)
        theta = p * 10000.0 ** (-two_i / D)                            # [T, D/2]
        zeta = (two_i + 0.4 * D) / (1.4 * D)
        scale = zeta[None, :] ** (sign * p / B)                        # [T, D/2]
        theta, scale = theta[:, None, :], scale[:, None, :]            # over heads
        if self.variant == "interleaved":
            z = torch.view_as_complex(x.reshape(*x.shape[:-1], D // 2, 2).contiguous())
            return torch.view_as_real(z * torch.polar(scale, theta)).reshape(x.shape)
        cos = torch.cat([torch.cos(theta) * scale] * 2, dim=-1)
        sin = torch.cat([torch.sin(theta) * scale] * 2, dim=-1)
        x1, x2 = x[..., : D // 2], x[..., D // 2:]
        return x * cos + torch.cat([-x2, x1], dim=-1) * sin

    def rotate_q(self, params, x, pos):
        return self.turn(x, pos, 1.0)

    def rotate_k(self, params, x, pos):
        return self.turn(x, pos, -1.0)


def t5_relative_position_bucket(relative_position, bidirectional, num_buckets, max_distance):
    """Hugging Face T5Attention._relative_position_bucket (transformers
    4.x), the Mesh-TensorFlow bucket function of Raffel et al. 2020, verbatim
    in its arithmetic: float32 log, truncation by .to(torch.long)."""
    relative_buckets = 0
    if bidirectional:
        num_buckets //= 2
        relative_buckets += (relative_position > 0).to(torch.long) * num_buckets
        relative_position = torch.abs(relative_position)
    else:
        relative_position = -torch.min(relative_position, torch.zeros_like(relative_position))
    max_exact = num_buckets // 2
    is_small = relative_position < max_exact
    relative_position_if_large = max_exact + (
        torch.log(relative_position.float() / max_exact)
        / math.log(max_distance / max_exact)
        * (num_buckets - max_exact)
    ).to(torch.long)
    relative_position_if_large = torch.min(
        relative_position_if_large, torch.full_like(relative_position_if_large, num_buckets - 1))
    relative_buckets += torch.where(is_small, relative_position, relative_position_if_large)
    return relative_buckets


class RelativeBias(Encoding):
    """Raffel et al. 2020 (T5), sec. 2.1 (after Shaw et al. 2018): a learned
    scalar per (bucket of key - query, head), W [num_buckets, H] laid out as
    HF's nn.Embedding(num_buckets, n_heads); bias[h,i,j] = W[bucket(j - i), h].
    Causal (decoder): keys after the query share bucket 0, hidden by the mask."""
    name = "relative_bias"
    hooks = ("bias",)
    variants = ("causal", "bidirectional")
    knob_defaults = {"buckets": 32.0, "max_distance": 128.0}

    def param_shape(self):
        return (int(self.knobs["buckets"]), self.H)

    def bias(self, params, qpos, kpos):
        rp = kpos[None, :] - qpos[:, None]                          # [T,K], key - query
        bucket = t5_relative_position_bucket(rp, self.variant == "bidirectional",
                                             int(self.knobs["buckets"]),
                                             int(self.knobs["max_distance"]))
        return params[bucket].permute(2, 0, 1)                       # [H,T,K]

    def defined(self, qpos, kpos):
        if self.variant == "bidirectional":
            return super().defined(qpos, kpos)
        return kpos[None, :] <= qpos[:, None]


def alibi_get_slopes(n):
    """Press et al. 2022, the paper's code (ofirpress/attention_with_linear_biases)."""
    def get_slopes_power_of_2(n):
        start = 2 ** (-2 ** -(math.log2(n) - 3))
        ratio = start
        return [start * ratio ** i for i in range(n)]
    if math.log2(n).is_integer():
        return get_slopes_power_of_2(n)
    closest_power_of_2 = 2 ** math.floor(math.log2(n))
    return (get_slopes_power_of_2(closest_power_of_2)
            + alibi_get_slopes(2 * closest_power_of_2)[0::2][: n - closest_power_of_2])


class Alibi(Encoding):
    """Press, Smith and Lewis 2022 (ALiBi), sec. 3: softmax(q_i K^T + m (-(i-1),
    ..., -1, 0)), i.e. bias[h,i,j] = -m_h (i - j) for keys j <= i; the
    symmetric variant (bidirectional attention) uses -m_h |i - j|."""
    name = "alibi"
    hooks = ("bias",)
    variants = ("causal", "symmetric")

    def bias(self, params, qpos, kpos):
        m = torch.tensor(alibi_get_slopes(self.H), dtype=F64)[:, None, None]
        d = (qpos[:, None] - kpos[None, :]).to(F64)[None]
        return -m * (d if self.variant == "causal" else d.abs())

    def defined(self, qpos, kpos):
        if self.variant == "symmetric":
            return super().defined(qpos, kpos)
        return kpos[None, :] <= qpos[:, None]


class Sandwich(Encoding):
    """Chi, Fan, Rudnicky and Ramadge 2023, "Dissecting Transformer Length
    Extrapolation via the Lens of Receptive Field Analysis": the inner
    product of two sinusoidal embeddings of the head width D, less D/2, each
    head compressed by 8h/H (h = 1..H):
      bias[h,i,j] = (sum_{k=1..D/2} cos((i - j) / 10000^(2k/D)) - D/2) / (8h/H)
    (k from 1 and the compression as NVIDIA NeMo's
    SandwichRelativePositionEmbedding). Even in i - j, so defined for every
    key; the causal mask hides the keys after the query."""
    name = "sandwich"
    hooks = ("bias",)

    def bias(self, params, qpos, kpos):
        D, H = self.D, self.H
        k = torch.arange(1, D // 2 + 1, dtype=F64)
        inv_freq = 1.0 / 10000.0 ** (2 * k / D)
        rel = (qpos[:, None] - kpos[None, :]).to(F64)                 # [T,K]
        s = torch.cos(rel[..., None] * inv_freq).sum(-1) - D / 2
        compression = 8 * torch.arange(1, H + 1, dtype=F64) / H
        return s[None] / compression[:, None, None]


class Kerple(Encoding):
    """Chi, Fan, Ramadge and Rudnicky 2022 (KERPLE), with trainable
    r1, r2 > 0 per head (params [2, H]: r1 then r2), d = i - j on keys up to
    the query (the authors' chijames/KERPLE builds d as tril(i - j), 0 after
    the query, which the mask hides):
      log:   bias[h,i,j] = -r1_h log(1 + r2_h d)
      power: bias[h,i,j] = -r1_h d^(r2_h)        (0 < r2 <= 2)
    Initialised as the authors' code (p = 2 U(0,1), a = U(0,1); log: r1 = p,
    r2 = a; power: r1 = a, r2 = p), drawn in float32 and clamped as project
    clamps after every optimizer step: r >= 0.01, the power exponent <= 2."""
    name = "kerple"
    hooks = ("bias",)
    variants = ("log", "power")
    EPS = float(np.float32(0.01))  # the C side clamps at 0.01f

    def param_shape(self):
        return (2, self.H)

    def init_params(self, gen, std):
        p = torch.rand(self.H, generator=gen, dtype=torch.float32) * 2
        a = torch.rand(self.H, generator=gen, dtype=torch.float32)
        r = torch.stack([a, p] if self.variant == "power" else [p, a]).to(F64)
        self.project(r)
        return r

    def project(self, params):
        params.clamp_(min=self.EPS)
        if self.variant == "power":
            params[1].clamp_(max=2.0)

    def bias(self, params, qpos, kpos):
        d = (qpos[:, None] - kpos[None, :]).clamp(min=0).to(F64)[None]   # [1,T,K]
        r1, r2 = params[0][:, None, None], params[1][:, None, None]
        if self.variant == "log":
            return -r1 * torch.log1p(r2 * d)
        # torch's pow backward gives d/dr2 = 0 where the base is 0 (the diagonal)
        return -r1 * d.pow(r2)

    def defined(self, qpos, kpos):
        return kpos[None, :] <= qpos[:, None]


class Fire(Encoding):
    """Li et al. 2023, "Functional Interpolation for Relative Positions
    Improves Long Context Transformers" (FIRE), eq. 4 and the paper's
    appendix code (as in mcleish7/arithmetic cramming/architectures/
    embeddings.py, class FIRE):
      bias[h,i,j] = MLP_h(psi(i - j) / (psi(max(i, L)) + eps)),
      psi(d) = log(|c d| + 1), L = |mult L0|, eps = 1e-6,
      MLP = Linear(1, 32), ReLU, Linear(32, H): output h is head h's bias.
    L0 is the knob L, 0 meaning max_len (the training length). c and L stay
    positive through abs(), as the authors' code; keys after the query take
    |i - j| (hidden by the causal mask). Parameters, flattened in the C
    layout (encodings/fire.c):
      w1 [32], b1 [32], w2 [H,32], b2 [H], c, mult
    initialised as the authors' code: torch's nn.Linear (U(-1, 1) for the
    first layer, fan_in 1; U(-1/sqrt(32), 1/sqrt(32)) for the second), c 0.1,
    mult 1, drawn in float32 (std is not used: the authors' init has its own
    scale, as encodings/fire.c ignores EncodingConfig.init_std)."""
    name = "fire"
    hooks = ("bias",)
    knob_defaults = {"L": 0.0}
    WIDTH = 32
    EPS = 1e-6

    def param_shape(self):
        W, H = self.WIDTH, self.H
        return (2 * W + H * W + H + 2,)

    def init_params(self, gen, std):
        W, H = self.WIDTH, self.H

        def uniform(n, bound):
            return ((torch.rand(n, generator=gen, dtype=torch.float32) * 2 - 1) * bound).to(F64)
        bound2 = float(np.float32(1 / math.sqrt(W)))
        return torch.cat([uniform(2 * W, 1.0), uniform(H * W + H, bound2),
                          torch.tensor([float(np.float32(0.1)), 1.0], dtype=F64)])

    def unpack(self, params):
        W, H = self.WIDTH, self.H
        w1, b1 = params[:W], params[W:2 * W]
        w2 = params[2 * W:2 * W + H * W].reshape(H, W)
        b2 = params[2 * W + H * W:2 * W + H * W + H]
        return w1, b1, w2, b2, params[-2], params[-1]

    def bias(self, params, qpos, kpos):
        w1, b1, w2, b2, c, mult = self.unpack(params)
        L0 = self.knobs["L"] if self.knobs["L"] > 0 else float(self.max_len)
        rel = (qpos[:, None] - kpos[None, :]).to(F64)                     # i - j, [T,K]
        threshold = torch.abs(mult * L0)
        normalizer = torch.max(qpos.to(F64), threshold)[:, None]          # max(i, L)
        psi_norm = torch.log(torch.abs(c * normalizer) + 1) + self.EPS
        x = torch.log(torch.abs(c * rel) + 1) / psi_norm                   # [T,K]
        hidden = torch.relu(x[..., None] * w1 + b1)                        # [T,K,32]
        return (hidden @ w2.T + b2).permute(2, 0, 1)                       # [H,T,K]

    def defined(self, qpos, kpos):
        return kpos[None, :] <= qpos[:, None]


class Shaw(Encoding):
    """Shaw, Uszkoreit and Vaswani 2018, "Self-Attention with Relative
    Position Representations", eq. 4 to 5 (key-side embeddings a^K):
      score[b,h,i,j] = q[b,i,h] . a[clip(j - i, -K, K) + K] / sqrt(D),
    a [2K+1, D] shared by every head (as the paper) and, as every encoding
    here, every layer. Init as tensor2tensor's default initializer
    (uniform_unit_scaling, gain 1: variance scaling fan_avg, uniform):
    U(-l, l), l = sqrt(6 / (2K+1 + D)), drawn in float32 (std not used, as
    encodings/shaw.c ignores EncodingConfig.init_std)."""
    name = "shaw"
    hooks = ("score",)
    knob_defaults = {"max_distance": 16.0}

    def K(self):
        return int(self.knobs["max_distance"])

    def param_shape(self):
        return (2 * self.K() + 1, self.D)

    def init_params(self, gen, std):
        rows, D = self.param_shape()
        limit = float(np.float32(math.sqrt(3.0 / (0.5 * (rows + D)))))
        u = torch.rand(rows, D, generator=gen, dtype=torch.float32)
        return ((2 * u - 1) * np.float32(limit)).to(F64)

    def score(self, params, q, k, qpos, kpos):
        K = self.K()
        rel = (kpos[None, :] - qpos[:, None]).clamp(-K, K) + K            # [T,K]
        a = params.reshape(2 * K + 1, self.D)[rel]                        # [T,K,D]
        return torch.einsum("bthd,tkd->bhtk", q, a) / math.sqrt(self.D)


class Cope(Encoding):
    """Golovneva, Wang, Weston and Sukhbaatar 2024, "Contextual Position
    Encoding: Learning to Count What's Important", sec. 3, causal, as
    x-transformers' CoPE (lucidrains/x-transformers, x_transformers.py; gates
    of the scaled logits, as there and in the paper's appendix code):
      g[b,h,i,j] = sigmoid(q_i . k_j / sqrt(D))  for j <= i (0 after the query,
                   as the masked logits there)
      p[b,h,i,j] = min(sum_{t=j..i} g[b,h,i,t], P - 1)
      z[b,h,i,p] = q_i . e[p]                      (the unscaled query)
      score      = (1 - w) z[floor(p)] + w z[ceil(p)], w = p - floor(p)
    e [P, D] shared by every head and layer; P = knob positions (16). The
    authors and x-transformers zero-initialise e; the cases here draw it at
    random (randn * std) so that the term is not 0."""
    name = "cope"
    hooks = ("score",)
    knob_defaults = {"positions": 16.0}

    def P(self):
        return int(self.knobs["positions"])

    def param_shape(self):
        return (self.P(), self.D)

    def defined(self, qpos, kpos):
        return kpos[None, :] <= qpos[:, None]

    def score(self, params, q, k, qpos, kpos):
        P, D = self.P(), self.D
        causal = self.defined(qpos, kpos)                                 # [T,K]
        logits = torch.einsum("bthd,bkhd->bhtk", q, k) / math.sqrt(D)
        gates = torch.sigmoid(logits) * causal                            # 0 after the query
        pos = gates.flip(-1).cumsum(-1).flip(-1).clamp(max=P - 1)          # suffix sums
        z = torch.einsum("bthd,pd->bhtp", q, params.reshape(P, D))
        lo, hi = pos.floor().long(), pos.ceil().long()
        w = pos - lo
        return z.gather(-1, hi) * w + z.gather(-1, lo) * (1 - w)


class NoPE(Encoding):
    """Kazemnejad et al. 2023: no positional information."""
    name = "none"


# ---- the cases ----------------------------------------------------------------
#
# hook case: variant, knobs, dim C, heads H, B, T, pos0, K (default pos0 + T)
#            set ({index: value}: parameters overridden after init_params, as
#            float32; e.g. FIRE's c and multiplier off their initial values)
# model case: name, variant, knobs, tied, scale (embed_scale; "sqrt": sqrt(C)),
#             unscored (targets at t < unscored are not scored)

ENCODINGS = {
    "learned_absolute": (LearnedAbsolute, [
        dict(variant="", knobs="", C=16, H=4, B=2, T=8, pos0=0, max_len=12),
        dict(variant="", knobs="", C=10, H=2, B=1, T=5, pos0=7, max_len=12),
    ], [dict(name="default", variant="", knobs="", tied=1),
        dict(name="scaled_masked", variant="", knobs="", tied=1, scale="sqrt", unscored=3)]),
    "sinusoidal": (Sinusoidal, [
        dict(variant="interleaved", knobs="", C=16, H=4, B=2, T=8, pos0=0),
        dict(variant="interleaved", knobs="", C=10, H=2, B=1, T=5, pos0=1000),
        dict(variant="interleaved", knobs="base=500", C=8, H=2, B=1, T=6, pos0=3),
        dict(variant="concat", knobs="", C=16, H=4, B=2, T=8, pos0=0),
        dict(variant="concat", knobs="", C=10, H=2, B=1, T=5, pos0=1000),
    ], [dict(name="default", variant="", knobs="", tied=1),
        dict(name="scaled", variant="", knobs="", tied=1, scale="sqrt")]),
    "relative_bias": (RelativeBias, [
        dict(variant="causal", knobs="", C=8, H=2, B=1, T=4, pos0=140),
        dict(variant="causal", knobs="buckets=8,max_distance=20", C=12, H=3, B=1, T=24, pos0=0),
        dict(variant="bidirectional", knobs="", C=8, H=2, B=1, T=4, pos0=60, K=200),
        dict(variant="bidirectional", knobs="buckets=12,max_distance=20", C=6, H=2, B=1, T=8,
             pos0=10, K=40),
    ], [dict(name="default", variant="", knobs="buckets=8,max_distance=12", tied=1)]),
    "alibi": (Alibi, [
        dict(variant="causal", knobs="", C=12, H=6, B=1, T=6, pos0=3),
        dict(variant="causal", knobs="", C=16, H=8, B=1, T=6, pos0=3),
        dict(variant="causal", knobs="", C=24, H=12, B=1, T=5, pos0=0),
        dict(variant="symmetric", knobs="", C=16, H=8, B=1, T=4, pos0=2, K=10),
        dict(variant="symmetric", knobs="", C=12, H=6, B=1, T=3, pos0=0, K=5),
    ], [dict(name="default", variant="", knobs="", tied=1)]),
    "rope": (Rope, [
        dict(variant="interleaved", knobs="", C=16, H=2, B=2, T=6, pos0=0),
        dict(variant="interleaved", knobs="", C=12, H=2, B=1, T=4, pos0=500),
        dict(variant="interleaved", knobs="fraction=0.5,base=100", C=24, H=2, B=1, T=5, pos0=2),
        dict(variant="half", knobs="", C=16, H=2, B=2, T=6, pos0=0),
        dict(variant="half", knobs="", C=12, H=2, B=1, T=4, pos0=500),
        dict(variant="half", knobs="fraction=0.5,base=100", C=24, H=2, B=1, T=5, pos0=2),
        # context extension (encoding.h): every method past the trained L = 16,
        # positions near 4L; export_len: the angles `posbench export` gives
        dict(variant="interleaved", knobs="", C=32, H=2, B=1, T=4, pos0=60,
             ext=dict(method="pi", factor=4.0, original=16, export_len=64)),
        dict(variant="half", knobs="", C=32, H=2, B=1, T=4, pos0=60,
             ext=dict(method="ntk", factor=4.0, original=16, export_len=64)),
        # dynamic: the calls' length is pos0 + T = 40, s' = 2.5 * 40 / 16 - 1.5
        dict(variant="interleaved", knobs="", C=32, H=2, B=1, T=4, pos0=36,
             ext=dict(method="dynamic-ntk", factor=2.5, original=16, export_len=48)),
        dict(variant="half", knobs="", C=64, H=2, B=1, T=3, pos0=200,
             ext=dict(method="yarn", factor=8.0, original=64, beta_fast=32.0, beta_slow=1.0,
                      export_len=256)),
        # partial rotation, another base, knobs of yarn and llama3 off their defaults
        dict(variant="interleaved", knobs="fraction=0.5,base=500", C=96, H=2, B=1, T=3, pos0=90,
             ext=dict(method="yarn", factor=3.0, original=32, beta_fast=16.0, beta_slow=2.0,
                      export_len=96)),
        dict(variant="half", knobs="", C=128, H=2, B=1, T=3, pos0=500,
             ext=dict(method="llama3", factor=8.0, original=128, low_freq_factor=1.0,
                      high_freq_factor=4.0, export_len=512)),
        dict(variant="interleaved", knobs="base=500", C=64, H=2, B=1, T=3, pos0=90,
             ext=dict(method="llama3", factor=4.0, original=32, low_freq_factor=2.0,
                      high_freq_factor=8.0, export_len=128)),
    ], [dict(name="default", variant="", knobs="", tied=1)]),
    "sandwich": (Sandwich, [
        dict(variant="", knobs="", C=16, H=2, B=1, T=6, pos0=0),
        dict(variant="", knobs="", C=64, H=8, B=1, T=3, pos0=20),
        dict(variant="", knobs="", C=32, H=4, B=1, T=3, pos0=500),
        dict(variant="", knobs="", C=12, H=3, B=1, T=5, pos0=7, K=20),
        dict(variant="", knobs="", C=24, H=6, B=1, T=3, pos0=300),
    ], [dict(name="default", variant="", knobs="", tied=1)]),
    "kerple": (Kerple, [
        dict(variant="log", knobs="", C=8, H=2, B=1, T=6, pos0=0),
        dict(variant="log", knobs="", C=12, H=4, B=1, T=5, pos0=200, K=210),
        dict(variant="log", knobs="", C=18, H=6, B=1, T=4, pos0=3),
        dict(variant="power", knobs="", C=8, H=2, B=1, T=6, pos0=0),
        dict(variant="power", knobs="", C=12, H=4, B=1, T=5, pos0=200, K=210),
        dict(variant="power", knobs="", C=18, H=6, B=1, T=4, pos0=3),
    ], [dict(name="default", variant="", knobs="", tied=1),
        dict(name="power", variant="power", knobs="", tied=1)]),
    "xpos": (XPos, [
        dict(variant="interleaved", knobs="", C=16, H=2, B=2, T=6, pos0=0),
        dict(variant="interleaved", knobs="", C=12, H=2, B=1, T=4, pos0=3000),
        # the last positions below the bound of B = 128 (4533): scales near 2^-64
        dict(variant="interleaved", knobs="scale_base=128", C=8, H=2, B=1, T=5, pos0=4528),
        # across the bound of B = 4 (142): positions 142.. act as 141
        dict(variant="interleaved", knobs="scale_base=4", C=8, H=2, B=1, T=8, pos0=137),
        dict(variant="half", knobs="", C=16, H=2, B=2, T=6, pos0=0),
        dict(variant="half", knobs="", C=12, H=2, B=1, T=4, pos0=3000),
        dict(variant="half", knobs="scale_base=128", C=24, H=3, B=1, T=5, pos0=100),
    ], [dict(name="default", variant="", knobs="", tied=1),
        dict(name="half_fast_decay", variant="half", knobs="scale_base=4", tied=1)]),
    "none": (NoPE, [
        dict(variant="", knobs="", C=8, H=2, B=1, T=4, pos0=0),
    ], [dict(name="default", variant="", knobs="", tied=1),
        dict(name="untied", variant="", knobs="", tied=0)]),
    "fire": (Fire, [
        # L = max_len 16 above every query (i < L), the authors' c and mult
        dict(variant="", knobs="", C=8, H=2, B=1, T=6, pos0=0, max_len=16),
        # queries 9..13 past L = 0.9 * 8 (i > L), keys after them too
        dict(variant="", knobs="", C=12, H=3, B=1, T=5, pos0=9, K=16, max_len=8,
             set={-2: 0.3, -1: 0.9}),
        # L = 1.3 * 5 from the knob: queries on both sides; negative c and mult (abs)
        dict(variant="", knobs="L=5", C=8, H=2, B=1, T=10, pos0=0, max_len=32,
             set={-2: -0.2, -1: -1.3}),
        # a tie i = L = 3 (torch.maximum splits the gradient half and half)
        dict(variant="", knobs="L=3", C=4, H=1, B=1, T=6, pos0=0, max_len=8),
        # far positions: queries 1000..1003 past L = 1.2 * 512 from the knob
        dict(variant="", knobs="L=512", C=16, H=4, B=1, T=4, pos0=1000, max_len=64,
             set={-2: 0.05, -1: 1.2}),
    ], [dict(name="default", variant="", knobs="", tied=1),
        dict(name="threshold", variant="", knobs="L=3", tied=1)]),
    "shaw": (Shaw, [
        # queries 0..7, all within K = 16: one row per distance
        dict(variant="", knobs="", C=8, H=2, B=2, T=8, pos0=0),
        # queries 40..45 over keys 0..47: distances past K (clipped to -16) and keys
        # after the query (+1, +2: rows K+1, K+2)
        dict(variant="", knobs="", C=12, H=3, B=1, T=6, pos0=40, K=48),
        # K = 3: most keys clipped, on both sides of the query
        dict(variant="", knobs="max_distance=3", C=8, H=2, B=2, T=5, pos0=6, K=16),
    ], [dict(name="default", variant="", knobs="", tied=1),
        dict(name="short", variant="", knobs="max_distance=2", tied=1)]),
    "cope": (Cope, [
        # queries 0..7 over keys 0..7: suffix sums below P - 1 = 15
        dict(variant="", knobs="", C=8, H=2, B=2, T=8, pos0=0),
        # queries 40..45 over keys 0..47: long rows hit the clamp at 15; keys
        # after the query (46, 47) get nothing
        dict(variant="", knobs="", C=12, H=3, B=1, T=6, pos0=40, K=48),
        # P = 4: clamped after a few keys; queries from pos0 = 6
        dict(variant="", knobs="positions=4", C=8, H=2, B=2, T=5, pos0=6, K=12),
    ], [dict(name="default", variant="", knobs="", tied=1),
        dict(name="short", variant="", knobs="positions=3", tied=1)]),
}

# The probe model and trainer of every model case (small: fixtures stay tiny).
MODEL = dict(vocab=20, context=8, layers=2, dim=12, heads=3, batch=2)
TRAIN = dict(steps=10, lr=1e-2, warmup=3, min_lr_ratio=0.1, weight_decay=0.1, beta1=0.9,
             beta2=0.95, eps=1e-8, grad_clip=1.0)


def make_encoding(cls, case, max_len=None):
    enc = cls(case["variant"], case["knobs"], case["C"], case["H"],
              max_len if max_len is not None else case.get("max_len", 0))
    if "ext" in case:
        enc.ext = case["ext"]
    return enc


# ---- hook fixtures --------------------------------------------------------------

def hook_case(grp, cls, case, gen):
    enc = make_encoding(cls, case)
    B, T, pos0, C, H = case["B"], case["T"], case["pos0"], case["C"], case["H"]
    K = case.get("K", pos0 + T)
    pos = torch.arange(pos0, pos0 + T)
    for k, v in (("variant", case["variant"]), ("knobs", case["knobs"]),
                 ("hooks", ",".join(enc.hooks))):
        sattr(grp, k, v)
    for k, v in (("dim", C), ("heads", H), ("max_len", enc.max_len), ("B", B), ("T", T),
                 ("pos0", pos0), ("K", K)):
        grp.attrs[k] = np.int64(v)
    ext = case.get("ext")
    if ext:
        # the extension, and what `posbench export --len N` gives for it
        sattr(grp, "extend", ext["method"])
        for k in ("factor", "beta_fast", "beta_slow", "low_freq_factor", "high_freq_factor"):
            if k in ext:
                grp.attrs[k] = np.float64(ext[k])
        grp.attrs["original"] = np.int64(ext["original"])
        N = ext["export_len"]
        grp.attrs["export_len"] = np.int64(N)
        inv_freq, mscale, ramp = enc.frequencies(N)
        put(grp, "angle", torch.arange(N, dtype=F64)[:, None] * inv_freq[None, :], np.float64)
        put(grp, "mscale", torch.tensor([mscale], dtype=F64), np.float64)
        put(grp, "ramp", ramp, np.float64)
    params = enc.init_params(gen, 0.5)
    for at, v in case.get("set", {}).items():
        params[at] = float(np.float32(v))
    grp.attrs["n_params"] = np.int64(0 if params is None else params.numel())
    if params is not None:
        put(grp, "params", params, np.float32)
        params.requires_grad_(True)
    loss = torch.zeros((), dtype=F64)
    if "embed" in enc.hooks:
        x, dout = randn32(gen, B, T, C), randn32(gen, B, T, C)
        out = x + enc.embed(params, pos)[None]
        loss = loss + (out * dout).sum()
        put(grp, "x", x, np.float32)
        put(grp, "dout", dout, np.float32)
        put(grp, "out", out.detach(), np.float64)
    if "rotate" in enc.hooks:
        q = randn32(gen, B, T, H, C // H).requires_grad_(True)
        k = randn32(gen, B, T, H, C // H).requires_grad_(True)
        dq_out, dk_out = randn32(gen, B, T, H, C // H), randn32(gen, B, T, H, C // H)
        q_out, k_out = enc.rotate_q(params, q, pos), enc.rotate_k(params, k, pos)
        loss = loss + (q_out * dq_out).sum() + (k_out * dk_out).sum()
        for name, t in (("q", q), ("k", k), ("dq_out", dq_out), ("dk_out", dk_out)):
            put(grp, name, t.detach(), np.float32)
        put(grp, "q_out", q_out.detach(), np.float64)
        put(grp, "k_out", k_out.detach(), np.float64)
    if "bias" in enc.hooks:
        kpos = torch.arange(K)
        bias = enc.bias(params, pos, kpos)
        defined = enc.defined(pos, kpos)[None].expand_as(bias)
        dbias = randn32(gen, H, T, K) * defined
        loss = loss + (bias * dbias).sum()
        put(grp, "dbias", dbias, np.float32)
        put(grp, "bias", torch.where(defined, bias.detach(), torch.tensor(math.nan)), np.float64)
    if "score" in enc.hooks:
        D, kpos = C // H, torch.arange(K)
        sq = randn32(gen, B, T, H, D).requires_grad_(True)
        sk = randn32(gen, B, K, H, D).requires_grad_(True)
        score = enc.score(params, sq, sk, pos, kpos)
        defined = enc.defined(pos, kpos)[None, None].expand_as(score)
        dscore = randn32(gen, B, H, T, K) * defined
        loss = loss + (score * dscore).sum()
        put(grp, "score_q", sq.detach(), np.float32)
        put(grp, "score_k", sk.detach(), np.float32)
        put(grp, "dscore", dscore, np.float32)
        put(grp, "score", torch.where(defined, score.detach(), torch.tensor(math.nan)), np.float64)
    wrt = {}
    if params is not None:
        wrt["dparams"] = params
    if "rotate" in enc.hooks:
        wrt["dq"], wrt["dk"] = q, k
    if "score" in enc.hooks:
        wrt["score_dq"], wrt["score_dk"] = sq, sk
    grads = torch.autograd.grad(loss, list(wrt.values()), allow_unused=True) if wrt else []
    for (name, t), g in zip(wrt.items(), grads):
        put(grp, name, g if g is not None else torch.zeros_like(t), np.float64)


def sattr(obj, name, value):
    """A fixed-length string attribute, as posbench's HDF5 reader expects."""
    raw = str(value).encode()
    obj.attrs[name] = np.array(raw, dtype="S%d" % max(1, len(raw)))


def put(grp, name, t, dtype):
    grp.create_dataset(name, data=np.asarray(t.detach().numpy(), dtype=dtype), track_times=False)


# ---- the probe transformer (GPT-2, Radford et al. 2019) -------------------------

TENSORS = ("wte", "encoding", "ln1_weight", "ln1_bias", "qkv_weight", "qkv_bias", "proj_weight",
           "proj_bias", "ln2_weight", "ln2_bias", "fc_weight", "fc_bias", "fcproj_weight",
           "fcproj_bias", "lnf_weight", "lnf_bias", "lm_head")
DECAYED = ("wte", "qkv_weight", "proj_weight", "fc_weight", "fcproj_weight", "lm_head")


def layer_norm(x, w, b, eps=1e-5):
    """Ba, Kiros and Hinton 2016: biased variance, eps inside the root."""
    mean = x.mean(-1, keepdim=True)
    var = ((x - mean) ** 2).mean(-1, keepdim=True)
    return (x - mean) / torch.sqrt(var + eps) * w + b


def gelu_tanh(x):
    """Hendrycks and Gimpel 2016, the tanh approximation GPT-2 uses."""
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x ** 3)))


def model_init(gen, enc, V, C, L, tied):
    """Weights off the symmetric start (LayerNorm gains near 1, nonzero
    biases, attention far from uniform), so every term of the model matters;
    drawn in float32."""
    p = {"wte": randn32(gen, V, C, std=0.3)}
    e = enc.init_params(gen, 0.3)
    if e is not None:
        p["encoding"] = e
    for name, shape, std in (("ln1_weight", (L, C), 0.1), ("ln1_bias", (L, C), 0.1),
                             ("qkv_weight", (L, 3 * C, C), 0.3), ("qkv_bias", (L, 3 * C), 0.1),
                             ("proj_weight", (L, C, C), 0.2), ("proj_bias", (L, C), 0.1),
                             ("ln2_weight", (L, C), 0.1), ("ln2_bias", (L, C), 0.1),
                             ("fc_weight", (L, 4 * C, C), 0.3), ("fc_bias", (L, 4 * C), 0.1),
                             ("fcproj_weight", (L, C, 4 * C), 0.2), ("fcproj_bias", (L, C), 0.1),
                             ("lnf_weight", (C,), 0.1), ("lnf_bias", (C,), 0.1)):
        p[name] = randn32(gen, *shape, std=std)
        if name.endswith("weight") and name.startswith("ln"):
            p[name] = (p[name] + 1.0).float().to(F64)  # still float32-representable
    if not tied:
        p["lm_head"] = randn32(gen, V, C, std=0.3)
    return {k: p[k] for k in TENSORS if k in p}  # the C table's order


def model_forward(p, enc, inputs, targets, scored, H, tied, scale):
    """Mean cross-entropy over the scored targets, per-token losses (NaN where
    not scored) and logits of the probe model."""
    B, T = inputs.shape
    L, C = p["ln1_weight"].shape
    D = C // H
    pos = torch.arange(T)
    x = scale * p["wte"][inputs]
    if "embed" in enc.hooks:
        x = x + enc.embed(p.get("encoding"), pos)[None]
    causal = torch.tril(torch.ones(T, T, dtype=torch.bool))
    bias = enc.bias(p.get("encoding"), pos, pos)[None] if "bias" in enc.hooks else 0.0
    for l in range(L):
        h = layer_norm(x, p["ln1_weight"][l], p["ln1_bias"][l])
        qkv = h @ p["qkv_weight"][l].T + p["qkv_bias"][l]
        q, k, v = (t.reshape(B, T, H, D) for t in qkv.split(C, dim=-1))
        if "rotate" in enc.hooks:
            q, k = enc.rotate_q(p.get("encoding"), q, pos), enc.rotate_k(p.get("encoding"), k, pos)
        score = enc.score(p.get("encoding"), q, k, pos, pos) if "score" in enc.hooks else 0.0
        q, k, v = (t.transpose(1, 2) for t in (q, k, v))           # [B,H,T,D]
        s = q @ k.transpose(-1, -2) / math.sqrt(D) + bias + score
        s = s.masked_fill(~causal, -math.inf)
        y = (torch.softmax(s, dim=-1) @ v).transpose(1, 2).reshape(B, T, C)
        x = x + y @ p["proj_weight"][l].T + p["proj_bias"][l]
        h = layer_norm(x, p["ln2_weight"][l], p["ln2_bias"][l])
        f = gelu_tanh(h @ p["fc_weight"][l].T + p["fc_bias"][l])
        x = x + f @ p["fcproj_weight"][l].T + p["fcproj_bias"][l]
    h = layer_norm(x, p["lnf_weight"], p["lnf_bias"])
    logits = h @ (p["wte"] if tied else p["lm_head"]).T
    logp = torch.log_softmax(logits, dim=-1)
    losses = -logp.gather(-1, targets[..., None])[..., 0]
    return losses[scored].mean(), torch.where(scored, losses, torch.tensor(math.nan)), logits


def lr_at(step, warmup, total, max_lr, min_ratio):
    """llm.c's schedule: linear warmup (step + 1) / warmup, cosine to min."""
    min_lr = max_lr * min_ratio
    if step < warmup:
        return max_lr * (step + 1) / warmup
    if step >= total:
        return min_lr
    r = (step - warmup) / (total - warmup)
    return min_lr + 0.5 * (1.0 + math.cos(math.pi * r)) * (max_lr - min_lr)


def model_case(grp, cls, mcase, gen):
    V, T, L, C, H, B = (MODEL[k] for k in ("vocab", "context", "layers", "dim", "heads", "batch"))
    enc = cls(mcase["variant"], mcase["knobs"], C, H, T)
    tied, unscored = mcase["tied"], mcase.get("unscored", 0)
    # As model_parse_embed_scale: "sqrt" is sqrtf(C), a float.
    scale = float(np.float32(math.sqrt(C))) if mcase.get("scale") == "sqrt" else 1.0
    for k, v in (("variant", mcase["variant"]), ("knobs", mcase["knobs"])):
        sattr(grp, k, v)
    for k, v in list(MODEL.items()) + [("tied", tied), ("steps", TRAIN["steps"]),
                                        ("warmup", TRAIN["warmup"]),
                                        ("unscored_prefix", unscored)]:
        grp.attrs[k] = np.int64(v)
    grp.attrs["embed_scale"] = np.float64(scale)
    for k in ("lr", "min_lr_ratio", "weight_decay", "beta1", "beta2", "eps", "grad_clip"):
        grp.attrs[k] = np.float64(TRAIN[k])
    ids = torch.randint(0, V, (B * T + 1,), generator=gen)
    grp.create_dataset("ids", data=ids.numpy().astype(np.int32), track_times=False)
    inputs = torch.stack([ids[b * T: b * T + T] for b in range(B)])
    targets = torch.stack([ids[b * T + 1: b * T + T + 1] for b in range(B)])
    scored = (torch.arange(T) >= unscored)[None].expand(B, T)
    p = model_init(gen, enc, V, C, L, tied)
    pg, gg = grp.create_group("params"), grp.create_group("grads")
    for name, t in p.items():
        put(pg, name, t, np.float32)
        t.requires_grad_(True)
    loss, losses, logits = model_forward(p, enc, inputs, targets, scored, H, tied, scale)
    grads = torch.autograd.grad(loss, list(p.values()))
    put(grp, "logits", logits, np.float64)
    put(grp, "losses", losses, np.float64)
    put(grp, "loss", loss.reshape(1), np.float64)
    for name, g in zip(p, grads):
        put(gg, name, g, np.float64)

    # Ten steps as harness/train/train.c: forward, backward, clip, schedule, AdamW.
    params = list(p.values())
    decay = [t for n, t in p.items() if n in DECAYED]
    no_decay = [t for n, t in p.items() if n not in DECAYED]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": TRAIN["weight_decay"]},
                             {"params": no_decay, "weight_decay": 0.0}],
                            lr=TRAIN["lr"], betas=(TRAIN["beta1"], TRAIN["beta2"]),
                            eps=TRAIN["eps"], foreach=False)
    history, norms = [], []
    for step in range(TRAIN["steps"]):
        opt.zero_grad(set_to_none=False)
        loss, _, _ = model_forward(p, enc, inputs, targets, scored, H, tied, scale)
        loss.backward()
        history.append(loss.item())
        norm = math.sqrt(sum(float((t.grad ** 2).sum()) for t in params))
        norms.append(norm)
        if norm > TRAIN["grad_clip"]:
            for t in params:
                t.grad.mul_(TRAIN["grad_clip"] / norm)
        lr = lr_at(step, TRAIN["warmup"], TRAIN["steps"], TRAIN["lr"], TRAIN["min_lr_ratio"])
        for g in opt.param_groups:
            g["lr"] = lr
        opt.step()
        if "encoding" in p:
            with torch.no_grad():
                enc.project(p["encoding"])
    put(grp, "train_losses", torch.tensor(history), np.float64)
    put(grp, "grad_norms", torch.tensor(norms), np.float64)  # for the reader: clipping active?


# ---- files ------------------------------------------------------------------------

def write_all(outdir, only=None):
    os.makedirs(outdir, exist_ok=True)
    written = []
    for name, (cls, cases, models) in ENCODINGS.items():
        if only and name not in only:
            continue
        path = os.path.join(outdir, name + ".h5")
        tmp = path + ".tmp"
        # One generator per encoding: adding a case to one file never changes another.
        gen = torch.Generator().manual_seed(sum(map(ord, name)) * 1000 + 7)
        with h5py.File(tmp, "w", libver="earliest") as f:
            for k, v in (("kind", "posbench-reference"), ("encoding", name),
                         ("script_version", SCRIPT_VERSION), ("torch_version", torch.__version__)):
                sattr(f, k, v)
            hooks = f.create_group("hooks")
            for i, case in enumerate(cases):
                label = "%02d_%s_C%d_H%d_T%d_p%d" % (i, case["variant"] or "default", case["C"],
                                                      case["H"], case["T"], case["pos0"])
                hook_case(hooks.create_group(label), cls, case, gen)
            mg = f.create_group("model")
            for mcase in models:
                model_case(mg.create_group(mcase["name"]), cls, mcase, gen)
        os.replace(tmp, path)
        written.append(path)
    return written


def walk(f):
    """{path: (attrs, data or None)} of every group and dataset in a file."""
    out = {}

    def visit(name, obj):
        data = obj[()] if isinstance(obj, h5py.Dataset) else None
        out[name] = (dict(obj.attrs), data)
    out["/"] = (dict(f.attrs), None)
    f.visititems(visit)
    return out


def same_value(a, b, rtol):
    a, b = np.asarray(a), np.asarray(b)
    if a.shape != b.shape or a.dtype.kind != b.dtype.kind:
        return False
    if a.dtype.kind != "f":
        return bool(np.all(a == b))
    if not np.array_equal(np.isnan(a), np.isnan(b)):
        return False
    fin = ~np.isnan(a)
    scale = max(float(np.max(np.abs(b[fin]), initial=0.0)), 1e-300)
    return bool(np.all(np.abs(a[fin] - b[fin]) <= rtol * scale))


def check(committed_dir):
    """Regenerates into a temporary directory and compares by value: exact
    for integers and the float32 inputs, 1e-10 of each tensor's largest
    element for float64 results (another torch may sum in another order).
    torch_version may differ; it is reported, not compared."""
    problems = []
    with tempfile.TemporaryDirectory(prefix="posbench-ref-") as tmp:
        for path in write_all(tmp):
            base = os.path.basename(path)
            old_path = os.path.join(committed_dir, base)
            if not os.path.exists(old_path):
                problems.append(f"{base}: not committed (run {sys.argv[0]} and commit it)")
                continue
            with h5py.File(path, "r") as fn, h5py.File(old_path, "r") as fo:
                new, old = walk(fn), walk(fo)
                if fo.attrs.get("torch_version") != fn.attrs.get("torch_version"):
                    print(f"note: {base} was made with torch {fo.attrs.get('torch_version')}, "
                          f"this is torch {fn.attrs.get('torch_version')}")
            for key in sorted(set(new) | set(old)):
                if key not in new or key not in old:
                    problems.append(f"{base}:{key}: only in the "
                                    f"{'committed' if key in old else 'regenerated'} file")
                    continue
                (na, nd), (oa, od) = new[key], old[key]
                for k in sorted(set(na) | set(oa)):
                    if k == "torch_version":
                        continue
                    if k not in na or k not in oa or not same_value(na[k], oa[k], 0):
                        problems.append(f"{base}:{key}: attribute {k}: committed "
                                        f"{oa.get(k)!r}, regenerated {na.get(k)!r}")
                if (nd is None) != (od is None) or (nd is not None and not same_value(
                        nd, od, 0 if np.asarray(od).dtype != np.float64 else 1e-10)):
                    problems.append(f"{base}:{key}: values differ from the committed fixture")
        committed = {f for f in os.listdir(committed_dir) if f.endswith(".h5")}
        for extra in sorted(committed - {n + ".h5" for n in ENCODINGS}):
            problems.append(f"{extra}: committed but no longer generated")
    for p in problems:
        print("drift: " + p)
    print(f"reference fixtures: {len(ENCODINGS)} files regenerated with torch {torch.__version__}, "
          f"{len(problems)} differences from {committed_dir}")
    return 1 if problems else 0


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("-o", "--out", default=DEFAULT_OUT, help="output directory (default: fixtures/)")
    ap.add_argument("--check", action="store_true",
                    help="regenerate into a temporary directory and compare with --out")
    ap.add_argument("--only", action="append", help="only this encoding (repeatable)")
    a = ap.parse_args(argv)
    if a.check:
        return check(a.out)
    for path in write_all(a.out, a.only):
        print(f"wrote {os.path.relpath(path)} ({os.path.getsize(path)} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
