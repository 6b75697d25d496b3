#include "vision/nets/onnx_graph.h"

#include <cstring>
#include <fstream>

namespace faceauth {
namespace {

// One protobuf message being read field by field.
class Reader {
 public:
  explicit Reader(std::string_view data) : data_(data) {}

  bool next() {
    if (pos_ >= data_.size()) return false;
    uint64_t key = varint();
    field_ = static_cast<uint32_t>(key >> 3);
    wire_ = static_cast<uint32_t>(key & 7);
    return true;
  }
  uint32_t field() const { return field_; }
  uint32_t wire() const { return wire_; }

  uint64_t varint() {
    uint64_t value = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (pos_ >= data_.size()) throw OnnxError("onnx: truncated varint");
      auto byte = static_cast<uint8_t>(data_[pos_++]);
      value |= uint64_t{byte & 0x7fu} << shift;
      if ((byte & 0x80) == 0) return value;
    }
    throw OnnxError("onnx: bad varint");
  }
  std::string_view bytes() {
    uint64_t size = varint();
    if (size > data_.size() - pos_) throw OnnxError("onnx: truncated field");
    std::string_view out = data_.substr(pos_, size);
    pos_ += size;
    return out;
  }
  float fixed32_float() {
    if (data_.size() - pos_ < 4) throw OnnxError("onnx: truncated float");
    float value;
    std::memcpy(&value, data_.data() + pos_, 4);
    pos_ += 4;
    return value;
  }
  void skip() {
    switch (wire_) {
      case 0:
        varint();
        break;
      case 1:
        advance(8);
        break;
      case 2:
        bytes();
        break;
      case 5:
        advance(4);
        break;
      default:
        throw OnnxError("onnx: unsupported wire type");
    }
  }
  // A repeated int64 field, packed (wire 2) or not (wire 0).
  void ints(std::vector<int64_t>& out) {
    if (wire_ == 0) {
      out.push_back(static_cast<int64_t>(varint()));
      return;
    }
    Reader packed(bytes());
    while (packed.pos_ < packed.data_.size()) out.push_back(static_cast<int64_t>(packed.varint()));
  }
  void floats(std::vector<float>& out) {
    if (wire_ == 5) {
      out.push_back(fixed32_float());
      return;
    }
    Reader packed(bytes());
    while (packed.pos_ < packed.data_.size()) out.push_back(packed.fixed32_float());
  }

 private:
  void advance(size_t n) {
    if (data_.size() - pos_ < n) throw OnnxError("onnx: truncated field");
    pos_ += n;
  }

