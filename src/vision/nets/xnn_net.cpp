#include "vision/nets/xnn_net.h"

#include <xnnpack.h>

#include <algorithm>
#include <cstring>
#include <deque>
#include <limits>
#include <map>
#include <mutex>
#include <optional>
#include <set>

namespace faceauth {
namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();

void check(xnn_status status, const std::string& what) {
  if (status != xnn_status_success)
    throw OnnxError("xnnpack: " + what + " failed (status " + std::to_string(status) + ")");
}

void initialise_xnnpack() {
  static std::once_flag once;
  static xnn_status status = xnn_status_success;
  std::call_once(once, [] { status = xnn_initialize(nullptr); });
  check(status, "xnn_initialize");
}

// A tensor of the ONNX graph as the runtime holds it. `dims` are ONNX's; a 4D value with
// `nhwc` set is stored as [N, H, W, C].
struct Value {
  uint32_t id = XNN_INVALID_VALUE_ID;
  std::vector<size_t> dims;
  bool nhwc = false;
  // Zero spatial padding [top, left, bottom, right] still to apply (a folded Pad).
  std::array<uint32_t, 4> pending_pad{0, 0, 0, 0};
};

struct Clamp {
  float min = -kInf, max = kInf;
};

struct HostConcat {  // a final Concat of flat tensors along an axis with only 1s before it
  std::vector<std::string> inputs;
};

std::vector<size_t> stored_dims(const Value& v) {
  if (!v.nhwc) return v.dims;
  return {v.dims[0], v.dims[2], v.dims[3], v.dims[1]};
}

size_t element_count(const std::vector<size_t>& dims) {
  size_t n = 1;
  for (size_t d : dims) n *= d;
  return n;
}

}  // namespace

struct XnnNet::Impl {
  const OnnxGraph& graph;  // read while building only
  xnn_subgraph_t subgraph = nullptr;
  xnn_runtime_t runtime = nullptr;
  std::map<std::string, Value> values;
  std::map<std::string, size_t> consumers;               // how many nodes read each tensor
  std::map<std::string, const OnnxNode*> only_consumer;  // the node, when exactly one
  std::set<std::string> skipped;                         // nodes fused into the one before
  std::map<std::string, uint32_t> external_ids;          // graph outputs (after aliases)
  std::map<std::string, HostConcat> concats;
  std::deque<std::vector<float>> weights;  // static data; must outlive the runtime
  std::vector<float> input_buffer;
  std::vector<std::vector<float>> output_buffers;  // by external id - 1
  std::vector<std::string> requested;
  std::vector<std::vector<std::string>> sources;  // of each requested output
  std::vector<bool> concatenated_output;          // a requested output is a host Concat
  int channels = 0, height = 0, width = 0;

  explicit Impl(const OnnxGraph& g) : graph(g) {}

  ~Impl() {
    if (runtime) xnn_delete_runtime(runtime);
    if (subgraph) xnn_delete_subgraph(subgraph);
  }

  const OnnxTensor& initializer(const std::string& name) const {
    auto it = graph.initializers.find(name);
    if (it == graph.initializers.end()) throw OnnxError("xnnpack: " + name + " is not a constant");
    return it->second;
  }
  bool is_constant(const std::string& name) const { return graph.initializers.contains(name); }

  Value& value(const std::string& name) {
    auto it = values.find(name);
    if (it == values.end()) throw OnnxError("xnnpack: tensor " + name + " not defined before use");
    return it->second;
  }

  const float* store(std::vector<float> data) {
    data.resize(data.size() + XNN_EXTRA_BYTES / sizeof(float));
    weights.push_back(std::move(data));
    return weights.back().data();
  }

  uint32_t define_static(const std::vector<size_t>& dims, std::vector<float> data) {
    uint32_t id = XNN_INVALID_VALUE_ID;
    check(xnn_define_tensor_value(subgraph, xnn_datatype_fp32, dims.size(), dims.data(), store(std::move(data)),
                                  XNN_INVALID_VALUE_ID, 0, &id),
          "static tensor");
    return id;
  }

