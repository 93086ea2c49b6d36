#!/usr/bin/python3
"""probe_torch.py: the probe transformer of posbench, written in PyTorch, to
time its training against `posbench train` (tools/compare-torch runs both).

The same model as harness/model/model.h, from the papers' formulas rather
than from posbench's code:

  x0     = wte[ids] (+ the encoding's position vector)          wte [V,C]
  per layer (pre-LayerNorm, GPT-2; Radford et al. 2019):
    x    = x + proj(attn(qkv(ln1(x))))     causal, H heads, D = C/H
    x    = x + fcproj(gelu_tanh(fc(ln2(x))))  fc: C -> 4C
  logits = lnf(x) @ wte^T  (tied head),  loss = mean cross-entropy
  attn:  s[h,i,j] = q_i.k_j / sqrt(D) + bias[h,i,j] (j <= i), softmax, @ v

Encodings (posbench's defaults, encodings/*.c):
  learned_absolute  x += P[t], P [T,C] trainable, N(0, 0.02)      (GPT-2)
  sinusoidal        x += PE[t], interleaved: PE[t,2i] = sin(t w_i),
                    PE[t,2i+1] = cos(t w_i), w_i = 10000^(-2i/C)   (Vaswani 2017)
  relative_bias     bias[h,i,j] = W[bucket(j - i), h], W [32,H] trainable,
                    T5's causal buckets, 32 buckets, max_distance 128 (Raffel
                    2020; Hugging Face's _relative_position_bucket), shared by
                    all layers as in T5
  alibi             bias[h,i,j] = -m_h (i - j), m_h = 2^(-8(h+1)/H) (Press 2022)
  rope              q, k of each head turned pairwise (2i, 2i+1) by
                    t 10000^(-2i/D) (RoFormer, Su 2021; interleaved)
  sandwich          bias[h,i,j] = (sum_{k=1..D/2} cos((i-j) 10000^(-2k/D))
                    - D/2) / (8h/H), h = 1..H (Chi 2023; NeMo's compression)
  kerple            bias[h,i,j] = -r1_h log(1 + r2_h (i-j)), r [2,H]
                    trainable, clamped >= 0.01 after each step (Chi 2022, log)
  xpos              rope, with pair i scaled by zeta_i^(t/512) on queries and
                    zeta_i^(-t/512) on keys, zeta_i = (2i + 0.4D)/(1.4D)
                    (Sun 2022; torchscale's XPOS)
  fire              bias[h,i,j] = MLP_h(psi(i-j) / (psi(max(i, |mult| T)) +
                    1e-6)), psi(d) = log(|c d| + 1), MLP 1 -> 32 -> H, ReLU
                    (Li 2023; the paper's appendix code)
  shaw              score[b,h,i,j] = q_i . a[clip(j-i, -16, 16) + 16] / sqrt(D),
                    a [33, D] trainable (Shaw 2018, key side)
  cope              g = sigmoid(q_i . k_j / sqrt(D)) (j <= i), p_ij = min(sum_
                    {t=j..i} g_it, 15), score = q_i . e[p] interpolated between
                    floor and ceil, e [16, D] (Golovneva 2024; as x-transformers)
  none              nothing (NoPE)

Every encoding's parameters are shared by all layers, as in posbench; biases
that do not read the queries are built once per forward (or once, when they
have no parameters) and added to every layer's logits.

Training as harness/train/train.h's defaults: AdamW (lr 1e-3, betas 0.9 0.95, eps
1e-8, weight decay 0.1 on matrices only: wte, qkv, proj, fc, fcproj), linear
warmup of min(100, steps/10) steps then cosine decay to 0.1 lr, global
gradient clipping at norm 1.0; init as GPT-2 (matrices N(0, 0.02), residual
projections N(0, 0.02/sqrt(2L)), biases 0, LayerNorm 1/0, eps 1e-5).

Data as posbench: the corpus as bytes (V = 256), the last 10% held out, the
training windows (stride = context) shuffled by the same PCG32 Fisher-Yates
permutation as datasets/loader.c (seed, stream 0x5eed), so both sides see
the same batches in the same order. The parameters are drawn from torch's
RNG, not posbench's: the comparison is of speed, not bits.

PyTorch at its best (DESIGN.md): torch.set_num_threads(threads) (default: the
CPUs this process may run on, as posbench's OpenMP), OPENBLAS_NUM_THREADS =
threads set before torch is imported, and, unless already set,
GLIBC_TUNABLES=glibc.malloc.hugetlb=1 and OMP_WAIT_POLICY=passive, which
glibc and libgomp read only at start-up: the script re-executes itself once
with them (--no-reexec to keep the environment as it is). Beyond
DESIGN.md's list, denormal floats are flushed to zero (torch.set_flush_denormal;
--denormals keep to turn it off): the softmax of ALiBi's far keys lands in
them, and flushing made torch's ALiBi at T512 some 40% faster here (posbench
keeps clear of them in its own exp).

Timing as posbench's trainer: wall time of each whole step (fetch the batch,
forward, backward, clipping, optimizer), summed; printing and setup are
outside. Reported for the whole run and for the steps after the first
--skip steps (steady state; the first steps pay for allocator warm-up).
Peak RSS: the process's VmHWM at the end (as posbench's peak RSS), which
includes the Python interpreter and torch's libraries.

Output: progress on stderr (--log-every), then on stdout a summary and one
line `result key=value ...` for tools/compare-torch.
"""
import argparse
import math
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ENCODINGS = ("learned_absolute", "sinusoidal", "relative_bias", "alibi", "rope", "sandwich",
             "kerple", "xpos", "fire", "shaw", "cope", "none")


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--encoding", required=True, choices=ENCODINGS)
    p.add_argument("--data", default="jargon",
                   help="jargon | devil | FILE (a .dz/.gz file is inflated; default jargon)")
    p.add_argument("--context", type=int, default=128, help="T (default 128)")
    p.add_argument("--layers", type=int, default=2)
    p.add_argument("--dim", type=int, default=128)
    p.add_argument("--heads", type=int, default=4)
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--steps", type=int, default=1000)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=0,
                   help="torch and OpenBLAS threads (default: usable CPUs, as posbench)")
    p.add_argument("--skip", type=int, default=5,
                   help="first steps left out of the steady-state tokens/s (default 5)")
    p.add_argument("--log-every", type=int, default=0, help="progress line every N steps")
    p.add_argument("--denormals", choices=("flush", "keep"), default="flush",
                   help="torch.set_flush_denormal (default flush)")
    p.add_argument("--no-reexec", action="store_true",
                   help="do not add GLIBC_TUNABLES / OMP_WAIT_POLICY by re-executing")
    a = p.parse_args(argv)
    if a.dim % a.heads:
        p.error(f"--heads {a.heads} must divide --dim {a.dim}")
    if a.steps < 1 or a.batch < 1 or a.context < 1:
        p.error("--steps, --batch and --context must be positive")
    return a


