#!/usr/bin/python3
"""Independent PyTorch reference of the Hugging Face Llama forward/backward, for golden files.

  /usr/bin/python3 bench/torch_reference.py --ckpt DIR --out FILE.safetensors [--batch 2] [--seq 12] [--seed 0]
  /usr/bin/python3 bench/torch_reference.py --ckpt DIR --text-ids "1,2,3" [--out FILE.safetensors]

DIR holds config.json (HF LlamaConfig field names) and model.safetensors (HF tensor names).

Random mode: a torch.Generator seeded with --seed draws, in this order,
  input_ids = torch.randint(0, V, (B, T+1))   the model reads ids[:, :T], targets are ids[:, 1:]
  weights   = torch.randn(B, T)
then  logprobs[b,t] = log_softmax(logits[b,t])[ids[b,t+1]],  loss = -(weights * logprobs).sum()
and the file holds input_ids (I32), weights, logits, logprobs, loss ([1]) and grad.<name> for every
parameter tensor of the checkpoint (F32). A tied checkpoint has only grad.model.embed_tokens.weight,
the sum of its use as embedding and as output projection.

--text-ids mode: one sequence (B=1, T = len-1), weights are all ones (loss = summed NLL); prints
{"logprobs": [...]} (the T next-token log-probs) as JSON on stdout; --out is optional there.

Only torch and the standard library; the model below is written from the published Llama math.
"""
import argparse
import json
import math
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import safetensors_io as st  # noqa: E402


class ConfigError(ValueError):
    pass


# Defaults are transformers' LlamaConfig defaults (used only when config.json omits a field).
HF_DEFAULTS = {"rope_theta": 10000.0, "rms_norm_eps": 1e-6, "tie_word_embeddings": False}
REQUIRED = ["vocab_size", "hidden_size", "intermediate_size", "num_hidden_layers",
            "num_attention_heads", "max_position_embeddings"]


def parse_config(raw, where="config"):
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: must be a JSON object")
    missing = [k for k in REQUIRED if k not in raw]
    if missing:
        raise ConfigError(f"{where}: missing field(s) {', '.join(missing)}")
    c = dict(HF_DEFAULTS)
    c.update(raw)
    c.setdefault("num_key_value_heads", c["num_attention_heads"])  # HF: None means MHA
    if c["num_key_value_heads"] is None:
        c["num_key_value_heads"] = c["num_attention_heads"]
    for k in REQUIRED + ["num_key_value_heads"]:
        if not isinstance(c[k], int) or isinstance(c[k], bool) or c[k] <= 0:
            raise ConfigError(f"{where}: {k} must be a positive integer, got {c[k]!r}")
    C, Hq, Hkv = c["hidden_size"], c["num_attention_heads"], c["num_key_value_heads"]
    if C % Hq:
        raise ConfigError(f"{where}: hidden_size {C} is not divisible by num_attention_heads {Hq}")
    if Hq % Hkv:
        raise ConfigError(f"{where}: num_attention_heads {Hq} is not a multiple of num_key_value_heads {Hkv}")
    D = C // Hq
    if D % 2:
        raise ConfigError(f"{where}: head_dim {D} must be even for RoPE")
    if c.get("head_dim") not in (None, D):
        raise ConfigError(f"{where}: head_dim {c['head_dim']} != hidden_size/num_attention_heads = {D} (unsupported)")
    if c.get("rope_scaling") not in (None, {}):
        raise ConfigError(f"{where}: rope_scaling {c['rope_scaling']!r} is not supported")
    for k in ("attention_bias", "mlp_bias"):
        if c.get(k):
            raise ConfigError(f"{where}: {k}=true is not supported")
    if c.get("hidden_act", "silu") != "silu":
        raise ConfigError(f"{where}: hidden_act {c['hidden_act']!r} is not supported (only silu)")
    if not isinstance(c["tie_word_embeddings"], bool):
        raise ConfigError(f"{where}: tie_word_embeddings must be true or false")
    c["rope_theta"] = float(c["rope_theta"])
    c["rms_norm_eps"] = float(c["rms_norm_eps"])
    return c


# ---------------------------------------------------------------------------------------------
# The model. Module names mirror HF so named_parameters() yields the checkpoint's tensor names.


class RMSNorm(nn.Module):
    def __init__(self, dim, eps):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(dim))
        self.eps = eps

    def forward(self, x):
        # HF computes the statistic in float32 (or wider); we keep the input dtype, which is f32/f64.
        var = x.pow(2).mean(-1, keepdim=True)
        return self.weight * (x * torch.rsqrt(var + self.eps))