  // Defines the value `name` (stored dims from `v`), external when it is a graph output.
  Value& define_output(const std::string& name, Value v) {
    std::vector<size_t> dims = stored_dims(v);
    uint32_t external = XNN_INVALID_VALUE_ID;
    uint32_t flags = 0;
    if (auto it = external_ids.find(name); it != external_ids.end()) {
      external = it->second;
      flags = XNN_VALUE_FLAG_EXTERNAL_OUTPUT;
    }
    check(
        xnn_define_tensor_value(subgraph, xnn_datatype_fp32, dims.size(), dims.data(), nullptr, external, flags, &v.id),
        "tensor " + name);
    return values[name] = v;
  }

  // The activation after `node` when it alone reads the node's output and is fusable;
  // marks it skipped and returns the name the fused output takes.
  std::string fuse_activation(const OnnxNode& node, Clamp& clamp) {
    const std::string& out = node.outputs.at(0);
    auto it = only_consumer.find(out);
    if (it == only_consumer.end() || external_ids.contains(out)) return out;
    const OnnxNode& next = *it->second;
    if (next.op_type == "Relu") {
      clamp.min = 0;
    } else if (next.op_type == "Clip" && next.inputs.size() == 1) {
      clamp.min = next.attributes.contains("min") ? next.attributes.at("min").f : -kInf;
      clamp.max = next.attributes.contains("max") ? next.attributes.at("max").f : kInf;
    } else {
      return out;
    }
    skipped.insert(next.name + "\n" + next.outputs.at(0));
    return next.outputs.at(0);
  }

  static std::array<uint32_t, 4> node_pads(const OnnxNode& node) {  // top, left, bottom, right
    std::vector<int64_t> pads = node.ints_attr("pads", {0, 0, 0, 0});
    if (pads.size() != 4) throw OnnxError("xnnpack: " + node.op_type + " pads must have 4 values");
    if (node.attributes.contains("auto_pad") && node.attributes.at("auto_pad").s != "NOTSET") {
      throw OnnxError("xnnpack: auto_pad is not supported");
    }
    std::array<uint32_t, 4> out{};
    for (size_t i = 0; i < 4; ++i) out[i] = static_cast<uint32_t>(pads[i]);
    return out;
  }

  static size_t out_size(size_t in, uint32_t pad_a, uint32_t pad_b, size_t kernel, size_t stride) {
    size_t padded = in + pad_a + pad_b;
    if (padded < kernel) throw OnnxError("xnnpack: kernel larger than its input");
    return (padded - kernel) / stride + 1;
  }

