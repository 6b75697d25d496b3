"""Converts a TF.js graph model (model.json "graph-model" + .bin shards) to an ONNX model that
OpenCV 4.6's dnn module imports.

The TF graph is NHWC; the ONNX graph is NCHW with one float32 input named "input" of fixed
size. Every 4-D activation is kept NCHW; ops that depend on the layout (Concat, Mean,
Reshape, Squeeze, Pad, ...) have their axes rewritten, and a Transpose back to NHWC is
inserted only where the TF semantics need it (e.g. a Reshape that mixes H, W and C; a
flatten feeding a MatMul is handled by permuting the MatMul weights instead).

Shapes are static: Shape/StridedSlice/Pack/... on known shapes are folded to constants.
A few TF idioms are folded for speed and import robustness: conv + per-channel Mul/Add
(batch-norm) into the conv, a Pad before a VALID conv/depthwise conv into the conv pads,
Relu -> Minimum(c) -> Maximum(0) into one Clip, relu(x) + c*(x - |x|) into PRelu, and the
x * rsqrt(max(sum(x^2), eps)) L2 normalisation into ReduceL2 + Div (OpenCV 4.6 has no
LpNormalization).

Opset 11, except that a model containing a Clip is written at opset 10 (Clip and Pad with
attributes), because OpenCV 4.6 only imports Clip with min/max attributes.

Manifest options (manifest["graph"]):
  "outputs": [{"name": "<onnx output>", "tf": ["<tf node>[:0]", ...], "concat_axis": k}]
      each ONNX output is one TF tensor, or the concatenation of several along TF axis k.
  "input_size": [h, w]   only needed if the placeholder has unknown spatial size.
Returns an onnx.ModelProto whose serialisation is deterministic.
"""

import base64
import json
import os

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

import tfjs_weights

OPSET = 11
NCHW = (0, 3, 1, 2)  # NHWC -> NCHW
NHWC = (0, 2, 3, 1)  # NCHW -> NHWC


def _attr(node, key, default=None):
    a = node.get("attr", {}).get(key)
    if a is None:
        return default
    if "list" in a:
        lst = a["list"]
        if "s" in lst:
            return [base64.b64decode(s).decode() for s in lst["s"]]
        if "i" in lst:
            return [int(i) for i in lst["i"]]
        if "f" in lst:
            return [float(f) for f in lst["f"]]
        return []
    if "s" in a:
        return base64.b64decode(a["s"]).decode()
    if "i" in a:
        return int(a["i"])
    if "f" in a:
        return float(a["f"])
    if "b" in a:
        return bool(a["b"])
    if "type" in a:
        return a["type"]
    return a


class T:
    """A converted TF tensor. shape: TF (NHWC) shape. If const is not None it is a numpy
    value and nothing is emitted until used. nchw: the ONNX tensor `name` is the NCHW
    transpose of the (4-D) TF tensor. flat: (nchw source T) when this 2-D TF tensor is the
    NHWC flatten of a NCHW tensor (not materialised)."""

    def __init__(self, shape, name=None, const=None, nchw=False, flat=None, nonneg=False):
        self.shape = [int(s) for s in shape]
        self.name = name
        self.const = const
        self.nchw = nchw
        self.flat = flat
        self.nonneg = nonneg
        self.node = None  # ONNX node that produced it (for fusions)
        self.alt = {}     # cached other layouts


def _trivial_perm(shape, perm):
    """True if transposing `shape` by `perm` does not move data (only size-1 axes move)."""
    order = [p for p in perm if shape[p] != 1]
    return order == sorted(order)