def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat((-x[..., h:], x[..., :h]), dim=-1)


def rope_tables(head_dim, theta, n_pos):
    """cos/sin tables (n_pos, head_dim) computed in float64 (rounded once when cast to float32)."""
    inv_freq = 1.0 / (theta ** (torch.arange(0, head_dim, 2, dtype=torch.float64) / head_dim))
    pos = torch.arange(n_pos, dtype=torch.float64)
    freqs = torch.outer(pos, inv_freq)
    emb = torch.cat((freqs, freqs), dim=-1)
    return emb.cos(), emb.sin()


class Attention(nn.Module):
    def __init__(self, c):
        super().__init__()
        C = c["hidden_size"]
        self.Hq, self.Hkv = c["num_attention_heads"], c["num_key_value_heads"]
        self.D = C // self.Hq
        self.q_proj = nn.Linear(C, self.Hq * self.D, bias=False)
        self.k_proj = nn.Linear(C, self.Hkv * self.D, bias=False)
        self.v_proj = nn.Linear(C, self.Hkv * self.D, bias=False)
        self.o_proj = nn.Linear(self.Hq * self.D, C, bias=False)

    def forward(self, x, cos, sin, cache=None, pos0=0):
        """x (B,T,C); cos/sin (T,D) for positions pos0..pos0+T-1; cache: optional (k_buf, v_buf) of
        shape (B, Hkv, S_max, D), written at pos0.. and attended over 0..pos0+T-1."""
        B, T, _ = x.shape
        Hq, Hkv, D = self.Hq, self.Hkv, self.D
        G = Hq // Hkv
        q = self.q_proj(x).view(B, T, Hq, D).transpose(1, 2)  # (B,Hq,T,D)
        k = self.k_proj(x).view(B, T, Hkv, D).transpose(1, 2)  # (B,Hkv,T,D)
        v = self.v_proj(x).view(B, T, Hkv, D).transpose(1, 2)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        if cache is not None:
            kb, vb = cache
            kb[:, :, pos0:pos0 + T] = k
            vb[:, :, pos0:pos0 + T] = v
            k, v = kb[:, :, :pos0 + T], vb[:, :, :pos0 + T]
        S = k.shape[2]
        # Grouped-query attention: query head h = kv*G + g uses kv head h // G.
        qg = q.reshape(B, Hkv, G, T, D)
        scores = torch.matmul(qg, k.unsqueeze(2).transpose(-1, -2)) / math.sqrt(D)  # (B,Hkv,G,T,S)
        if T > 1:
            qpos = torch.arange(pos0, pos0 + T).unsqueeze(1)
            kpos = torch.arange(S).unsqueeze(0)
            scores = scores.masked_fill(kpos > qpos, float("-inf"))
        p = torch.softmax(scores, dim=-1)
        y = torch.matmul(p, v.unsqueeze(2))  # (B,Hkv,G,T,D)
        y = y.reshape(B, Hq, T, D).transpose(1, 2).reshape(B, T, Hq * D)
        return self.o_proj(y)