  std::string_view data_;
  size_t pos_ = 0;
  uint32_t field_ = 0, wire_ = 0;
};

void decode_raw(std::string_view raw, OnnxTensor& tensor) {
  if (tensor.data_type == 1) {
    if (raw.size() % 4) throw OnnxError("onnx: bad float raw_data");
    tensor.floats.resize(raw.size() / 4);
    std::memcpy(tensor.floats.data(), raw.data(), raw.size());
  } else if (tensor.data_type == 7) {
    if (raw.size() % 8) throw OnnxError("onnx: bad int64 raw_data");
    tensor.ints.resize(raw.size() / 8);
    std::memcpy(tensor.ints.data(), raw.data(), raw.size());
  } else if (tensor.data_type == 6) {
    if (raw.size() % 4) throw OnnxError("onnx: bad int32 raw_data");
    for (size_t i = 0; i < raw.size(); i += 4) {
      int32_t value;
      std::memcpy(&value, raw.data() + i, 4);
      tensor.ints.push_back(value);
    }
  }
}

OnnxTensor parse_tensor(std::string_view data, std::string* name) {
  OnnxTensor tensor;
  std::string_view raw;
  Reader r(data);
  while (r.next()) {
    switch (r.field()) {
      case 1:
        r.ints(tensor.dims);
        break;
      case 2:
        tensor.data_type = static_cast<int>(r.varint());
        break;
      case 4:
        r.floats(tensor.floats);
        break;
      case 5:
      case 7:
        r.ints(tensor.ints);
        break;
      case 8:
        *name = std::string(r.bytes());
        break;
      case 9:
        raw = r.bytes();
        break;
      case 14:
        if (r.varint() != 0) throw OnnxError("onnx: external tensor data is not supported");
        break;
      default:
        r.skip();
    }
  }
  if (!raw.empty()) decode_raw(raw, tensor);
  size_t have = tensor.data_type == 1 ? tensor.floats.size() : tensor.ints.size();
  if (static_cast<int64_t>(have) != tensor.count()) throw OnnxError("onnx: tensor " + *name + " has the wrong size");
  return tensor;
}

std::pair<std::string, OnnxAttribute> parse_attribute(std::string_view data) {
  std::string name;
  OnnxAttribute attr;
  Reader r(data);
  while (r.next()) {
    switch (r.field()) {
      case 1:
        name = std::string(r.bytes());
        break;
      case 2:
        attr.f = r.fixed32_float();
        break;
      case 3:
        attr.i = static_cast<int64_t>(r.varint());
        break;
      case 4:
        attr.s = std::string(r.bytes());
        break;
      case 5: {
        std::string ignored;
        attr.t = parse_tensor(r.bytes(), &ignored);
        attr.has_tensor = true;
        break;
      }
      case 7:
        r.floats(attr.floats);
        break;
      case 8:
        r.ints(attr.ints);
        break;
      default:
        r.skip();
    }
  }
  return {name, attr};
}

OnnxNode parse_node(std::string_view data) {
  OnnxNode node;
  Reader r(data);
  while (r.next()) {
    switch (r.field()) {
      case 1:
        node.inputs.emplace_back(r.bytes());
        break;
      case 2:
        node.outputs.emplace_back(r.bytes());
        break;
      case 3:
        node.name = std::string(r.bytes());
        break;
      case 4:
        node.op_type = std::string(r.bytes());
        break;
      case 5:
        node.attributes.insert(parse_attribute(r.bytes()));
        break;
      default:
        r.skip();
    }
  }
  return node;
}

std::string value_info_name(std::string_view data) {
  Reader r(data);
  while (r.next()) {
    if (r.field() == 1) return std::string(r.bytes());
    r.skip();
  }
  return {};
}

OnnxGraph parse_graph(std::string_view data) {
  OnnxGraph graph;
  std::vector<std::string> inputs;
  Reader r(data);
  while (r.next()) {
    switch (r.field()) {
      case 1:
        graph.nodes.push_back(parse_node(r.bytes()));
        break;
      case 5: {
        std::string name;
        OnnxTensor tensor = parse_tensor(r.bytes(), &name);
        graph.initializers[name] = std::move(tensor);
        break;
      }
      case 11:
        inputs.push_back(value_info_name(r.bytes()));
        break;
      case 12:
        graph.outputs.push_back(value_info_name(r.bytes()));
        break;
      default:
        r.skip();
    }
  }
  for (const std::string& name : inputs) {
    if (!graph.initializers.contains(name)) graph.inputs.push_back(name);
  }
  return graph;
}

}  // namespace

int64_t OnnxTensor::count() const {
  int64_t n = 1;
  for (int64_t d : dims) n *= d;
  return n;
}

int64_t OnnxNode::int_attr(const std::string& key, int64_t fallback) const {
  auto it = attributes.find(key);
  return it == attributes.end() ? fallback : it->second.i;
}

std::vector<int64_t> OnnxNode::ints_attr(const std::string& key, std::vector<int64_t> fallback) const {
  auto it = attributes.find(key);
  return it == attributes.end() ? fallback : it->second.ints;
}

OnnxGraph parse_onnx(std::string_view bytes) {
  Reader r(bytes);
  while (r.next()) {
    if (r.field() == 7 && r.wire() == 2) return parse_graph(r.bytes());
    r.skip();
  }
  throw OnnxError("onnx: no graph");
}

OnnxGraph read_onnx(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) throw OnnxError("cannot read " + path.string());
  std::string data(static_cast<size_t>(in.tellg()), '\0');
  in.seekg(0);
  if (!in.read(data.data(), static_cast<std::streamsize>(data.size()))) throw OnnxError("cannot read " + path.string());
  return parse_onnx(data);
}

}  // namespace faceauth
