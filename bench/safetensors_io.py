#!/usr/bin/python3
"""Minimal reader/writer for the safetensors format, written from the format description.

Layout of a file:
  8 bytes        little-endian u64 N: length of the JSON header
  N bytes        UTF-8 JSON: {name: {"dtype": "F32", "shape": [...], "data_offsets": [b, e]}, ...,
                 optionally "__metadata__": {str: str}}; padded with spaces so that 8 + N is a
                 multiple of 8
  rest           the byte buffer; offsets [b, e) are relative to its start, tensors are row-major
                 little-endian and together cover the buffer exactly, without gaps or overlaps

Only torch and the standard library are used. Run with /usr/bin/python3 (Debian's python3-torch).
"""
import ctypes
import json
import math
import os
import struct
import sys

import torch

# safetensors dtype string -> (torch dtype, bytes per element)
DTYPES = {
    "F64": (torch.float64, 8),
    "F32": (torch.float32, 4),
    "F16": (torch.float16, 2),
    "BF16": (torch.bfloat16, 2),
    "I64": (torch.int64, 8),
    "I32": (torch.int32, 4),
    "I16": (torch.int16, 2),
    "I8": (torch.int8, 1),
    "U8": (torch.uint8, 1),
}
TORCH_TO_ST = {v[0]: k for k, v in DTYPES.items()}

# A header larger than this is certainly not a real safetensors header (the reference
# implementation uses the same 100 MB bound).
MAX_HEADER = 100_000_000


class SafetensorsError(ValueError):
    pass


def _check_host():
    if sys.byteorder != "little":
        raise SafetensorsError("this minimal implementation supports little-endian hosts only")


def read_header(path):
    """Returns (header dict without __metadata__, metadata dict, byte offset of the data buffer)."""
    if not os.path.isfile(path):
        raise SafetensorsError(f"{path}: no such file")
    size = os.path.getsize(path)
    with open(path, "rb") as f:
        head = f.read(8)
        if len(head) < 8:
            raise SafetensorsError(f"{path}: too short for a safetensors file ({size} bytes)")
        (n,) = struct.unpack("<Q", head)
        if n > MAX_HEADER or 8 + n > size:
            raise SafetensorsError(f"{path}: header length {n} is impossible for a {size}-byte file")
        raw = f.read(n)
    try:
        header = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise SafetensorsError(f"{path}: header is not valid UTF-8 JSON: {e}") from None
    if not isinstance(header, dict):
        raise SafetensorsError(f"{path}: header must be a JSON object")
    meta = header.pop("__metadata__", None) or {}
    if not isinstance(meta, dict):
        raise SafetensorsError(f"{path}: __metadata__ must be an object of strings")
    return header, meta, 8 + n


def load(path):
    """Reads a safetensors file. Returns (dict name -> torch.Tensor in file order, metadata dict)."""
    _check_host()
    header, meta, start = read_header(path)
    with open(path, "rb") as f:
        f.seek(start)
        buf = bytearray(f.read())
    # Validate entries and that they tile the buffer exactly.
    spans = []
    for name, info in header.items():
        if not isinstance(info, dict) or not {"dtype", "shape", "data_offsets"} <= set(info):
            raise SafetensorsError(f"{path}: tensor {name!r}: entry needs dtype, shape and data_offsets")
        dt = info["dtype"]
        if dt not in DTYPES:
            raise SafetensorsError(f"{path}: tensor {name!r}: unsupported dtype {dt!r} (supported: {', '.join(DTYPES)})")
        shape = info["shape"]
        if not isinstance(shape, list) or not all(isinstance(d, int) and d >= 0 for d in shape):
            raise SafetensorsError(f"{path}: tensor {name!r}: shape must be a list of non-negative ints, got {shape!r}")
        offs = info["data_offsets"]
        if (not isinstance(offs, list) or len(offs) != 2 or not all(isinstance(o, int) for o in offs)
                or not 0 <= offs[0] <= offs[1] <= len(buf)):
            raise SafetensorsError(f"{path}: tensor {name!r}: bad data_offsets {offs!r} for a {len(buf)}-byte buffer")
        want = math.prod(shape) * DTYPES[dt][1]
        if offs[1] - offs[0] != want:
            raise SafetensorsError(
                f"{path}: tensor {name!r}: {dt} {shape} needs {want} bytes but data_offsets span {offs[1] - offs[0]}")
        spans.append((offs[0], offs[1], name))
    spans.sort()
    pos = 0
    for b, e, name in spans:
        if b != pos:
            raise SafetensorsError(f"{path}: tensor {name!r} starts at {b}, expected {pos} (gap or overlap)")
        pos = e
    if pos != len(buf):
        raise SafetensorsError(f"{path}: tensors cover {pos} bytes but the buffer holds {len(buf)}")
    out = {}
    for name, info in header.items():
        dtype, size = DTYPES[info["dtype"]]
        b, e = info["data_offsets"]
        count = (e - b) // size
        if count == 0:
            t = torch.empty(info["shape"], dtype=dtype)
        else:
            t = torch.frombuffer(buf, dtype=dtype, count=count, offset=b).reshape(info["shape"]).clone()
        out[name] = t
    return out, {str(k): str(v) for k, v in meta.items()}


def _tensor_bytes(t):
    t = t.detach().cpu().contiguous()
    n = t.numel() * t.element_size()
    if n == 0:
        return b""
    return ctypes.string_at(t.data_ptr(), n)


def save(tensors, path, metadata=None):
    """Writes dict name -> tensor (in the dict's order) to path; metadata values become strings."""
    _check_host()
    header = {}
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    blobs = []
    off = 0
    for name, t in tensors.items():
        if name == "__metadata__":
            raise SafetensorsError("'__metadata__' is reserved and cannot name a tensor")
        if not isinstance(t, torch.Tensor):
            raise SafetensorsError(f"tensor {name!r}: expected a torch.Tensor, got {type(t).__name__}")
        if t.dtype not in TORCH_TO_ST:
            raise SafetensorsError(f"tensor {name!r}: unsupported dtype {t.dtype}")
        data = _tensor_bytes(t)
        header[name] = {"dtype": TORCH_TO_ST[t.dtype], "shape": list(t.shape),
                        "data_offsets": [off, off + len(data)]}
        blobs.append(data)
        off += len(data)
    raw = json.dumps(header, separators=(",", ":")).encode("utf-8")
    raw += b" " * ((-(8 + len(raw))) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(raw)))
        f.write(raw)
        for b in blobs:
            f.write(b)
    os.replace(tmp, path)


if __name__ == "__main__":
    # `/usr/bin/python3 bench/safetensors_io.py FILE`: list the tensors of a file.
    if len(sys.argv) != 2:
        sys.exit("usage: safetensors_io.py FILE.safetensors")
    try:
        hdr, md, _ = read_header(sys.argv[1])
    except SafetensorsError as e:
        sys.exit(f"error: {e}")
    if md:
        print("metadata:", json.dumps(md))
    for k, v in hdr.items():
        print(f"{k}\t{v.get('dtype')}\t{v.get('shape')}")