  void conv(const OnnxNode& node) {
    Value in = value(node.inputs.at(0));
    if (!in.nhwc) throw OnnxError("xnnpack: Conv input must be 4D");
    const OnnxTensor& w = initializer(node.inputs.at(1));
    if (w.dims.size() != 4) throw OnnxError("xnnpack: Conv weights must be 4D");
    const size_t out_c = w.dims[0], group_in = w.dims[1], kh = w.dims[2], kw = w.dims[3];
    const size_t groups = static_cast<size_t>(node.int_attr("group", 1));
    const size_t in_c = in.dims[1];
    if (group_in * groups != in_c || out_c % groups) throw OnnxError("xnnpack: Conv channel mismatch");
    std::vector<int64_t> strides = node.ints_attr("strides", {1, 1});
    std::vector<int64_t> dilations = node.ints_attr("dilations", {1, 1});
    if (dilations != std::vector<int64_t>{1, 1}) throw OnnxError("xnnpack: dilated Conv is not supported");
    std::array<uint32_t, 4> pads = node_pads(node);
    for (size_t i = 0; i < 4; ++i) pads[i] += in.pending_pad[i];
    std::vector<float> bias(out_c, 0.0f);
    if (node.inputs.size() > 2 && !node.inputs[2].empty()) bias = initializer(node.inputs[2]).floats;

    Clamp clamp;
    std::string out_name = fuse_activation(node, clamp);
    Value out;
    out.nhwc = true;
    out.dims = {in.dims[0], out_c, out_size(in.dims[2], pads[0], pads[2], kh, static_cast<size_t>(strides[0])),
                out_size(in.dims[3], pads[1], pads[3], kw, static_cast<size_t>(strides[1]))};
    uint32_t bias_id = define_static({out_c}, bias);
    const bool depthwise = groups == in_c && group_in == 1 && groups > 1;
    std::vector<float> filter(w.floats.size());
    if (depthwise) {  // [O, 1, KH, KW] -> [1, KH, KW, O]
      for (size_t o = 0; o < out_c; ++o)
        for (size_t k = 0; k < kh * kw; ++k) filter[k * out_c + o] = w.floats[o * kh * kw + k];
    } else {  // [O, I, KH, KW] -> [O, KH, KW, I]
      for (size_t o = 0; o < out_c; ++o)
        for (size_t i = 0; i < group_in; ++i)
          for (size_t k = 0; k < kh * kw; ++k)
            filter[(o * kh * kw + k) * group_in + i] = w.floats[(o * group_in + i) * kh * kw + k];
    }
    std::vector<size_t> filter_dims =
        depthwise ? std::vector<size_t>{1, kh, kw, out_c} : std::vector<size_t>{out_c, kh, kw, group_in};
    uint32_t filter_id = define_static(filter_dims, std::move(filter));
    Value& defined = define_output(out_name, out);
    const auto sh = static_cast<uint32_t>(strides[0]), sw = static_cast<uint32_t>(strides[1]);
    if (depthwise) {
      check(xnn_define_depthwise_convolution_2d(subgraph, pads[0], pads[3], pads[2], pads[1], static_cast<uint32_t>(kh),
                                                static_cast<uint32_t>(kw), sh, sw, 1, 1,
                                                static_cast<uint32_t>(out_c / in_c), in_c, clamp.min, clamp.max, in.id,
                                                filter_id, bias_id, defined.id, 0),
            "depthwise conv " + node.name);
    } else {
      check(xnn_define_convolution_2d(subgraph, pads[0], pads[3], pads[2], pads[1], static_cast<uint32_t>(kh),
                                      static_cast<uint32_t>(kw), sh, sw, 1, 1, static_cast<uint32_t>(groups), group_in,
                                      out_c / groups, clamp.min, clamp.max, in.id, filter_id, bias_id, defined.id, 0),
            "conv " + node.name);
    }
  }

  void no_pending_pad(const Value& v, const OnnxNode& node) const {
    if (v.pending_pad != std::array<uint32_t, 4>{0, 0, 0, 0}) {
      throw OnnxError("xnnpack: a folded Pad reaches " + node.op_type);
    }
  }

  void add(const OnnxNode& node) {
    Value a = value(node.inputs.at(0));
    Value b = value(node.inputs.at(1));
    no_pending_pad(a, node);
    no_pending_pad(b, node);
    if (a.dims != b.dims || a.nhwc != b.nhwc) throw OnnxError("xnnpack: Add of different shapes");
    Clamp clamp;
    std::string out_name = fuse_activation(node, clamp);
    Value out = a;
    out.pending_pad = {0, 0, 0, 0};
    Value& defined = define_output(out_name, out);
    check(xnn_define_add2(subgraph, clamp.min, clamp.max, a.id, b.id, defined.id, 0), "add " + node.name);
  }

  void activation(const OnnxNode& node) {
    Value in = value(node.inputs.at(0));
    no_pending_pad(in, node);
    Value out = in;
    Value& defined = define_output(node.outputs.at(0), out);
    if (node.op_type == "Relu") {
      check(xnn_define_clamp(subgraph, 0.0f, kInf, in.id, defined.id, 0), "relu " + node.name);
      return;
    }
    // PRelu: slopes of shape [C], [C, 1, 1] or [1, C, 1, 1]
    const OnnxTensor& slope = initializer(node.inputs.at(1));
    if (!in.nhwc || static_cast<size_t>(slope.count()) != in.dims[1]) {
      throw OnnxError("xnnpack: PRelu needs one slope per channel");
    }
    uint32_t slope_id = define_static({in.dims[1]}, slope.floats);
    check(xnn_define_prelu(subgraph, in.id, slope_id, defined.id, 0), "prelu " + node.name);
  }

