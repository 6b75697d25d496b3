"""Rebuilds four networks of @vladmandic/face-api (weights-only TF.js format) as ONNX graphs
that OpenCV's dnn module (4.6) imports: the architectures follow the package's src/ folder
(faceRecognitionNet, faceLandmarkNet + faceFeatureExtractor, tinyFaceDetector/tinyYolov2,
ssdMobilenetv1). Layout is NCHW; the per-channel input normalisation of the JS code is left to
the caller (manifest mean/scale), everything else is in the graph.

convert(net, package_dir, manifest) -> onnx.ModelProto, net in
  "recognition" | "landmark68" | "tinyface" | "ssd".
"""

import os

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

import tfjs_weights

# Opset 10: OpenCV 4.6 parses Clip (ReLU6, fused into the convolutions) only in its
# attribute form, which ONNX dropped in opset 11.
OPSET = 10

_WEIGHT_FILES = {
    "recognition": "face_recognition_model-weights_manifest.json",
    "landmark68": "face_landmark_68_model-weights_manifest.json",
    "tinyface": "tiny_face_detector_model-weights_manifest.json",
    "ssd": "ssd_mobilenetv1_model-weights_manifest.json",
}


def _same_pads(size, kernel, stride):
    """TF 'SAME' padding (before, after) along one axis."""
    out = -(-size // stride)
    total = max((out - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


class Graph:
    """Minimal ONNX graph builder that tracks NCHW shapes of 4-D tensors."""

    def __init__(self, input_shape):
        self.nodes = []
        self.inits = []
        self.shapes = {"input": list(input_shape)}
        self.input_shape = list(input_shape)
        self.count = 0

    def _name(self, prefix):
        self.count += 1
        return f"{prefix}_{self.count}"

    def const(self, prefix, array):
        name = self._name(prefix)
        self.inits.append(numpy_helper.from_array(np.ascontiguousarray(array), name))
        return name

    def node(self, op, inputs, prefix=None, shape=None, outputs=None, **attrs):
        out = outputs[0] if outputs else self._name(prefix or op.lower())
        self.nodes.append(helper.make_node(op, inputs, [out], name=out, **attrs))
        if shape is not None:
            self.shapes[out] = list(shape)
        return out

    # --- layers -------------------------------------------------------------------------
    def conv(self, x, w_oihw, bias, stride=1, pads=(0, 0, 0, 0), group=1, prefix="conv"):
        """pads = (top, left, bottom, right)."""
        n, c, h, wd = self.shapes[x]
        o, _, kh, kw = w_oihw.shape
        oh = (h + pads[0] + pads[2] - kh) // stride + 1
        ow = (wd + pads[1] + pads[3] - kw) // stride + 1
        inputs = [x, self.const(prefix + "_w", w_oihw.astype(np.float32))]
        if bias is not None:
            inputs.append(self.const(prefix + "_b", np.asarray(bias, np.float32)))
        return self.node("Conv", inputs, prefix, [n, o, oh, ow], kernel_shape=[kh, kw],
                         strides=[stride, stride], pads=[pads[0], pads[1], pads[2], pads[3]],
                         group=group, dilations=[1, 1])

    def conv_same(self, x, w_oihw, bias, stride=1, group=1, prefix="conv"):
        _, _, h, wd = self.shapes[x]
        kh, kw = w_oihw.shape[2:]
        pt, pb = _same_pads(h, kh, stride)
        pl, pr = _same_pads(wd, kw, stride)
        return self.conv(x, w_oihw, bias, stride, (pt, pl, pb, pr), group, prefix)

    def unary(self, op, x, **attrs):
        return self.node(op, [x], op.lower(), self.shapes.get(x), **attrs)

    def relu(self, x):
        return self.unary("Relu", x)

    def leaky(self, x):
        return self.unary("LeakyRelu", x, alpha=0.1)

    def clip6(self, x):
        return self.node("Clip", [x], "relu6", self.shapes[x], min=0.0, max=6.0)

    def add(self, a, b):
        return self.node("Add", [a, b], "add", self.shapes[a])

    def pool(self, op, x, k, stride, pads=(0, 0, 0, 0)):
        n, c, h, w = self.shapes[x]
        oh = (h + pads[0] + pads[2] - k) // stride + 1
        ow = (w + pads[1] + pads[3] - k) // stride + 1
        return self.node(op, [x], op.lower(), [n, c, oh, ow], kernel_shape=[k, k],
                         strides=[stride, stride], pads=list(pads))

    def maxpool_same(self, x, k, stride):
        _, _, h, w = self.shapes[x]
        pt, pb = _same_pads(h, k, stride)
        pl, pr = _same_pads(w, k, stride)
        return self.pool("MaxPool", x, k, stride, (pt, pl, pb, pr))

    def pad(self, x, pads8):
        """pads8 = ONNX Pad layout [x1_begin, x2_begin, ..., x1_end, ...] for NCHW."""
        shape = [d + pads8[i] + pads8[i + 4] for i, d in enumerate(self.shapes[x])]
        return self.node("Pad", [x], "pad", shape, mode="constant", pads=list(pads8), value=0.0)

    def reshape(self, x, shape):
        s = self.const("shape", np.array(shape, np.int64))
        return self.node("Reshape", [x, s], "reshape", shape)

    def transpose(self, x, perm):
        shape = [self.shapes[x][p] for p in perm]
        return self.node("Transpose", [x], "transpose", shape, perm=list(perm))

    def gemm(self, x, w_kn, bias, prefix="fc"):
        """x [1, K] @ w_kn [K, N] + bias."""
        if bias is None:  # C is required before opset 11
            bias = np.zeros(w_kn.shape[1], np.float32)
        inputs = [x, self.const(prefix + "_w", np.ascontiguousarray(w_kn.T).astype(np.float32)),
                  self.const(prefix + "_b", np.asarray(bias, np.float32))]
        return self.node("Gemm", inputs, prefix, [1, w_kn.shape[1]], transB=1)

    def model(self, outputs, doc):
        graph = helper.make_graph(
            self.nodes, "faceapi",
            [helper.make_tensor_value_info("input", TensorProto.FLOAT, self.input_shape)],
            [helper.make_tensor_value_info(name, TensorProto.FLOAT, self.shapes[src])
             for name, src in outputs],
            initializer=self.inits)
        # rename the producing nodes' outputs to the public output names
        rename = {src: name for name, src in outputs}
        for node in graph.node:
            for i, o in enumerate(node.output):
                if o in rename:
                    node.output[i] = rename[o]
            for i, o in enumerate(node.input):
                if o in rename:
                    node.input[i] = rename[o]
        model = helper.make_model(graph, producer_name="faceauth-faceapi_nets",
                                  opset_imports=[helper.make_opsetid("", OPSET)])
        model.ir_version = 6
        model.doc_string = doc
        onnx.checker.check_model(model)
        return model


def _hwio(w):
    """TF conv filter [kh, kw, in, out] -> ONNX [out, in, kh, kw]."""
    return np.transpose(w, (3, 2, 0, 1))


def _depthwise(w):
    """TF depthwise filter [kh, kw, C, 1] -> ONNX grouped [C, 1, kh, kw]."""
    return np.transpose(w, (2, 3, 0, 1))


def _sep_conv(g, x, W, prefix, stride, same=True, pads=None):
    """tf.separableConv2d(x, depthwise, pointwise, stride, padding) + bias."""
    dw = _depthwise(W[prefix + "/depthwise_filter"])
    c = dw.shape[0]
    if same:
        out = g.conv_same(x, dw, None, stride, group=c, prefix="dw")
    else:
        out = g.conv(x, dw, None, stride, pads, group=c, prefix="dw")
    return g.conv(out, _hwio(W[prefix + "/pointwise_filter"]), W[prefix + "/bias"], prefix="pw")


# --- face recognition (dlib ResNet-34-like, 150x150 -> 128) ----------------------------------
def build_recognition(W):
    g = Graph([1, 3, 150, 150])

    def conv_layer(x, prefix, stride, relu, valid=False):
        # relu?((conv(x) + bias) * scale.weights + scale.biases), folded into the conv
        w = W[prefix + "/conv/filters"].astype(np.float64)
        b = W[prefix + "/conv/bias"].astype(np.float64)
        s = W[prefix + "/scale/weights"].astype(np.float64)
        t = W[prefix + "/scale/biases"].astype(np.float64)
        wf = _hwio(w) * s[:, None, None, None]
        bf = b * s + t
        out = g.conv(x, wf, bf, stride, prefix="conv") if valid else g.conv_same(x, wf, bf, stride)
        return g.relu(out) if relu else out

    def residual(x, prefix):
        out = conv_layer(x, prefix + "/conv1", 1, True)
        out = conv_layer(out, prefix + "/conv2", 1, False)
        return g.relu(g.add(out, x))

    def residual_down(x, prefix):
        out = conv_layer(x, prefix + "/conv1", 2, True, valid=True)
        out = conv_layer(out, prefix + "/conv2", 1, False)
        pooled = g.pool("AveragePool", x, 2, 2)
        _, pc, ph, pw = g.shapes[pooled]
        _, oc, oh, ow = g.shapes[out]
        if (ph, pw) != (oh, ow):  # zero row at the bottom, zero column at the right
            out = g.pad(out, [0, 0, 0, 0, 0, 0, ph - oh, pw - ow])
        if pc != oc:  # zero channels appended to the pooled shortcut
            pooled = g.pad(pooled, [0, 0, 0, 0, 0, oc - pc, 0, 0])
        return g.relu(g.add(pooled, out))

    x = conv_layer("input", "conv32_down", 2, True, valid=True)
    x = g.pool("MaxPool", x, 3, 2)
    for p in ("conv32_1", "conv32_2", "conv32_3"):
        x = residual(x, p)
    x = residual_down(x, "conv64_down")
    for p in ("conv64_1", "conv64_2", "conv64_3"):
        x = residual(x, p)
    x = residual_down(x, "conv128_down")
    for p in ("conv128_1", "conv128_2"):
        x = residual(x, p)
    x = residual_down(x, "conv256_down")
    for p in ("conv256_1", "conv256_2"):
        x = residual(x, p)
    x = residual_down(x, "conv256_down_out")
    x = g.node("GlobalAveragePool", [x], "gap", [1, g.shapes[x][1], 1, 1])
    x = g.reshape(x, [1, 256])
    x = g.gemm(x, W["fc"], None)
    return g.model([("embedding", x)], "face-api FaceRecognitionNet (dlib ResNet) 150x150 -> 128")


# --- 68-point landmarks (FaceFeatureExtractor dense blocks + fc, 112x112 -> 136) ------------
def _build_landmark68(W):
    g = Graph([1, 3, 112, 112])

    def dense_block4(x, prefix, first):
        if first:
            out1 = g.conv_same(x, _hwio(W[prefix + "/conv0/filters"]), W[prefix + "/conv0/bias"], 2)
        else:
            out1 = _sep_conv(g, x, W, prefix + "/conv0", 2)
        out1 = g.relu(out1)
        out2 = _sep_conv(g, out1, W, prefix + "/conv1", 1)
        in3 = g.relu(g.add(out1, out2))
        out3 = _sep_conv(g, in3, W, prefix + "/conv2", 1)
        in4 = g.relu(g.add(out1, g.add(out2, out3)))
        out4 = _sep_conv(g, in4, W, prefix + "/conv3", 1)
        return g.relu(g.add(out1, g.add(out2, g.add(out3, out4))))

    x = dense_block4("input", "dense0", True)
    for p in ("dense1", "dense2", "dense3"):
        x = dense_block4(x, p, False)
    x = g.pool("AveragePool", x, 7, 2)  # 7x7 -> 1x1
    x = g.reshape(x, [1, 256])
    x = g.gemm(x, W["fc/weights"], W["fc/bias"])
    return g.model([("landmarks", x)], "face-api FaceLandmark68Net 112x112 -> 68 (x, y) in [0, 1]")


# --- tiny face detector (TinyYolov2 with separable convs, 5 anchors, 1 class) ----------------
def _build_tinyface(W, size):
    g = Graph([1, 3, size, size])
    x = g.conv("input", _hwio(W["conv0/filters"]), W["conv0/bias"])  # 'valid'
    x = g.leaky(x)
    x = g.maxpool_same(x, 2, 2)
    for i in range(1, 6):
        x = g.leaky(_sep_conv(g, x, W, f"conv{i}", 1, same=False, pads=(1, 1, 1, 1)))
        x = g.maxpool_same(x, 2, 2 if i < 5 else 1)
    x = g.conv(x, _hwio(W["conv8/filters"]), W["conv8/bias"])
    return g.model([("grid", x)], f"face-api TinyFaceDetector {size}x{size} -> raw YOLO grid")


# --- SSD MobileNet v1 (face), 512x512 ---------------------------------------------------------
def _build_ssd(W):
    g = Graph([1, 3, 512, 512])
    eps = 0.0010000000474974513

    def pointwise(x, prefix, stride):
        w = _hwio(W[prefix + "/weights"])
        return g.clip6(g.conv_same(x, w, W[prefix + "/convolution_bn_offset"], stride))

    def depthwise(x, idx, stride):
        p = f"MobilenetV1/Conv2d_{idx}_depthwise"
        w = _depthwise(W[p + "/depthwise_weights"]).astype(np.float64)
        mean = W[p + "/BatchNorm/moving_mean"].astype(np.float64)
        var = W[p + "/BatchNorm/moving_variance"].astype(np.float64)
        gamma = W[p + "/BatchNorm/gamma"].astype(np.float64)
        beta = W[p + "/BatchNorm/beta"].astype(np.float64)
        k = gamma / np.sqrt(var + eps)
        wf = w * k[:, None, None, None]
        bf = beta - mean * k
        return g.clip6(g.conv_same(x, wf, bf, stride, group=w.shape[0]))

    x = pointwise("input", "MobilenetV1/Conv2d_0_pointwise", 2)
    conv11 = None
    for idx in range(1, 14):
        x = depthwise(x, idx, 2 if idx in (2, 4, 6, 12) else 1)
        x = pointwise(x, f"MobilenetV1/Conv2d_{idx}_pointwise", 1)
        if idx == 11:
            conv11 = x
    feats = [conv11, x]
    c = pointwise(x, "Prediction/Conv2d_0_pointwise", 1)
    for i in range(1, 8):
        c = pointwise(c, f"Prediction/Conv2d_{i}_pointwise", 2 if i % 2 else 1)
        if i % 2:
            feats.append(c)

    boxes, scores = [], []
    for i, f in enumerate(feats):
        p = f"Prediction/BoxPredictor_{i}"
        bw = W[p + "/BoxEncodingPredictor/weights"].astype(np.float64)  # [1,1,C,A*4]
        bb = W[p + "/BoxEncodingPredictor/biases"].astype(np.float64)
        a = bw.shape[3] // 4
        # bake the box coder scales (ty/10, tx/10, th/5, tw/5) into the predictor
        coder = np.tile(np.array([0.1, 0.1, 0.2, 0.2]), a)
        b = g.conv(f, _hwio(bw * coder), bb * coder, prefix="box")
        h, w = g.shapes[b][2:]
        b = g.reshape(g.transpose(b, (0, 2, 3, 1)), [1, h * w * a, 4])
        boxes.append(b)
        cw = W[p + "/ClassPredictor/weights"]  # [1,1,C,A*3]; face-api keeps class 1 only
        cb = W[p + "/ClassPredictor/biases"]
        keep = np.arange(a) * 3 + 1
        s = g.conv(f, _hwio(cw[..., keep]), cb[keep], prefix="cls")
        s = g.reshape(g.transpose(s, (0, 2, 3, 1)), [1, h * w * a])
        scores.append(s)
    n = sum(g.shapes[b][1] for b in boxes)
    enc = g.node("Concat", boxes, "concat", [1, n, 4], axis=1)
    logits = g.node("Concat", scores, "concat", [1, n], axis=1)
    score = g.unary("Sigmoid", logits)

    # decode against the anchors stored in the weights (Output/extra_dim, [1, n, 4] as
    # ymin, xmin, ymax, xmax): centre = t * size + anchor centre, half = exp(t) * size / 2
    anchors = W["Output/extra_dim"].reshape(n, 4).astype(np.float64)
    size = anchors[:, 2:4] - anchors[:, 0:2]
    centre = anchors[:, 0:2] + size / 2
    s_ctr = g.const("slice", np.array([0], np.int64))
    e_ctr = g.const("slice", np.array([2], np.int64))
    e_all = g.const("slice", np.array([4], np.int64))
    ax = g.const("axes", np.array([2], np.int64))
    t_ctr = g.node("Slice", [enc, s_ctr, e_ctr, ax], "slice", [1, n, 2])
    t_size = g.node("Slice", [enc, e_ctr, e_all, ax], "slice", [1, n, 2])
    ctr = g.node("Mul", [t_ctr, g.const("anchor_size", size[None].astype(np.float32))], "mul", [1, n, 2])
    ctr = g.node("Add", [ctr, g.const("anchor_centre", centre[None].astype(np.float32))], "add", [1, n, 2])
    half = g.unary("Exp", t_size)
    half = g.node("Mul", [half, g.const("anchor_half", (size / 2)[None].astype(np.float32))], "mul", [1, n, 2])
    lo = g.node("Sub", [ctr, half], "sub", [1, n, 2])
    hi = g.node("Add", [ctr, half], "add", [1, n, 2])
    box = g.node("Concat", [lo, hi], "concat", [1, n, 4], axis=2)
    return g.model([("boxes", box), ("scores", score)],
                   "face-api SsdMobilenetv1 512x512 -> decoded boxes + face scores, before NMS")


def load_weights(net, package_dir):
    return tfjs_weights.load_file(os.path.join(package_dir, "model", _WEIGHT_FILES[net]))


def convert(net, package_dir, manifest):
    W = load_weights(net, package_dir)
    if net == "recognition":
        return build_recognition(W)
    if net == "landmark68":
        return _build_landmark68(W)
    if net == "tinyface":
        return _build_tinyface(W, int(manifest["input"]["height"]))
    if net == "ssd":
        return _build_ssd(W)
    raise ValueError(f"unknown face-api net {net}")