class MLP(nn.Module):
    def __init__(self, c):
        super().__init__()
        C, Fd = c["hidden_size"], c["intermediate_size"]
        self.gate_proj = nn.Linear(C, Fd, bias=False)
        self.up_proj = nn.Linear(C, Fd, bias=False)
        self.down_proj = nn.Linear(Fd, C, bias=False)

    def forward(self, x):
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class Layer(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.input_layernorm = RMSNorm(c["hidden_size"], c["rms_norm_eps"])
        self.self_attn = Attention(c)
        self.post_attention_layernorm = RMSNorm(c["hidden_size"], c["rms_norm_eps"])
        self.mlp = MLP(c)

    def forward(self, h, cos, sin, cache=None, pos0=0):
        h = h + self.self_attn(self.input_layernorm(h), cos, sin, cache, pos0)
        return h + self.mlp(self.post_attention_layernorm(h))


class Backbone(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.embed_tokens = nn.Embedding(c["vocab_size"], c["hidden_size"])
        self.layers = nn.ModuleList([Layer(c) for _ in range(c["num_hidden_layers"])])
        self.norm = RMSNorm(c["hidden_size"], c["rms_norm_eps"])


class Llama(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.config = c
        self.model = Backbone(c)
        self.tied = c["tie_word_embeddings"]
        if not self.tied:
            self.lm_head = nn.Linear(c["hidden_size"], c["vocab_size"], bias=False)
        D = c["hidden_size"] // c["num_attention_heads"]
        self._rope_n = 0
        self._ensure_rope(c["max_position_embeddings"])
        self.D = D

    def _ensure_rope(self, n):
        if n > self._rope_n:
            c = self.config
            self._cos64, self._sin64 = rope_tables(c["hidden_size"] // c["num_attention_heads"], c["rope_theta"], n)
            self._rope_n = n
            self._rope_cast = {}

    def rope(self, pos0, T, dtype):
        self._ensure_rope(pos0 + T)
        if dtype not in self._rope_cast:
            self._rope_cast[dtype] = (self._cos64.to(dtype), self._sin64.to(dtype))
        cos, sin = self._rope_cast[dtype]
        return cos[pos0:pos0 + T], sin[pos0:pos0 + T]

    def output_weight(self):
        return self.model.embed_tokens.weight if self.tied else self.lm_head.weight

    def forward(self, ids, caches=None, pos0=0, last_only=False):
        """ids (B,T) int64 -> logits (B,T,V) (or (B,1,V) with last_only)."""
        T = ids.shape[1]
        h = self.model.embed_tokens(ids)
        cos, sin = self.rope(pos0, T, h.dtype)
        for i, layer in enumerate(self.model.layers):
            h = layer(h, cos, sin, None if caches is None else caches[i], pos0)
        h = self.model.norm(h)
        if last_only:
            h = h[:, -1:]
        return torch.matmul(h, self.output_weight().t())

    def new_cache(self, B, S, dtype=torch.float32):
        c = self.config
        Hkv, D = c["num_key_value_heads"], self.D
        return [(torch.zeros(B, Hkv, S, D, dtype=dtype), torch.zeros(B, Hkv, S, D, dtype=dtype))
                for _ in range(c["num_hidden_layers"])]


def expected_shapes(c):
    """HF parameter names -> shapes, in HF order."""
    C, Fd, V = c["hidden_size"], c["intermediate_size"], c["vocab_size"]
    D = C // c["num_attention_heads"]
    kvC = c["num_key_value_heads"] * D
    out = {"model.embed_tokens.weight": [V, C]}
    for l in range(c["num_hidden_layers"]):
        p = f"model.layers.{l}"
        out[f"{p}.input_layernorm.weight"] = [C]
        out[f"{p}.self_attn.q_proj.weight"] = [C, C]
        out[f"{p}.self_attn.k_proj.weight"] = [kvC, C]
        out[f"{p}.self_attn.v_proj.weight"] = [kvC, C]
        out[f"{p}.self_attn.o_proj.weight"] = [C, C]
        out[f"{p}.post_attention_layernorm.weight"] = [C]
        out[f"{p}.mlp.gate_proj.weight"] = [Fd, C]
        out[f"{p}.mlp.up_proj.weight"] = [Fd, C]
        out[f"{p}.mlp.down_proj.weight"] = [C, Fd]
    out["model.norm.weight"] = [C]
    if not c["tie_word_embeddings"]:
        out["lm_head.weight"] = [V, C]
    return out


def load_checkpoint(ckpt, dtype=torch.float32):
    """Loads DIR/config.json + DIR/model.safetensors into a Llama of the given dtype."""
    if not os.path.isdir(ckpt):
        raise ConfigError(f"checkpoint {ckpt}: not a directory")
    cfg_path = os.path.join(ckpt, "config.json")
    w_path = os.path.join(ckpt, "model.safetensors")
    for p in (cfg_path, w_path):
        if not os.path.isfile(p):
            raise ConfigError(f"checkpoint {ckpt}: missing file {os.path.basename(p)}")
    try:
        with open(cfg_path) as f:
            raw = json.load(f)
    except json.JSONDecodeError as e:
        raise ConfigError(f"{cfg_path}: invalid JSON: {e}") from None
    c = parse_config(raw, cfg_path)
    tensors, _ = st.load(w_path)
    want = expected_shapes(c)
    unknown = [k for k in tensors if k not in want]
    if unknown:
        hint = " (lm_head.weight is not expected when tie_word_embeddings is true)" if "lm_head.weight" in unknown else ""
        raise ConfigError(f"{w_path}: unknown tensor(s) {', '.join(unknown)}{hint}")
    missing = [k for k in want if k not in tensors]
    if missing:
        raise ConfigError(f"{w_path}: missing tensor(s) {', '.join(missing)}")
    for k, shape in want.items():
        t = tensors[k]
        if list(t.shape) != shape:
            raise ConfigError(f"{w_path}: tensor {k} has shape {list(t.shape)}, expected {shape}")
        if not t.is_floating_point():
            raise ConfigError(f"{w_path}: tensor {k} has dtype {t.dtype}, expected a float dtype (F32)")
    model = Llama(c).to(dtype)
    params = dict(model.named_parameters())
    assert list(params) == list(want), (list(params), list(want))
    with torch.no_grad():
        for k, p in params.items():
            p.copy_(tensors[k].to(dtype))
    return model, c


def token_logprobs(model, ids):
    """ids (B,T+1) -> (logits (B,T,V), logprobs (B,T)) of the next-token targets."""
    logits = model(ids[:, :-1])
    lp = torch.log_softmax(logits, dim=-1).gather(-1, ids[:, 1:].unsqueeze(-1)).squeeze(-1)
    return logits, lp


def make_batch(c, batch, seq, seed):
    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(0, c["vocab_size"], (batch, seq + 1), generator=g, dtype=torch.int64)
    weights = torch.randn(batch, seq, generator=g, dtype=torch.float32)
    return ids, weights


def run(model, ids, weights):
    """Forward + weighted NLL + backward. Returns dict of output tensors (float32)."""
    model.zero_grad(set_to_none=True)
    logits, lp = token_logprobs(model, ids)
    loss = -(weights.to(lp.dtype) * lp).sum()
    loss.backward()
    out = {
        "input_ids": ids.to(torch.int32),
        "weights": weights.to(torch.float32),
        "logits": logits.detach().to(torch.float32),
        "logprobs": lp.detach().to(torch.float32),
        "loss": loss.detach().reshape(1).to(torch.float32),
    }
    for name, p in model.named_parameters():
        out["grad." + name] = p.grad.detach().to(torch.float32)
    return out


def parse_ids(s, V):
    try:
        ids = [int(x) for x in s.replace(" ", "").split(",") if x != ""]
    except ValueError:
        raise ConfigError(f"--text-ids: expected comma-separated integers, got {s!r}") from None
    if len(ids) < 2:
        raise ConfigError("--text-ids: need at least 2 ids (inputs and shifted targets)")
    bad = [i for i in ids if not 0 <= i < V]
    if bad:
        raise ConfigError(f"--text-ids: id(s) {bad[:5]} out of range [0, {V})")
    return ids


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--ckpt", required=True, help="checkpoint folder (config.json + model.safetensors)")
    ap.add_argument("--out", help="output .safetensors (required unless --text-ids)")
    ap.add_argument("--batch", type=int, default=2)
    ap.add_argument("--seq", type=int, default=12)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--text-ids", help='one sequence "1,2,3": B=1, prints {"logprobs": [...]}')
    a = ap.parse_args(argv)
    try:
        model, c = load_checkpoint(a.ckpt)
        if a.text_ids is not None:
            ids = torch.tensor([parse_ids(a.text_ids, c["vocab_size"])], dtype=torch.int64)
            weights = torch.ones(1, ids.shape[1] - 1)
        else:
            if a.out is None:
                raise ConfigError("--out is required (unless --text-ids is given)")
            if a.batch < 1 or a.seq < 1:
                raise ConfigError("--batch and --seq must be >= 1")
            ids, weights = make_batch(c, a.batch, a.seq, a.seed)
        T = ids.shape[1] - 1
        if T > c["max_position_embeddings"]:
            print(f"warning: {T} positions exceed max_position_embeddings {c['max_position_embeddings']}",
                  file=sys.stderr)
        out = run(model, ids, weights)
        if a.out:
            meta = {"format": "pt", "generator": "bench/torch_reference.py", "torch_version": torch.__version__,
                    "batch": ids.shape[0], "seq": T,
                    "seed": a.seed if a.text_ids is None else "text-ids"}
            st.save(out, a.out, meta)
        if a.text_ids is not None:
            print(json.dumps({"logprobs": out["logprobs"][0].tolist()}))
        else:
            print(f"wrote {a.out}: B={ids.shape[0]} T={T} loss={out['loss'].item():.6f}", file=sys.stderr)
    except (ConfigError, st.SafetensorsError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