  void pool(const OnnxNode& node) {
    Value in = value(node.inputs.at(0));
    no_pending_pad(in, node);
    if (!in.nhwc) throw OnnxError("xnnpack: pooling input must be 4D");
    Value out = in;
    if (node.op_type == "GlobalAveragePool") {
      out.dims = {in.dims[0], in.dims[1], 1, 1};
      Value& defined = define_output(node.outputs.at(0), out);
      check(xnn_define_global_average_pooling_2d(subgraph, -kInf, kInf, in.id, defined.id, 0), "global average pool");
      return;
    }
    if (node.int_attr("ceil_mode", 0) != 0) throw OnnxError("xnnpack: ceil_mode pooling is not supported");
    std::vector<int64_t> kernel = node.ints_attr("kernel_shape");
    std::vector<int64_t> strides = node.ints_attr("strides", {1, 1});
    if (kernel.size() != 2 || strides.size() != 2) throw OnnxError("xnnpack: pooling must be 2D");
    std::array<uint32_t, 4> pads = node_pads(node);
    const bool padded = pads != std::array<uint32_t, 4>{0, 0, 0, 0};
    if (padded && (node.op_type == "MaxPool" || node.int_attr("count_include_pad", 0) != 0)) {
      throw OnnxError("xnnpack: padded " + node.op_type + " of this kind is not supported");
    }
    const auto kh = static_cast<size_t>(kernel[0]), kw = static_cast<size_t>(kernel[1]);
    const auto sh = static_cast<size_t>(strides[0]), sw = static_cast<size_t>(strides[1]);
    out.dims = {in.dims[0], in.dims[1], out_size(in.dims[2], pads[0], pads[2], kh, sh),
                out_size(in.dims[3], pads[1], pads[3], kw, sw)};
    Value& defined = define_output(node.outputs.at(0), out);
    const auto k0 = static_cast<uint32_t>(kh), k1 = static_cast<uint32_t>(kw);
    const auto s0 = static_cast<uint32_t>(sh), s1 = static_cast<uint32_t>(sw);
    if (node.op_type == "MaxPool") {
      check(xnn_define_max_pooling_2d(subgraph, pads[0], pads[3], pads[2], pads[1], k0, k1, s0, s1, 1, 1, -kInf, kInf,
                                      in.id, defined.id, 0),
            "max pool " + node.name);
    } else {
      check(xnn_define_average_pooling_2d(subgraph, pads[0], pads[3], pads[2], pads[1], k0, k1, s0, s1, -kInf, kInf,
                                          in.id, defined.id, 0),
            "average pool " + node.name);
    }
  }

  bool all_consumers_are(const std::string& tensor, const std::string& op) const {
    size_t found = 0;
    for (const OnnxNode& n : graph.nodes) {
      for (const std::string& input : n.inputs) {
        if (input != tensor) continue;
        if (n.op_type != op) return false;
        ++found;
      }
    }
    return found > 0;
  }

  void pad(const OnnxNode& node) {
    Value in = value(node.inputs.at(0));
    no_pending_pad(in, node);
    std::vector<int64_t> pads = node.ints_attr("pads");
    float constant = node.attributes.contains("value") ? node.attributes.at("value").f : 0.0f;
    if (node.inputs.size() > 1 && !node.inputs[1].empty()) pads = initializer(node.inputs[1]).ints;
    if (node.inputs.size() > 2 && !node.inputs[2].empty()) constant = initializer(node.inputs[2]).floats.at(0);
    std::string mode = node.attributes.contains("mode") ? node.attributes.at("mode").s : "constant";
    if (mode != "constant" || pads.size() != 2 * in.dims.size() || !in.nhwc) {
      throw OnnxError("xnnpack: only constant 4D Pad is supported");
    }
    if (std::any_of(pads.begin(), pads.end(), [](int64_t p) { return p < 0; })) {
      throw OnnxError("xnnpack: negative Pad");
    }
    Value out = in;
    for (size_t i = 0; i < 4; ++i) out.dims[i] = in.dims[i] + static_cast<size_t>(pads[i] + pads[i + 4]);
    const bool spatial_only = pads[0] == 0 && pads[1] == 0 && pads[4] == 0 && pads[5] == 0;
    if (constant == 0.0f && spatial_only && all_consumers_are(node.outputs.at(0), "Conv") &&
        !external_ids.contains(node.outputs.at(0))) {
      // Folded into the convolutions that read it: their implicit zero padding grows.
      Value folded = in;
      folded.pending_pad = {static_cast<uint32_t>(pads[2]), static_cast<uint32_t>(pads[3]),
                            static_cast<uint32_t>(pads[6]), static_cast<uint32_t>(pads[7])};
      values[node.outputs.at(0)] = folded;
      return;
    }
    // NCHW pads -> NHWC order
    const std::array<size_t, 4> order{0, 2, 3, 1};
    std::array<size_t, 4> pre{}, post{};
    for (size_t i = 0; i < 4; ++i) {
      pre[i] = static_cast<size_t>(pads[order[i]]);
      post[i] = static_cast<size_t>(pads[order[i] + 4]);
    }
    Value& defined = define_output(node.outputs.at(0), out);
    check(xnn_define_static_constant_pad(subgraph, pre.data(), post.data(), constant, in.id, defined.id, 0),
          "pad " + node.name);
  }