def _same_pads(in_size, k, s, d):
    out = -(-in_size // s)
    eff = (k - 1) * d + 1
    total = max((out - 1) * s + eff - in_size, 0)
    return total // 2, total - total // 2


class Converter:
    def __init__(self, model_json_path, options):
        with open(model_json_path) as f:
            doc = json.load(f)
        self.weights = tfjs_weights.load_file(model_json_path)
        self.nodes = {n["name"]: n for n in doc["modelTopology"]["node"]}
        self.options = options
        self.onnx_nodes = []
        self.initializers = []
        self.inputs = []
        self.tensors = {}
        self.counter = 0
        self.consumers = {}
        for n in doc["modelTopology"]["node"]:
            for i in n.get("input", []):
                if i.startswith("^"):
                    continue
                key = self._key(i)
                self.consumers[key] = self.consumers.get(key, 0) + 1

    # ---------------------------------------------------------------- helpers
    @staticmethod
    def _key(ref):
        name, _, idx = ref.partition(":")
        return name + ":" + (idx or "0")

    def uniq(self, base):
        self.counter += 1
        return f"{base}_{self.counter}"

    def const_name(self, value, base="c", dtype=np.float32):
        name = self.uniq(base)
        arr = np.ascontiguousarray(np.asarray(value, dtype=dtype))
        self.initializers.append(numpy_helper.from_array(arr, name))
        return name

    def emit(self, op, inputs, base, n_out=1, **attrs):
        outs = [self.uniq(base) for _ in range(n_out)]
        node = helper.make_node(op, inputs, outs, name=outs[0], **attrs)
        self.onnx_nodes.append(node)
        return node, outs

    def single_use(self, ref_key):
        return self.consumers.get(ref_key, 0) == 1

    def get(self, ref):
        key = self._key(ref)
        if key not in self.tensors:
            self.convert_node(self.nodes[key.split(":")[0]])
        return self.tensors[key]

    # layout materialisation
    def nchw_name(self, t):
        assert len(t.shape) == 4
        if t.nchw:
            return t.name
        if t.const is not None:
            return self.const_name(np.transpose(t.const, NCHW))
        if "nchw" not in t.alt:
            t.alt["nchw"] = self.transposed(self.plain_name(t), t.shape, NCHW)
        return t.alt["nchw"]

    def transposed(self, name, shape, perm):
        if _trivial_perm(shape, perm):
            new_shape = [shape[p] for p in perm]
            return self.emit("Reshape", [name, self.const_name(new_shape, "shape", np.int64)], "reshape")[1][0]
        return self.emit("Transpose", [name], "transpose", perm=list(perm))[1][0]

    def plain_name(self, t):
        """ONNX tensor holding the TF tensor in its TF layout."""
        if t.const is not None:
            return self.const_name(t.const)
        if t.flat is not None:
            if "plain" not in t.alt:
                src = t.flat
                nhwc = self.transposed(src.name, [src.shape[i] for i in NCHW], NHWC)
                t.alt["plain"] = self.emit("Reshape", [nhwc, self.const_name(t.shape, "shape", np.int64)], "flatten")[1][0]
            return t.alt["plain"]
        if not t.nchw:
            return t.name
        if "plain" not in t.alt:
            t.alt["plain"] = self.transposed(t.name, [t.shape[i] for i in NCHW], NHWC)
        return t.alt["plain"]

    def set(self, node, t, idx=0):
        self.tensors[node["name"] + ":" + str(idx)] = t

    # ---------------------------------------------------------------- conversion
    def convert_node(self, node):
        op = node["op"]
        fn = getattr(self, "op_" + op, None)
        if fn is None:
            raise NotImplementedError(f"TF op {op} ({node['name']})")
        fn(node)

    def inputs_of(self, node):
        return [i for i in node.get("input", []) if not i.startswith("^")]

    def op_Const(self, node):
        self.set(node, T(self.weights[node["name"]].shape, const=self.weights[node["name"]]))

    def op_Placeholder(self, node):
        dims = [int(d.get("size", -1)) for d in _attr(node, "shape")["shape"]["dim"]]
        if "input_size" in self.options:
            dims[1], dims[2] = self.options["input_size"]
        dims[0] = 1
        assert all(d > 0 for d in dims), dims
        nchw = [dims[i] for i in NCHW]
        self.inputs.append(helper.make_tensor_value_info("input", TensorProto.FLOAT, nchw))
        self.set(node, T(dims, name="input", nchw=True))

    def op_Identity(self, node):
        self.set(node, self.get(self.inputs_of(node)[0]))

    # --- convolutions
    def _conv(self, node, depthwise):
        ins = self.inputs_of(node)
        x = self.get(ins[0])
        w = self.get(ins[1]).const
        n, h, wd, c = x.shape
        kh, kw = w.shape[0], w.shape[1]
        strides = _attr(node, "strides", [1, 1, 1, 1])
        dil = _attr(node, "dilations", [1, 1, 1, 1])
        sh, sw, dh, dw = strides[1], strides[2], dil[1], dil[2]
        padding = _attr(node, "padding", "VALID")
        if padding == "SAME":
            pt, pb = _same_pads(h, kh, sh, dh)
            pl, pr = _same_pads(wd, kw, sw, dw)
        elif padding == "EXPLICIT":
            ep = _attr(node, "explicit_paddings")
            pt, pb, pl, pr = ep[2], ep[3], ep[4], ep[5]
        else:
            pt = pb = pl = pr = 0
        if depthwise:
            mult = w.shape[3]
            wo = np.transpose(w, (2, 3, 0, 1)).reshape(c * mult, 1, kh, kw)
            group, cout = c, c * mult
        else:
            wo = np.transpose(w, (3, 2, 0, 1))
            group, cout = 1, w.shape[3]
        # fold a preceding spatial zero Pad (VALID conv) into the conv pads
        src = x
        if x.node is not None and x.node.op_type == "Pad" and getattr(x, "pad_spatial", None) and x.pad_single:
            ept, epb, epl, epr = x.pad_spatial
            src = x.pad_input
            pt, pb, pl, pr = pt + ept, pb + epb, pl + epl, pr + epr
            self.onnx_nodes.remove(x.node)
        oh = (src.shape[1] + pt + pb - ((kh - 1) * dh + 1)) // sh + 1
        ow = (src.shape[2] + pl + pr - ((kw - 1) * dw + 1)) // sw + 1
        fused = _attr(node, "fused_ops", []) or []
        bias = None
        if fused and fused[0] == "BiasAdd":
            bias = self.get(ins[2]).const.astype(np.float32)
        wname = self.const_name(wo.astype(np.float32), "w")
        inputs = [self.nchw_name(src), wname]
        if bias is not None:
            inputs.append(self.const_name(bias, "b"))
        cnode, outs = self.emit("Conv", inputs, "conv", kernel_shape=[kh, kw], strides=[sh, sw],
                                dilations=[dh, dw], pads=[pt, pl, pb, pr], group=group)
        out = T([n, oh, ow, cout], name=outs[0], nchw=True)
        out.node = cnode
        out.conv = {"w": wo.astype(np.float32), "b": bias, "wname": wname}
        out.fusable = not fused[1:] and self.single_use(node["name"] + ":0")
        out = self._fused_activation(node, fused[1:], out, ins)
        self.set(node, out)

    def _fused_activation(self, node, ops, t, ins):
        for op in ops:
            if op == "Relu":
                t = self._unary("Relu", t)
                t.nonneg = True
            elif op == "Relu6":
                t = self._clip(t, 0.0, 6.0)
            elif op == "Prelu":
                alpha = self.get(ins[3] if len(ins) > 3 else ins[-1]).const
                t = self._prelu(t, alpha)
            elif op == "LeakyRelu":
                t = self._unary("LeakyRelu", t, alpha=float(_attr(node, "leakyrelu_alpha", 0.2)))
            elif op == "Elu":
                t = self._unary("Elu", t)
            elif op == "Sigmoid":
                t = self._unary("Sigmoid", t)
            else:
                raise NotImplementedError(f"fused op {op} in {node['name']}")
        return t

    def op__FusedConv2D(self, node):
        self._conv(node, False)

    def op_Conv2D(self, node):
        self._conv(node, False)

    def op_DepthwiseConv2dNative(self, node):
        self._conv(node, True)

    def op_FusedDepthwiseConv2dNative(self, node):
        self._conv(node, True)

    # --- pooling
    def _pool(self, node, op):
        x = self.get(self.inputs_of(node)[0])
        n, h, w, c = x.shape
        k = _attr(node, "ksize")
        s = _attr(node, "strides")
        if _attr(node, "padding") == "SAME":
            pt, pb = _same_pads(h, k[1], s[1], 1)
            pl, pr = _same_pads(w, k[2], s[2], 1)
        else:
            pt = pb = pl = pr = 0
        oh = (h + pt + pb - k[1]) // s[1] + 1
        ow = (w + pl + pr - k[2]) // s[2] + 1
        attrs = dict(kernel_shape=[k[1], k[2]], strides=[s[1], s[2]], pads=[pt, pl, pb, pr])
        if op == "AveragePool":
            attrs["count_include_pad"] = 0
        _, outs = self.emit(op, [self.nchw_name(x)], op.lower(), **attrs)
        self.set(node, T([n, oh, ow, c], name=outs[0], nchw=True, nonneg=x.nonneg))

    def op_MaxPool(self, node):
        self._pool(node, "MaxPool")

    def op_AvgPool(self, node):
        self._pool(node, "AveragePool")

    # --- element-wise
    def _unary(self, op, t, **attrs):
        name = t.name if (t.nchw or t.flat is None) and t.const is None else self.plain_name(t)
        node, outs = self.emit(op, [name], op.lower(), **attrs)
        out = T(t.shape, name=outs[0], nchw=t.nchw and name == t.name)
        out.node = node
        return out

    def _clip(self, t, lo, hi):
        lo_name = self.const_name(np.float32(lo), "min") if lo is not None else ""
        hi_name = self.const_name(np.float32(hi), "max") if hi is not None else ""
        node, outs = self.emit("Clip", [t.name if t.nchw else self.plain_name(t), lo_name, hi_name], "clip")
        out = T(t.shape, name=outs[0], nchw=t.nchw, nonneg=lo is not None and lo >= 0)
        out.node = node
        out.clip = (lo, hi)
        return out

    def _prelu(self, t, alpha):
        alpha = np.asarray(alpha, np.float32)
        if t.nchw and alpha.size == t.shape[3]:
            slope = alpha.reshape(-1, 1, 1)
        elif t.nchw:
            slope = np.transpose(np.broadcast_to(alpha, t.shape[-alpha.ndim:]).reshape([1] * (4 - alpha.ndim) + list(alpha.shape)), NCHW)[0]
        else:
            slope = alpha
        node, outs = self.emit("PRelu", [t.name if t.nchw else self.plain_name(t), self.const_name(slope, "slope")], "prelu")
        return T(t.shape, name=outs[0], nchw=t.nchw)

    def op_Relu(self, node):
        x = self.get(self.inputs_of(node)[0])
        if x.nonneg:
            self.set(node, x)
            return
        t = self._unary("Relu", x)
        t.nonneg = True
        t.relu_src = x
        t.fusable = self.single_use(node["name"] + ":0")
        self.set(node, t)

    def op_Relu6(self, node):
        self.set(node, self._clip(self.get(self.inputs_of(node)[0]), 0.0, 6.0))

    def op_Sigmoid(self, node):
        self.set(node, self._unary("Sigmoid", self.get(self.inputs_of(node)[0])))

    def op_Tanh(self, node):
        self.set(node, self._unary("Tanh", self.get(self.inputs_of(node)[0])))

    def op_Elu(self, node):
        self.set(node, self._unary("Elu", self.get(self.inputs_of(node)[0])))

    def op_LeakyRelu(self, node):
        self.set(node, self._unary("LeakyRelu", self.get(self.inputs_of(node)[0]), alpha=float(_attr(node, "alpha", 0.2))))

    def op_Prelu(self, node):
        ins = self.inputs_of(node)
        self.set(node, self._prelu(self.get(ins[0]), self.get(ins[1]).const))

    def op_Abs(self, node):
        x = self.get(self.inputs_of(node)[0])
        if x.const is not None:
            self.set(node, T(x.shape, const=np.abs(x.const)))
            return
        t = self._unary("Abs", x)
        t.abs_src = x
        self.set(node, t)

    def op_Square(self, node):
        x = self.get(self.inputs_of(node)[0])
        t = T(x.shape, name=None)
        t.square_src = x
        t.lazy = lambda: self._binary_emit("Mul", x, x, x.shape)
        self.set(node, t)

    def op_Sum(self, node):
        ins = self.inputs_of(node)
        x = self.get(ins[0])
        axes = np.atleast_1d(self.get(ins[1]).const).astype(int).tolist()
        keep = bool(_attr(node, "keep_dims", False))
        rank = len(x.shape)
        axes = sorted(a % rank for a in axes)
        shape = [1 if i in axes else d for i, d in enumerate(x.shape)] if keep else [d for i, d in enumerate(x.shape) if i not in axes]
        if getattr(x, "square_src", None) is not None and not x.square_src.nchw and x.square_src.flat is None:
            t = T(shape)
            t.sumsq = (x.square_src, axes, keep)
            self.set(node, t)
            return
        self._materialize(x)
        _, outs = self.emit("ReduceSum", [self.plain_name(x)], "reducesum", axes=axes, keepdims=int(keep))
        self.set(node, T(shape, name=outs[0]))

    def op_Rsqrt(self, node):
        x = self.get(self.inputs_of(node)[0])
        if x.const is not None:
            self.set(node, T(x.shape, const=(1.0 / np.sqrt(x.const)).astype(np.float32)))
            return
        if getattr(x, "sumsq_max", None) is not None:
            t = T(x.shape)
            t.rsqrt_sumsq = x.sumsq_max
            self.set(node, t)
            return
        self._materialize(x)
        _, outs = self.emit("Sqrt", [self.plain_name(x)], "sqrt")
        _, outs = self.emit("Reciprocal", [outs[0]], "recip")
        self.set(node, T(x.shape, name=outs[0]))

    def _materialize(self, t):
        if t.name is None and t.const is None:
            if getattr(t, "lazy", None):
                t.name = t.lazy()
            else:
                raise NotImplementedError("unsupported pattern (lazy tensor without materialisation)")

    def _bcast_shape(self, a, b):
        return list(np.broadcast_shapes(tuple(a), tuple(b)))

    def _const_for(self, c, x_nchw, rank):
        """Const value laid out to combine with a (rank-4, NCHW if x_nchw) tensor."""
        c = np.asarray(c, np.float32)
        if c.ndim == 0 or c.size == 1:
            return c.reshape([]) if c.ndim == 0 else c.reshape([1] * c.ndim)
        if x_nchw:
            c4 = c.reshape([1] * (4 - c.ndim) + list(c.shape))
            c4 = np.transpose(c4, NCHW)
            # drop leading 1s so OpenCV sees [C,1,1]
            while c4.ndim > 3 and c4.shape[0] == 1:
                c4 = c4[0]
            return c4
        return c

    def _binary_emit(self, op, a, b, shape):
        """a, b: T (non-const or const). Emits op, returns name (layout: NCHW if the result
        is 4-D and some non-const input is NCHW, else plain)."""
        for t in (a, b):
            self._materialize(t)
        use_nchw = len(shape) == 4 and any(t.const is None and t.nchw for t in (a, b))
        names = []
        for t in (a, b):
            if t.const is not None:
                names.append(self.const_name(self._const_for(t.const, use_nchw, len(shape)), "k"))
            elif use_nchw:
                names.append(self.nchw_name(t) if len(t.shape) == 4 else None)
            else:
                names.append(self.plain_name(t))
        assert None not in names, "broadcast of lower-rank tensor against NCHW tensor"
        node, outs = self.emit(op, names, op.lower())
        self._last_nchw = use_nchw
        self._last_node = node
        return outs[0]

    def _binary(self, node, op, npfn):
        ins = self.inputs_of(node)
        a, b = self.get(ins[0]), self.get(ins[1])
        shape = self._bcast_shape(a.shape, b.shape)
        if a.const is not None and b.const is not None:
            self.set(node, T(shape, const=npfn(a.const, b.const).astype(a.const.dtype)))
            return None
        name = self._binary_emit(op, a, b, shape)
        t = T(shape, name=name, nchw=self._last_nchw)
        t.node = self._last_node
        self.set(node, t)
        return t

    def _try_fold_into_conv(self, node, x, c, mode):
        """x: conv output (single use), c: per-out-channel const. mode 'add' or 'mul'."""
        if x.node is None or x.node.op_type != "Conv" or not getattr(x, "fusable", False):
            return False
        cout = x.shape[3]
        c = np.asarray(c, np.float32)
        if c.size not in (1, cout) or (c.ndim > 1 and c.shape[-1] != c.size):
            return False
        cv = np.broadcast_to(c.reshape(-1), (cout,)).astype(np.float32)
        conv = x.conv
        w, b = conv["w"], conv["b"]
        if mode == "add":
            b = (cv if b is None else (b + cv)).astype(np.float32)
        else:
            w = (w * cv.reshape(-1, 1, 1, 1)).astype(np.float32)
            b = None if b is None else (b * cv).astype(np.float32)
        # rewrite initialisers of the conv node
        self.initializers = [i for i in self.initializers if i.name not in x.node.input[1:]]
        wname = self.const_name(w, "w")
        inputs = [x.node.input[0], wname]
        if b is not None:
            inputs.append(self.const_name(b, "b"))
        del x.node.input[:]
        x.node.input.extend(inputs)
        out = T(x.shape, name=x.name, nchw=True)
        out.node = x.node
        out.conv = {"w": w, "b": b, "wname": wname}
        out.fusable = self.single_use(node["name"] + ":0")
        self.set(node, out)
        return True

    def op_Add(self, node):
        ins = self.inputs_of(node)
        a, b = self.get(ins[0]), self.get(ins[1])
        # prelu idiom: relu(x) + c * (x - |x|)   or   x + c * (x - |x|) with x >= 0
        for r, m in ((a, b), (b, a)):
            pm = getattr(m, "prelu_mul", None)
            if pm is None:
                continue
            x, c = pm
            if getattr(r, "relu_src", None) is x:
                self._drop(r)
                self.set(node, self._prelu(x, 2.0 * np.asarray(c, np.float32)))
                return
            if r is x and x.nonneg:
                self.set(node, x)
                return
        for x, c in ((a, b), (b, a)):
            if c.const is not None and x.const is None and self._try_fold_into_conv(node, x, c.const, "add"):
                return
        self._binary(node, "Add", np.add)

    op_AddV2 = op_Add
    op_BiasAdd = op_Add

    def _drop(self, t):
        if t.node is not None and t.node in self.onnx_nodes and getattr(t, "fusable", False):
            self.onnx_nodes.remove(t.node)

    def op_Sub(self, node):
        ins = self.inputs_of(node)
        a, b = self.get(ins[0]), self.get(ins[1])
        if getattr(b, "abs_src", None) is a:
            # x - |x|: keep lazy, usually part of the prelu idiom
            t = T(a.shape)
            t.x_minus_abs = a
            t.lazy = lambda: self._binary_emit("Sub", a, self._mat(b), a.shape)
            self.set(node, t)
            return
        if b.const is not None and a.const is None:
            neg = T(b.shape, const=(-b.const).astype(np.float32))
            if self._try_fold_into_conv(node, a, neg.const, "add"):
                return
        self._binary(node, "Sub", np.subtract)

    def _mat(self, t):
        self._materialize(t)
        return t

    def op_Mul(self, node):
        ins = self.inputs_of(node)
        a, b = self.get(ins[0]), self.get(ins[1])
        for x, c in ((a, b), (b, a)):
            if getattr(x, "x_minus_abs", None) is not None and c.const is not None:
                t = T(x.shape)
                t.prelu_mul = (x.x_minus_abs, c.const)
                t.lazy = lambda x=x, c=c: self._binary_emit("Mul", self._mat(x), c, x.shape)
                self.set(node, t)
                return
            rs = getattr(c, "rsqrt_sumsq", None)
            if rs is not None and rs[0] is x:
                _, axes, keep, eps = rs
                assert len(axes) == 1
                # x / ||x||_2 (OpenCV 4.6 has no LpNormalization; ReduceL2 + broadcast Div work)
                xn = self.plain_name(x)
                _, outs = self.emit("ReduceL2", [xn], "l2", axes=list(axes), keepdims=1)
                _, outs = self.emit("Div", [xn, outs[0]], "l2norm")
                self.set(node, T(x.shape, name=outs[0]))
                return
        for x, c in ((a, b), (b, a)):
            if c.const is not None and x.const is None and self._try_fold_into_conv(node, x, c.const, "mul"):
                return
        self._binary(node, "Mul", np.multiply)

    def op_RealDiv(self, node):
        ins = self.inputs_of(node)
        b = self.get(ins[1])
        if b.const is not None:
            a = self.get(ins[0])
            if a.const is None:
                shape = self._bcast_shape(a.shape, b.shape)
                name = self._binary_emit("Mul", a, T(b.shape, const=(1.0 / b.const).astype(np.float32)), shape)
                self.set(node, T(shape, name=name, nchw=self._last_nchw))
                return
        self._binary(node, "Div", np.divide)

    def _minmax(self, node, is_min):
        ins = self.inputs_of(node)
        a, b = self.get(ins[0]), self.get(ins[1])
        if a.const is not None and b.const is not None:
            self._binary(node, "Min" if is_min else "Max", np.minimum if is_min else np.maximum)
            return
        x, c = (a, b) if b.const is not None else (b, a)
        if c.const is not None and np.asarray(c.const).size == 1:
            v = float(np.asarray(c.const).reshape(-1)[0])
            sq = getattr(x, "sumsq", None)
            if sq is not None and not is_min:
                t = T(x.shape)
                t.sumsq_max = (sq[0], sq[1], sq[2], v)
                self.set(node, t)
                return
            clip = getattr(x, "clip", None)
            if is_min and getattr(x, "relu_src", None) is not None and x.fusable:
                self._drop(x)
                self.set(node, self._clip(x.relu_src, 0.0, v))
                return
            if not is_min and clip is not None and clip[0] is not None and clip[0] >= v:
                self.set(node, x)
                return
            if not is_min and x.nonneg and v <= 0:
                self.set(node, x)
                return
            self._materialize(x)
            self.set(node, self._clip(x, None if is_min else v, v if is_min else None))
            return
        self._binary(node, "Min" if is_min else "Max", np.minimum if is_min else np.maximum)

    def op_Minimum(self, node):
        self._minmax(node, True)

    def op_Maximum(self, node):
        self._minmax(node, False)

    # --- shape ops
    def op_Pad(self, node):
        ins = self.inputs_of(node)
        x = self.get(ins[0])
        p = np.asarray(self.get(ins[1]).const, np.int64).reshape(-1, 2)
        value = 0.0
        if len(ins) > 2:
            value = float(self.get(ins[2]).const)
        shape = [d + int(p[i, 0] + p[i, 1]) for i, d in enumerate(x.shape)]
        if x.const is not None:
            self.set(node, T(shape, const=np.pad(x.const, p, constant_values=value)))
            return
        if len(x.shape) == 4:
            pn = p[list(NCHW)]
            name = self.nchw_name(x)
            nchw = True
        else:
            pn, name, nchw = p, self.plain_name(x), False
        pads = list(pn[:, 0]) + list(pn[:, 1])
        pnode, outs = self.emit("Pad", [name, self.const_name(pads, "pads", np.int64),
                                        self.const_name(np.float32(value), "padv")], "pad", mode="constant")
        t = T(shape, name=outs[0], nchw=nchw, nonneg=x.nonneg and value >= 0)
        t.node = pnode
        if nchw and value == 0.0 and not p[0].any() and not p[3].any():
            t.pad_spatial = (int(p[1, 0]), int(p[1, 1]), int(p[2, 0]), int(p[2, 1]))
            t.pad_input = x
            t.pad_single = self.single_use(node["name"] + ":0") and all(
                self.nodes[n]["op"] in ("Conv2D", "_FusedConv2D", "DepthwiseConv2dNative", "FusedDepthwiseConv2dNative")
                and _attr(self.nodes[n], "padding") == "VALID"
                for n in self._users(node["name"]))
        self.set(node, t)

    op_PadV2 = op_Pad

    def _users(self, name):
        key = name + ":0"
        return [n for n, nd in self.nodes.items() if any(self._key(i) == key for i in nd.get("input", []))]

    def op_Reshape(self, node):
        ins = self.inputs_of(node)
        x = self.get(ins[0])
        shape = [int(s) for s in np.asarray(self.get(ins[1]).const).reshape(-1)]
        total = int(np.prod(x.shape))
        if -1 in shape:
            known = int(np.prod([s for s in shape if s != -1]))
            shape[shape.index(-1)] = total // known
        if x.const is not None:
            self.set(node, T(shape, const=x.const.reshape(shape)))
            return
        self._reshape_to(node, x, shape)

    def _reshape_to(self, node, x, shape):
        if x.nchw and len(shape) == 2 and shape[0] == x.shape[0] and not _trivial_perm([x.shape[i] for i in NCHW], NHWC):
            # flatten of NCHW data: keep lazy, MatMul consumers permute their weights
            self.set(node, T(shape, flat=x))
            return
        _, outs = self.emit("Reshape", [self.plain_name(x), self.const_name(shape, "shape", np.int64)], "reshape")
        self.set(node, T(shape, name=outs[0]))

    def op_Squeeze(self, node):
        x = self.get(self.inputs_of(node)[0])
        dims = _attr(node, "squeeze_dims", []) or _attr(node, "axis", [])
        rank = len(x.shape)
        dims = [d % rank for d in dims] if dims else [i for i, d in enumerate(x.shape) if d == 1]
        shape = [d for i, d in enumerate(x.shape) if i not in dims]
        if x.const is not None:
            self.set(node, T(shape, const=x.const.reshape(shape)))
            return
        self._reshape_to(node, x, shape)

    def op_ExpandDims(self, node):
        ins = self.inputs_of(node)
        x = self.get(ins[0])
        ax = int(np.asarray(self.get(ins[1]).const).reshape(-1)[0])
        shape = list(x.shape)
        ax = ax % (len(shape) + 1)
        shape.insert(ax, 1)
        if x.const is not None:
            self.set(node, T(shape, const=x.const.reshape(shape)))
            return
        self._reshape_to(node, x, shape)

    def op_Shape(self, node):
        x = self.get(self.inputs_of(node)[0])
        self.set(node, T([len(x.shape)], const=np.asarray(x.shape, np.int32)))

    def op_Pack(self, node):
        vals = [self.get(i) for i in self.inputs_of(node)]
        if any(v.const is None for v in vals):
            raise NotImplementedError(f"Pack of non-const {node['name']}")
        arr = np.stack([np.asarray(v.const) for v in vals], axis=_attr(node, "axis", 0))
        self.set(node, T(arr.shape, const=arr))

    def op_StridedSlice(self, node):
        ins = self.inputs_of(node)
        x = self.get(ins[0])
        begin, end, strides = (np.asarray(self.get(i).const).reshape(-1).tolist() for i in ins[1:4])
        bm, em = _attr(node, "begin_mask", 0), _attr(node, "end_mask", 0)
        sam = _attr(node, "shrink_axis_mask", 0)
        if _attr(node, "ellipsis_mask", 0) or _attr(node, "new_axis_mask", 0):
            raise NotImplementedError("StridedSlice ellipsis/new_axis")
        rank = len(x.shape)
        starts, ends, steps, shrink = [], [], [], []
        for i in range(rank):
            if i >= len(begin):
                starts.append(0), ends.append(x.shape[i]), steps.append(1)
                continue
            s = strides[i]
            b = None if bm >> i & 1 else begin[i]
            e = None if em >> i & 1 else end[i]
            if sam >> i & 1:
                b = begin[i] % x.shape[i]
                e, s = b + 1, 1
                shrink.append(i)
            sl = slice(b, e, s).indices(x.shape[i])
            starts.append(sl[0]), ends.append(sl[1]), steps.append(sl[2])
        idx = tuple(slice(a, b, c) for a, b, c in zip(starts, ends, steps))
        if x.const is not None:
            v = np.asarray(x.const)[idx]
            v = v.reshape([d for i, d in enumerate(v.shape) if i not in shrink])
            self.set(node, T(v.shape, const=v))
            return
        self._slice(node, x, starts, ends, steps, shrink)

    def _slice(self, node, x, starts, ends, steps, shrink):
        rank = len(x.shape)
        full = [len(range(a, b, c)) for a, b, c in zip(starts, ends, steps)]
        axes = [i for i in range(rank) if full[i] != x.shape[i]]
        if x.nchw:
            src, perm = x.name, NCHW
        else:
            src, perm = self.plain_name(x), tuple(range(rank))
        oaxes = [perm.index(a) for a in axes]
        _, outs = self.emit("Slice", [src, self.const_name([starts[a] for a in axes], "st", np.int64),
                                      self.const_name([ends[a] for a in axes], "en", np.int64),
                                      self.const_name(oaxes, "ax", np.int64),
                                      self.const_name([steps[a] for a in axes], "sp", np.int64)], "slice")
        t = T(full, name=outs[0], nchw=x.nchw)
        if shrink:
            shape = [d for i, d in enumerate(full) if i not in shrink]
            self._reshape_to(node, t, shape)
        else:
            self.set(node, t)

    def op_Slice(self, node):
        ins = self.inputs_of(node)
        x = self.get(ins[0])
        begin = np.asarray(self.get(ins[1]).const).reshape(-1).tolist()
        size = np.asarray(self.get(ins[2]).const).reshape(-1).tolist()
        ends = [x.shape[i] if size[i] == -1 else begin[i] + size[i] for i in range(len(begin))]
        if x.const is not None:
            v = np.asarray(x.const)[tuple(slice(a, b) for a, b in zip(begin, ends))]
            self.set(node, T(v.shape, const=v))
            return
        self._slice(node, x, begin, ends, [1] * len(begin), [])

    def op_ConcatV2(self, node):
        ins = self.inputs_of(node)
        vals = [self.get(i) for i in ins[:-1]]
        axis = int(np.asarray(self.get(ins[-1]).const).reshape(-1)[0])
        rank = len(vals[0].shape)
        axis %= rank
        shape = list(vals[0].shape)
        shape[axis] = sum(v.shape[axis] for v in vals)
        if all(v.const is not None for v in vals):
            self.set(node, T(shape, const=np.concatenate([v.const for v in vals], axis)))
            return
        if rank == 4 and any(v.nchw for v in vals):
            names = [self.nchw_name(v) for v in vals]
            _, outs = self.emit("Concat", names, "concat", axis=NCHW.index(axis))
            self.set(node, T(shape, name=outs[0], nchw=True))
            return
        names = [self.plain_name(v) for v in vals]
        _, outs = self.emit("Concat", names, "concat", axis=axis)
        self.set(node, T(shape, name=outs[0]))

    def op_Transpose(self, node):
        ins = self.inputs_of(node)
        x = self.get(ins[0])
        perm = [int(p) for p in np.asarray(self.get(ins[1]).const).reshape(-1)]
        shape = [x.shape[p] for p in perm]
        if x.const is not None:
            self.set(node, T(shape, const=np.transpose(x.const, perm)))
            return
        name = self.plain_name(x)
        self.set(node, T(shape, name=self.transposed(name, x.shape, perm)))

    def op_Mean(self, node):
        ins = self.inputs_of(node)
        x = self.get(ins[0])
        axes = sorted(int(a) % len(x.shape) for a in np.atleast_1d(self.get(ins[1]).const))
        keep = bool(_attr(node, "keep_dims", False))
        shape = [1 if i in axes else d for i, d in enumerate(x.shape)] if keep else [d for i, d in enumerate(x.shape) if i not in axes]
        if len(x.shape) == 4 and axes == [1, 2]:
            _, outs = self.emit("GlobalAveragePool", [self.nchw_name(x)], "gap")
            t = T([x.shape[0], 1, 1, x.shape[3]], name=outs[0], nchw=True)
            if keep:
                self.set(node, t)
            else:
                self._reshape_to(node, t, shape)
            return
        if len(x.shape) == 4 and x.nchw:
            _, outs = self.emit("ReduceMean", [x.name], "mean", axes=[NCHW.index(a) for a in axes], keepdims=1)
            t = T([1 if i in axes else d for i, d in enumerate(x.shape)], name=outs[0], nchw=True)
            if keep:
                self.set(node, t)
            else:
                self._reshape_to(node, t, shape)
            return
        _, outs = self.emit("ReduceMean", [self.plain_name(x)], "mean", axes=axes, keepdims=int(keep))
        self.set(node, T(shape, name=outs[0]))

    def op_Softmax(self, node):
        x = self.get(self.inputs_of(node)[0])
        rank = len(x.shape)
        if x.nchw:
            _, outs = self.emit("Softmax", [x.name], "softmax", axis=1)
            assert x.shape[1] == 1 and x.shape[2] == 1, "softmax over NCHW needs 1x1 spatial"
            self.set(node, T(x.shape, name=outs[0], nchw=True))
            return
        assert rank == 2, "Softmax on rank != 2"
        _, outs = self.emit("Softmax", [self.plain_name(x)], "softmax", axis=1)
        self.set(node, T(x.shape, name=outs[0]))

    def _matmul(self, node, fused):
        ins = self.inputs_of(node)
        x = self.get(ins[0])
        w = self.get(ins[1]).const
        assert w is not None, "MatMul with non-const weights"
        if _attr(node, "transpose_a", False):
            raise NotImplementedError("MatMul transpose_a")
        if _attr(node, "transpose_b", False):
            w = w.T
        w = w.astype(np.float32)
        if x.flat is not None:
            src = x.flat
            n, h, wd, c = src.shape
            # ONNX flatten index (c, h, w) -> TF flatten index (h, w, c)
            perm = np.arange(h * wd * c).reshape(h, wd, c).transpose(2, 0, 1).reshape(-1)
            w = w[perm]
            _, outs = self.emit("Flatten", [src.name], "flatten", axis=1)
            xname = outs[0]
        else:
            assert len(x.shape) == 2
            xname = self.plain_name(x)
        bias = np.zeros(w.shape[1], np.float32)
        if fused and fused[0] == "BiasAdd":
            bias = self.get(ins[2]).const.astype(np.float32)
            fused = fused[1:]
        _, outs = self.emit("Gemm", [xname, self.const_name(np.ascontiguousarray(w.T), "w"), self.const_name(bias, "b")],
                            "gemm", transB=1)
        t = T([x.shape[0], w.shape[1]], name=outs[0])
        t = self._fused_activation(node, fused, t, ins)
        self.set(node, t)

    def op_MatMul(self, node):
        self._matmul(node, [])

    def op__FusedMatMul(self, node):
        self._matmul(node, _attr(node, "fused_ops", []) or [])

    def op_ResizeBilinear(self, node):
        ins = self.inputs_of(node)
        x = self.get(ins[0])
        size = [int(s) for s in np.asarray(self.get(ins[1]).const).reshape(-1)]
        if _attr(node, "align_corners", False):
            mode = "align_corners"
        elif _attr(node, "half_pixel_centers", False):
            mode = "half_pixel"
        else:
            mode = "asymmetric"
        n, h, w, c = x.shape
        roi = self.const_name(np.zeros(0, np.float32), "roi")
        scales = self.const_name(np.zeros(0, np.float32), "scales")
        sizes = self.const_name([n, c, size[0], size[1]], "sizes", np.int64)
        _, outs = self.emit("Resize", [self.nchw_name(x), roi, scales, sizes], "resize",
                            mode="linear", coordinate_transformation_mode=mode)
        self.set(node, T([n, size[0], size[1], c], name=outs[0], nchw=True))

    def op_DepthToSpace(self, node):
        x = self.get(self.inputs_of(node)[0])
        b = _attr(node, "block_size")
        n, h, w, c = x.shape
        _, outs = self.emit("DepthToSpace", [self.nchw_name(x)], "d2s", blocksize=b, mode="DCR")
        self.set(node, T([n, h * b, w * b, c // (b * b)], name=outs[0], nchw=True))

    # ---------------------------------------------------------------- model
    def build(self, outputs):
        graph_outputs = []
        for spec in outputs:
            vals = [self.get(r) for r in spec["tf"]]
            for v in vals:
                self._materialize(v)
            if len(vals) == 1:
                name = self.plain_name(vals[0])
            else:
                axis = spec["concat_axis"]
                _, outs = self.emit("Concat", [self.plain_name(v) for v in vals], "concat", axis=axis)
                name = outs[0]
            shape = list(vals[0].shape)
            if len(vals) > 1:
                shape[spec["concat_axis"]] = sum(v.shape[spec["concat_axis"]] for v in vals)
            self.emit("Identity", [name], "out")
            self.onnx_nodes[-1].output[0] = spec["name"]
            self.onnx_nodes[-1].name = spec["name"]
            graph_outputs.append(helper.make_tensor_value_info(spec["name"], TensorProto.FLOAT, shape))
        self._prune(graph_outputs)
        used = {i for n in self.onnx_nodes for i in n.input}
        inits = [i for i in self.initializers if i.name in used]
        opset = OPSET
        if any(n.op_type == "Clip" for n in self.onnx_nodes):
            # OpenCV 4.6 only imports Clip with min/max attributes (opset <= 10): emit the
            # whole model at opset 10, where Pad also takes attributes.
            opset = 10
            inits_by_name = {i.name: numpy_helper.to_array(i) for i in inits}
            for n in self.onnx_nodes:
                if n.op_type == "Clip":
                    lo, hi = (list(n.input) + ["", ""])[1:3]
                    attrs = []
                    if lo:
                        attrs.append(helper.make_attribute("min", float(inits_by_name[lo])))
                    if hi:
                        attrs.append(helper.make_attribute("max", float(inits_by_name[hi])))
                    del n.input[1:]
                    n.attribute.extend(attrs)
                elif n.op_type == "Pad":
                    pads = [int(v) for v in inits_by_name[n.input[1]]]
                    value = float(inits_by_name[n.input[2]])
                    del n.input[1:]
                    n.attribute.extend([helper.make_attribute("pads", pads), helper.make_attribute("value", value)])
                elif n.op_type in ("Resize", "Slice"):
                    raise NotImplementedError(f"{n.op_type} together with Clip (opset 10) not supported")
            used = {i for n in self.onnx_nodes for i in n.input}
            inits = [i for i in inits if i.name in used]
        graph = helper.make_graph(self.onnx_nodes, "graph_model", self.inputs, graph_outputs, inits)
        model = helper.make_model(graph, producer_name="faceauth-graph-model",
                                  opset_imports=[helper.make_opsetid("", opset)])
        model.ir_version = 7
        onnx.checker.check_model(model)
        return model

    def _prune(self, graph_outputs):
        need = {o.name for o in graph_outputs}
        keep = []
        for n in reversed(self.onnx_nodes):
            if any(o in need for o in n.output):
                keep.append(n)
                need.update(i for i in n.input if i)
        self.onnx_nodes = list(reversed(keep))


def convert(package_dir, manifest):
    files = manifest["source"]["files"]
    model_json = os.path.join(package_dir, files[0])
    options = manifest.get("graph", {})
    conv = Converter(model_json, options)
    return conv.build(options["outputs"])
