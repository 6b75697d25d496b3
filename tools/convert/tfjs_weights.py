"""Reads TF.js weights: a weights manifest (list of groups, each with `paths` and `weights`)
as found in face-api's *-weights_manifest.json and in the `weightsManifest` of a graph
model.json. Returns {name: numpy array} with quantised weights dequantised to float32
exactly as TF.js does (value = q * scale + min in double precision, rounded once to float32,
or Math.round()ed for int32 weights; float16 cast)."""

import json
import os

import numpy as np

_DTYPES = {"float32": np.float32, "int32": np.int32, "bool": np.uint8}
_QDTYPES = {"uint8": np.uint8, "uint16": np.uint16, "float16": np.float16}


def _read_group(group, base_dir):
    data = b""
    for path in group["paths"]:
        with open(os.path.join(base_dir, path), "rb") as f:
            data += f.read()
    return data


def _decode(spec, data, offset):
    shape = [int(d) for d in spec["shape"]]
    count = int(np.prod(shape)) if shape else 1
    quant = spec.get("quantization")
    if quant:
        qtype = _QDTYPES[quant["dtype"]]
        size = count * np.dtype(qtype).itemsize
        raw = np.frombuffer(data, dtype=qtype, count=count, offset=offset)
        if quant["dtype"] == "float16":
            values = raw.astype(np.float32)
        else:
            # TF.js evaluates q * scale + min in double precision (JS numbers) and stores
            # the result into a Float32Array (one rounding), or Math.round()s it for int32.
            exact = raw.astype(np.float64) * float(quant["scale"]) + float(quant["min"])
            if spec.get("dtype") == "int32":
                values = np.floor(exact + 0.5).astype(np.int32)
            else:
                values = exact.astype(np.float32)
    else:
        dtype = _DTYPES[spec["dtype"]]
        size = count * np.dtype(dtype).itemsize
        values = np.frombuffer(data, dtype=dtype, count=count, offset=offset).copy()
    return values.reshape(shape), size


def load_manifest(manifest, base_dir):
    """manifest: the parsed list of weight groups; base_dir: folder of the .bin shards."""
    weights = {}
    for group in manifest:
        data = _read_group(group, base_dir)
        offset = 0
        for spec in group["weights"]:
            values, size = _decode(spec, data, offset)
            weights[spec["name"]] = values
            offset += size
    return weights


def load_file(path):
    """Loads either a face-api weights manifest or a graph model.json."""
    with open(path) as f:
        doc = json.load(f)
    manifest = doc["weightsManifest"] if isinstance(doc, dict) else doc
    return load_manifest(manifest, os.path.dirname(path))