  void transpose(const OnnxNode& node) {
    Value in = value(node.inputs.at(0));
    no_pending_pad(in, node);
    if (!in.nhwc || node.ints_attr("perm") != std::vector<int64_t>{0, 2, 3, 1}) {
      throw OnnxError("xnnpack: only Transpose NCHW -> NHWC is supported");
    }
    Value out = in;  // the stored NHWC data is the transposed tensor
    out.nhwc = false;
    out.dims = {in.dims[0], in.dims[2], in.dims[3], in.dims[1]};
    if (external_ids.contains(node.outputs.at(0))) throw OnnxError("xnnpack: a Transpose is a graph output");
    values[node.outputs.at(0)] = out;
  }

  void reshape(const OnnxNode& node) {
    Value in = value(node.inputs.at(0));
    no_pending_pad(in, node);
    if (in.nhwc && in.dims[2] * in.dims[3] != 1 && in.dims[1] != 1) {
      throw OnnxError("xnnpack: Reshape of an NCHW tensor with spatial extent");
    }
    std::vector<int64_t> shape = initializer(node.inputs.at(1)).ints;
    const size_t total = element_count(in.dims);
    std::vector<size_t> dims;
    std::optional<size_t> unknown;
    size_t known = 1;
    for (size_t i = 0; i < shape.size(); ++i) {
      size_t d = shape[i] == 0 ? in.dims.at(i) : static_cast<size_t>(shape[i]);
      if (shape[i] == -1) {
        unknown = i;
        d = 1;
      }
      dims.push_back(d);
      known *= d;
    }
    if (unknown) dims[*unknown] = total / known;
    if (element_count(dims) != total) throw OnnxError("xnnpack: Reshape changes the element count");
    Value out;
    out.dims = dims;
    Value& defined = define_output(node.outputs.at(0), out);
    check(xnn_define_static_reshape(subgraph, dims.size(), dims.data(), in.id, defined.id, 0), "reshape " + node.name);
  }

  void gemm(const OnnxNode& node) {
    Value in = value(node.inputs.at(0));
    const OnnxTensor& w = initializer(node.inputs.at(1));
    const bool trans_b = node.int_attr("transB", 0) != 0;
    if (node.int_attr("transA", 0) != 0 || in.dims.size() != 2 || w.dims.size() != 2 ||
        (node.attributes.contains("alpha") && node.attributes.at("alpha").f != 1.0f) ||
        (node.attributes.contains("beta") && node.attributes.at("beta").f != 1.0f)) {
      throw OnnxError("xnnpack: only plain Gemm is supported");
    }
    const size_t out_c = static_cast<size_t>(trans_b ? w.dims[0] : w.dims[1]);
    const size_t in_c = static_cast<size_t>(trans_b ? w.dims[1] : w.dims[0]);
    if (in_c != in.dims[1]) throw OnnxError("xnnpack: Gemm size mismatch");
    uint32_t filter_id = define_static({static_cast<size_t>(w.dims[0]), static_cast<size_t>(w.dims[1])}, w.floats);
    uint32_t bias_id = XNN_INVALID_VALUE_ID;
    if (node.inputs.size() > 2 && !node.inputs[2].empty()) {
      const OnnxTensor& b = initializer(node.inputs[2]);
      if (static_cast<size_t>(b.count()) != out_c) throw OnnxError("xnnpack: Gemm bias must be [out]");
      bias_id = define_static({out_c}, b.floats);
    }
    Clamp clamp;
    std::string out_name = fuse_activation(node, clamp);
    Value out;
    out.dims = {in.dims[0], out_c};
    Value& defined = define_output(out_name, out);
    check(xnn_define_fully_connected(subgraph, clamp.min, clamp.max, in.id, filter_id, bias_id, defined.id,
                                     trans_b ? 0 : XNN_FLAG_TRANSPOSE_WEIGHTS),
          "fully connected " + node.name);
  }