def best_environment(args):
    """Sets torch's environment before it is imported; re-executes if glibc or
    libgomp would otherwise miss a setting they read at start-up."""
    threads = args.threads or len(os.sched_getaffinity(0))
    os.environ.setdefault("OPENBLAS_NUM_THREADS", str(threads))
    missing = [(k, v) for k, v in (("GLIBC_TUNABLES", "glibc.malloc.hugetlb=1"),
                                   ("OMP_WAIT_POLICY", "passive")) if k not in os.environ]
    if missing and not args.no_reexec and not os.environ.get("PROBE_TORCH_REEXEC"):
        for k, v in missing:
            os.environ[k] = v
        os.environ["PROBE_TORCH_REEXEC"] = "1"
        sys.stdout.flush()
        sys.stderr.flush()
        os.execv(sys.executable, [sys.executable, os.path.abspath(__file__)] + sys.argv[1:])
    return threads


ARGS = parse_args(sys.argv[1:])
THREADS = best_environment(ARGS)

import gzip  # noqa: E402
import time  # noqa: E402

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

torch.set_num_threads(THREADS)
torch.set_flush_denormal(ARGS.denormals == "flush")


def status_kib(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


# ---- data: as datasets/corpus.c, token_stream.c, loader.c, train.c ----------

def load_bytes(name):
    path = name
    if name in ("jargon", "devil"):
        path = os.path.join(ROOT, "datasets", "cache", "corpora", name + ".dict.dz")
        if not os.path.exists(path):
            sys.exit(f"probe_torch: {path} is missing; run tools/setup")
    opener = gzip.open if path.endswith((".dz", ".gz")) else open
    with opener(path, "rb") as f:  # a dictzip .dz is a gzip file
        return f.read()


M64 = (1 << 64) - 1


class Pcg32:
    """core/rng.c: PCG32 XSH-RR, seeded as pcg32_srandom_r(seed, stream)."""

    def __init__(self, seed, stream):
        self.state, self.inc = 0, ((stream << 1) | 1) & M64
        self.u32()
        self.state = (self.state + seed) & M64
        self.u32()

    def u32(self):
        old = self.state
        self.state = (old * 6364136223846793005 + self.inc) & M64
        x = (((old >> 18) ^ old) >> 27) & 0xFFFFFFFF
        rot = old >> 59
        return ((x >> rot) | (x << ((-rot) & 31))) & 0xFFFFFFFF

    def below(self, bound):
        threshold = ((1 << 32) - bound) % bound
        while True:
            x = self.u32()
            if x >= threshold:
                return x % bound


class Loader:
    """datasets/loader.c: windows w * stride < n - T, shuffled each epoch by
    Fisher-Yates from PCG32 (seed, 0x5eed); drop_last."""

    def __init__(self, ids, batch, context, stride, seed):
        self.ids, self.B, self.T, self.stride = ids, batch, context, stride
        n = ids.numel()
        if n <= context:
            sys.exit(f"probe_torch: {n} training tokens are too few for context {context}")
        self.n_windows = (n - context + stride - 1) // stride
        if self.n_windows < batch:
            sys.exit(f"probe_torch: {self.n_windows} windows are fewer than one batch")
        self.rng = Pcg32(seed, 0x5EED)
        self.offsets = torch.arange(context + 1)
        self.epoch = 0
        self._shuffle()

    def _shuffle(self):
        order = list(range(self.n_windows))
        for i in range(self.n_windows, 1, -1):
            j = self.rng.below(i)
            order[i - 1], order[j] = order[j], order[i - 1]
        self.order = torch.tensor(order, dtype=torch.long)
        self.next = 0

    def batch(self):
        if self.n_windows - self.next < self.B:
            self._shuffle()
            self.epoch += 1
        w = self.order[self.next:self.next + self.B]
        self.next += self.B
        chunk = self.ids[(w * self.stride)[:, None] + self.offsets]  # [B, T+1]
        return chunk[:, :-1], chunk[:, 1:]


# ---- the model ----------------------------------------------------------------

def t5_causal_buckets(T, num_buckets=32, max_distance=128):
    """Hugging Face T5 _relative_position_bucket(bidirectional=False) of
    rp = j - i, as [T(query), T(key)] long."""
    ctx = torch.arange(T)[:, None]
    mem = torch.arange(T)[None, :]
    rp = mem - ctx
    n = -torch.min(rp, torch.zeros_like(rp))
    max_exact = num_buckets // 2
    is_small = n < max_exact
    large = max_exact + (torch.log(n.float() / max_exact) / math.log(max_distance / max_exact)
                         * (num_buckets - max_exact)).to(torch.long)
    large = torch.min(large, torch.full_like(large, num_buckets - 1))
    return torch.where(is_small, n, large)


def alibi_slopes(H):
    def pow2(p):
        start = 2 ** (-2 ** -(math.log2(p) - 3))
        return [start * start ** k for k in range(p)]
    c = 2 ** math.floor(math.log2(H))
    return pow2(c) + pow2(2 * c)[0::2][:H - c]


class Probe(torch.nn.Module):
    def __init__(self, enc, V, T, C, H, L, std=0.02):
        super().__init__()
        self.enc, self.V, self.C, self.H, self.D = enc, V, C, H, C // H
        P = torch.nn.Parameter
        normal = lambda *shape, s=std: P(torch.randn(*shape) * s)  # noqa: E731
        proj_std = std / math.sqrt(2 * L)
        self.wte = normal(V, C)
        self.blocks = torch.nn.ModuleList()
        for _ in range(L):
            b = torch.nn.Module()
            b.ln1_w, b.ln1_b = P(torch.ones(C)), P(torch.zeros(C))
            b.qkv_w, b.qkv_b = normal(3 * C, C), P(torch.zeros(3 * C))
            b.proj_w, b.proj_b = normal(C, C, s=proj_std), P(torch.zeros(C))
            b.ln2_w, b.ln2_b = P(torch.ones(C)), P(torch.zeros(C))
            b.fc_w, b.fc_b = normal(4 * C, C), P(torch.zeros(4 * C))
            b.fcproj_w, b.fcproj_b = normal(C, 4 * C, s=proj_std), P(torch.zeros(C))
            self.blocks.append(b)
        self.lnf_w, self.lnf_b = P(torch.ones(C)), P(torch.zeros(C))

        i = torch.arange(T)[:, None]
        j = torch.arange(T)[None, :]
        mask = torch.zeros(T, T).masked_fill(j > i, float("-inf"))  # [T,T]
        self.register_buffer("mask", mask)
        if enc == "learned_absolute":
            self.wpe = normal(T, C)
        elif enc == "sinusoidal":
            w = torch.pow(10000.0, -2.0 * torch.arange(C // 2, dtype=torch.float64) / C)
            ang = torch.arange(T, dtype=torch.float64)[:, None] * w[None, :]
            pe = torch.stack((torch.sin(ang), torch.cos(ang)), -1).reshape(T, C)
            self.register_buffer("pe", pe.float())
        elif enc == "relative_bias":
            self.rel = normal(32, H)  # nn.Embedding(num_buckets, n_heads) layout
            self.register_buffer("buckets", t5_causal_buckets(T))
        elif enc == "alibi":
            m = torch.tensor(alibi_slopes(H), dtype=torch.float32)
            bias = -m[:, None, None] * (i - j).float()[None]  # [H,T,T]
            self.register_buffer("bias_mask", bias + mask)
        elif enc in ("rope", "xpos"):
            D = self.D
            two_i = 2.0 * torch.arange(D // 2, dtype=torch.float64)
            ang = torch.arange(T, dtype=torch.float64)[:, None] * torch.pow(10000.0, -two_i / D)
            cos, sin = torch.cos(ang), torch.sin(ang)  # [T, D/2]
            if enc == "rope":
                self.register_buffer("cos", cos.float())
                self.register_buffer("sin", sin.float())
            else:  # queries scaled by zeta^(t/512), keys by its inverse
                zeta = (two_i + 0.4 * D) / (1.4 * D)
                up = zeta[None, :] ** (torch.arange(T, dtype=torch.float64)[:, None] / 512.0)
                self.register_buffer("cos_q", (cos * up).float())
                self.register_buffer("sin_q", (sin * up).float())
                self.register_buffer("cos_k", (cos / up).float())
                self.register_buffer("sin_k", (sin / up).float())
        elif enc == "sandwich":
            k = torch.arange(1, self.D // 2 + 1, dtype=torch.float64)
            rel = (i - j).double()[..., None] * torch.pow(10000.0, -2.0 * k / self.D)
            s = torch.cos(rel).sum(-1) - self.D / 2  # [T,T]
            compression = 8.0 * torch.arange(1, H + 1, dtype=torch.float64) / H
            self.register_buffer("bias_mask", (s[None] / compression[:, None, None]).float() + mask)
        elif enc == "kerple":  # the authors' init: r1 = 2 U(0,1), r2 = U(0,1)
            self.kerple_r = P(torch.stack((2 * torch.rand(H), torch.rand(H))).clamp(min=0.01))
            self.register_buffer("dist", (i - j).clamp(min=0).float())
        elif enc == "fire":  # nn.Linear's init, c = 0.1, mult = 1, as the paper's code
            W = 32
            uniform = lambda *shape, b: P((2 * torch.rand(*shape) - 1) * b)  # noqa: E731
            self.fire_w1, self.fire_b1 = uniform(W, b=1.0), uniform(W, b=1.0)
            self.fire_w2, self.fire_b2 = uniform(H, W, b=W ** -0.5), uniform(H, b=W ** -0.5)
            self.fire_c, self.fire_mult = P(torch.tensor(0.1)), P(torch.tensor(1.0))
            self.register_buffer("dist", (i - j).abs().float())
            self.register_buffer("qpos", torch.arange(T).float())
        elif enc == "shaw":  # tensor2tensor's uniform_unit_scaling
            K = 16
            limit = math.sqrt(6.0 / (2 * K + 1 + self.D))
            self.shaw_a = P((2 * torch.rand(2 * K + 1, self.D) - 1) * limit)
            self.register_buffer("shaw_idx", ((j - i).clamp(-K, K) + K).expand(T, T).contiguous())
        elif enc == "cope":  # zero-initialised, as the authors and x-transformers
            self.cope_e = P(torch.zeros(16, self.D))
            self.register_buffer("future", (j > i).expand(T, T).contiguous())

    def decay_groups(self):
        decay = {"wte", "qkv_w", "proj_w", "fc_w", "fcproj_w"}
        yes, no = [], []
        for name, p in self.named_parameters():
            (yes if name.split(".")[-1] in decay else no).append(p)
        return yes, no

    def project(self):
        """Constraints after each optimizer step (KERPLE's r >= 0.01)."""
        if self.enc == "kerple":
            with torch.no_grad():
                self.kerple_r.clamp_(min=0.01)

    def rotate(self, x, c, s):
        """Interleaved rotation of x [..., T, D], pairs (2i, 2i+1), by the
        tables c, s [T, D/2] (RoPE's cos/sin; xPos's scaled ones)."""
        x2 = x.unflatten(-1, (self.D // 2, 2))
        a, b = x2[..., 0], x2[..., 1]
        return torch.stack((a * c - b * s, a * s + b * c), -1).flatten(-2)

    def fire_bias(self, T):
        """FIRE's [H,T,T]: the MLP of the normalised log distance."""
        c = self.fire_c
        threshold = torch.abs(self.fire_mult * T)  # L = |mult| L0, L0 the context
        norm = torch.log(torch.abs(c * torch.maximum(self.qpos[:T], threshold)) + 1) + 1e-6
        x = torch.log(torch.abs(c * self.dist[:T, :T]) + 1) / norm[:, None]  # [T,T]
        hidden = torch.relu(x[..., None] * self.fire_w1 + self.fire_b1)  # [T,T,32]
        return F.linear(hidden, self.fire_w2, self.fire_b2).permute(2, 0, 1)

    def cope_score(self, q, logits, T):
        """CoPE's term from the scaled logits [B,H,T,T] and the queries."""
        gates = torch.sigmoid(logits).masked_fill(self.future[:T, :T], 0.0)
        pos = gates.flip(-1).cumsum(-1).flip(-1).clamp(max=self.cope_e.shape[0] - 1)
        z = torch.matmul(q, self.cope_e.t())  # [B,H,T,P]
        lo, hi = pos.floor(), pos.ceil().long()
        w = pos - lo
        return z.gather(-1, hi) * w + z.gather(-1, lo.long()) * (1 - w)

    def forward(self, idx, targets):
        B, T = idx.shape
        C, H, D = self.C, self.H, self.D
        x = F.embedding(idx, self.wte)
        if self.enc == "learned_absolute":
            x = x + self.wpe[:T]
        elif self.enc == "sinusoidal":
            x = x + self.pe[:T]
        mask = self.mask[:T, :T]
        if self.enc == "relative_bias":  # once per forward, shared by the layers (T5)
            bias = F.embedding(self.buckets[:T, :T], self.rel).permute(2, 0, 1) + mask
        elif self.enc == "kerple":
            r1, r2 = self.kerple_r[0][:, None, None], self.kerple_r[1][:, None, None]
            bias = -r1 * torch.log1p(r2 * self.dist[:T, :T]) + mask
        elif self.enc == "fire":
            bias = self.fire_bias(T) + mask
        elif self.enc in ("alibi", "sandwich"):
            bias = self.bias_mask[:, :T, :T]
        else:
            bias = mask
        scale = 1.0 / math.sqrt(D)
        for b in self.blocks:
            h = F.layer_norm(x, (C,), b.ln1_w, b.ln1_b, 1e-5)
            qkv = F.linear(h, b.qkv_w, b.qkv_b).view(B, T, 3, H, D).permute(2, 0, 3, 1, 4)
            qk, v = qkv[:2], qkv[2]  # [2,B,H,T,D], [B,H,T,D]
            q, k = qk[0], qk[1]
            if self.enc == "rope":
                qk = self.rotate(qk, self.cos[:T], self.sin[:T])
                q, k = qk[0], qk[1]
            elif self.enc == "xpos":
                q = self.rotate(q, self.cos_q[:T], self.sin_q[:T])
                k = self.rotate(k, self.cos_k[:T], self.sin_k[:T])
            qs = q * scale
            att = torch.matmul(qs, k.transpose(-2, -1))  # [B,H,T,T]
            if self.enc == "shaw":
                rel = torch.matmul(qs, self.shaw_a.t())  # [B,H,T,2K+1]
                att = att + rel.gather(-1, self.shaw_idx[:T, :T].expand(B, H, T, T))
            elif self.enc == "cope":
                att = att + self.cope_score(q, att, T)
            att = att.add_(bias)
            att = torch.softmax(att, dim=-1)
            y = torch.matmul(att, v).transpose(1, 2).reshape(B, T, C)
            x = x + F.linear(y, b.proj_w, b.proj_b)
            h = F.layer_norm(x, (C,), b.ln2_w, b.ln2_b, 1e-5)
            h = F.gelu(F.linear(h, b.fc_w, b.fc_b), approximate="tanh")
            x = x + F.linear(h, b.fcproj_w, b.fcproj_b)
        x = F.layer_norm(x, (C,), self.lnf_w, self.lnf_b, 1e-5)
        logits = F.linear(x, self.wte)  # tied head
        return F.cross_entropy(logits.view(B * T, self.V), targets.reshape(B * T))


def lr_at(step, warmup, total, max_lr, min_ratio=0.1):
    """harness/model/adamw.c adamw_lr_cosine (step counts from 0)."""
    min_lr = max_lr * min_ratio
    if step < warmup:
        return max_lr * (step + 1) / warmup
    if step >= total:
        return min_lr
    r = (step - warmup) / (total - warmup)
    return min_lr + 0.5 * (1.0 + math.cos(math.pi * r)) * (max_lr - min_lr)


def main(a):
    V, T, B = 256, a.context, a.batch
    raw = load_bytes(a.data)
    n = len(raw)
    n_val = int(n * 0.1)
    n_train = n - n_val
    ids = torch.frombuffer(bytearray(raw[:n_train]), dtype=torch.uint8).long()
    loader = Loader(ids, B, T, T, a.seed)
    rss_base = status_kib("VmRSS") / 1024  # the interpreter, torch and the data
    torch.manual_seed(a.seed)
    model = Probe(a.encoding, V, T, a.dim, a.heads, a.layers)
    decay, no_decay = model.decay_groups()
    params = decay + no_decay
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1},
                             {"params": no_decay, "weight_decay": 0.0}],
                            lr=a.lr, betas=(0.9, 0.95), eps=1e-8, foreach=True)
    warmup = min(100, a.steps // 10)
    n_params = sum(p.numel() for p in params)
    print(f"torch {a.encoding}: {a.layers} layers, dim {a.dim}, {a.heads} heads, context {T}, "
          f"vocab {V}, {n_params} parameters; batch {B}, {a.steps} steps; {n_train} training and "
          f"{n_val} validation tokens; torch {torch.__version__}, {torch.get_num_threads()} "
          f"threads, OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS')} "
          f"GLIBC_TUNABLES={os.environ.get('GLIBC_TUNABLES')} "
          f"OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY')}", file=sys.stderr)

    losses, times = [], []
    for step in range(a.steps):
        t0 = time.perf_counter()
        x, y = loader.batch()
        loss = model(x, y)
        loss.backward()
        norm = torch.nn.utils.clip_grad_norm_(params, 1.0)
        lr = lr_at(step, warmup, a.steps, a.lr)
        for g in opt.param_groups:
            g["lr"] = lr
        opt.step()
        model.project()
        opt.zero_grad(set_to_none=True)
        lv = loss.item()
        times.append(time.perf_counter() - t0)
        losses.append(lv)
        if not math.isfinite(lv):
            sys.exit(f"probe_torch: the loss is not finite at step {step + 1}")
        if a.log_every and ((step + 1) % a.log_every == 0 or step + 1 == a.steps):
            tps = (step + 1) * B * T / sum(times)
            print(f"step {step + 1}/{a.steps} loss {lv:.4f} tokens/s {tps:.0f} lr {lr:.3e} "
                  f"grad_norm {float(norm):.3f}", file=sys.stderr)

    total = sum(times)
    skip = min(a.skip, a.steps - 1)
    steady_s = sum(times[skip:])
    tps = a.steps * B * T / total
    steady = (a.steps - skip) * B * T / steady_s
    n_tail = a.steps // 10 if a.steps >= 10 else a.steps
    tail = sum(losses[-n_tail:]) / n_tail
    peak = status_kib("VmHWM") / 1024
    print(f"encoding {a.encoding}  steps {a.steps}  train loss {losses[-1]:.4f} (last step; mean "
          f"of last {n_tail}: {tail:.4f}); first step {losses[0]:.4f} (ln V = {math.log(V):.4f})")
    print(f"tokens/s {tps:.0f}  ({a.steps} steps x {B} x {T} tokens in {total:.2f} s); "
          f"steps {skip + 1}..{a.steps}: {steady:.0f} tokens/s; peak RSS {peak:.1f} MiB "
          f"({rss_base:.1f} MiB before the model)")
    print(f"result encoding={a.encoding} context={T} steps={a.steps} skip={skip} "
          f"tokens_per_s={tps:.1f} steady_tokens_per_s={steady:.1f} peak_rss_mib={peak:.1f} "
          f"base_rss_mib={rss_base:.1f} loss_first={losses[0]:.4f} loss_tail={tail:.4f} "
          f"n_train={n_train} n_val={n_val} threads={torch.get_num_threads()}")


if __name__ == "__main__":
    main(ARGS)