  void node(const OnnxNode& n) {
    if (skipped.contains(n.name + "\n" + n.outputs.at(0))) return;
    const std::string& op = n.op_type;
    if (op == "Conv") return conv(n);
    if (op == "Add") return add(n);
    if (op == "Relu" || op == "PRelu") return activation(n);
    if (op == "MaxPool" || op == "AveragePool" || op == "GlobalAveragePool") return pool(n);
    if (op == "Pad") return pad(n);
    if (op == "Transpose") return transpose(n);
    if (op == "Reshape" || op == "Flatten") {
      if (op == "Flatten") throw OnnxError("xnnpack: Flatten is not supported");
      return reshape(n);
    }
    if (op == "Gemm") return gemm(n);
    if (op == "Identity") {
      if (concats.contains(n.inputs.at(0))) return;  // of a final Concat: done after the run
      values[n.outputs.at(0)] = value(n.inputs.at(0));
      return;
    }
    if (op == "Concat" && concats.contains(n.outputs.at(0))) return;  // done after the run
    throw OnnxError("xnnpack: operator " + op + " is not supported");
  }

  // The tensor a requested output really is: through Identity nodes to the tensor that
  // produces it (or to a final Concat's inputs).
  std::vector<std::string> resolve(const std::string& name) {
    for (const OnnxNode& n : graph.nodes) {
      if (std::find(n.outputs.begin(), n.outputs.end(), name) == n.outputs.end()) continue;
      if (n.op_type == "Identity") return resolve(n.inputs.at(0));
      if (n.op_type == "Concat") {
        if (n.int_attr("axis", 0) != 1) throw OnnxError("xnnpack: only a Concat along axis 1 is supported");
        concats[name].inputs = n.inputs;
        return n.inputs;
      }
      return {name};
    }
    throw OnnxError("xnnpack: no node makes " + name);
  }

  void count_consumers() {
    std::map<std::string, const OnnxNode*> last;
    for (const OnnxNode& n : graph.nodes) {
      for (const std::string& input : n.inputs) {
        ++consumers[input];
        last[input] = &n;
      }
    }
    for (const auto& [name, count] : consumers) {
      if (count == 1) only_consumer[name] = last[name];
    }
  }

  void build(const std::string& input, const std::vector<std::string>& outputs) {
    requested = outputs;
    count_consumers();
    for (const std::string& name : outputs) {
      const size_t before = concats.size();
      sources.push_back(resolve(name));
      concatenated_output.push_back(concats.size() > before);
      for (const std::string& real : sources.back()) {
        if (!external_ids.contains(real)) external_ids[real] = static_cast<uint32_t>(external_ids.size() + 1);
      }
    }
    check(xnn_create_subgraph(static_cast<uint32_t>(external_ids.size() + 1), 0, &subgraph), "create subgraph");
    Value in;
    in.nhwc = true;
    in.dims = {1, static_cast<size_t>(channels), static_cast<size_t>(height), static_cast<size_t>(width)};
    std::vector<size_t> dims = stored_dims(in);
    check(xnn_define_tensor_value(subgraph, xnn_datatype_fp32, 4, dims.data(), nullptr, 0,
                                  XNN_VALUE_FLAG_EXTERNAL_INPUT, &in.id),
          "input tensor");
    values[input] = in;
    for (const OnnxNode& n : graph.nodes) node(n);
    for (const auto& [name, id] : external_ids) {
      if (value(name).id != id) throw OnnxError("xnnpack: output " + name + " is an alias");
    }
    check(xnn_create_runtime_v2(subgraph, nullptr, 0, &runtime), "create runtime");
    setup_buffers();
  }

  void setup_buffers() {
    input_buffer.assign(static_cast<size_t>(channels) * height * width + XNN_EXTRA_BYTES / sizeof(float), 0.0f);
    output_buffers.resize(external_ids.size());
    std::vector<xnn_external_value> externals{{0, input_buffer.data()}};
    for (const auto& [name, id] : external_ids) {
      output_buffers[id - 1].assign(element_count(value(name).dims), 0.0f);
      externals.push_back({id, output_buffers[id - 1].data()});
    }
    check(xnn_setup_runtime(runtime, externals.size(), externals.data()), "setup runtime");
  }

  // An output as ONNX shapes it: NHWC data back to NCHW when it has a spatial extent.
  cv::Mat output_of(const std::string& name) {
    const Value& v = value(name);
    const std::vector<float>& data = output_buffers.at(external_ids.at(name) - 1);
    std::vector<int> sizes(v.dims.begin(), v.dims.end());
    cv::Mat out(static_cast<int>(sizes.size()), sizes.data(), CV_32F);
    auto* dst = out.ptr<float>();
    if (!v.nhwc) {
      std::copy(data.begin(), data.end(), dst);
      return out;
    }
    const size_t c = v.dims[1], hw = v.dims[2] * v.dims[3];
    for (size_t p = 0; p < hw; ++p)
      for (size_t k = 0; k < c; ++k) dst[k * hw + p] = data[p * c + k];
    return out;
  }

  cv::Mat concatenated(const std::vector<std::string>& inputs) {
    std::vector<cv::Mat> parts;
    size_t total = 0;
    for (const std::string& name : inputs) {
      parts.push_back(output_of(name));
      total += parts.back().total();
    }
    std::vector<int> sizes(parts[0].size.p, parts[0].size.p + parts[0].dims);
    if (sizes.size() < 2 || sizes[0] != 1) throw OnnxError("xnnpack: Concat needs a batch of 1");
    // axis 1 after a batch of 1: the flat buffers follow one another
    sizes[1] = static_cast<int>(total / (parts[0].total() / static_cast<size_t>(sizes[1])));
    cv::Mat out(static_cast<int>(sizes.size()), sizes.data(), CV_32F);
    float* dst = out.ptr<float>();
    for (const cv::Mat& part : parts) dst = std::copy(part.ptr<float>(), part.ptr<float>() + part.total(), dst);
    return out;
  }

  std::vector<cv::Mat> forward(const cv::Mat& blob) {
    const size_t hw = static_cast<size_t>(height) * width, c = static_cast<size_t>(channels);
    if (!blob.isContinuous() || blob.type() != CV_32F || blob.total() != c * hw) {
      throw std::invalid_argument("xnnpack: input blob has the wrong shape");
    }
    const float* src = blob.ptr<float>();
    for (size_t k = 0; k < c; ++k)
      for (size_t p = 0; p < hw; ++p) input_buffer[p * c + k] = src[k * hw + p];
    check(xnn_invoke_runtime(runtime), "invoke");
    std::vector<cv::Mat> outs;
    for (size_t i = 0; i < requested.size(); ++i) {
      if (concatenated_output[i]) {
        outs.push_back(concatenated(sources[i]));
      } else {
        outs.push_back(output_of(sources[i].at(0)));
      }
    }
    return outs;
  }
};

XnnNet::XnnNet(const OnnxGraph& graph, const std::string& input, int channels, int height, int width,
               const std::vector<std::string>& outputs)
    : impl_(std::make_unique<Impl>(graph)) {
  initialise_xnnpack();
  impl_->channels = channels;
  impl_->height = height;
  impl_->width = width;
  impl_->build(input, outputs);
}

XnnNet::~XnnNet() = default;

std::vector<cv::Mat> XnnNet::forward(const cv::Mat& blob) { return impl_->forward(blob); }

}  // namespace faceauth
