#pragma once
// A minimal reader of ONNX model files: the graph's nodes, attributes and float/int64
// initializers, decoded straight from the protobuf wire format (no protobuf library). Enough
// for the converted conv nets the XNNPACK path builds (src/vision/nets/xnn_net.h); anything it does
// not understand makes it throw, and the caller falls back to OpenCV's dnn.

#include <cstdint>
#include <filesystem>
#include <map>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace faceauth {

struct OnnxTensor {
  std::vector<int64_t> dims;
  int data_type = 0;          // ONNX TensorProto.DataType: 1 float, 7 int64
  std::vector<float> floats;  // data_type 1
  std::vector<int64_t> ints;  // data_type 7 (and 6, int32, widened)
  int64_t count() const;
};

struct OnnxAttribute {
  float f = 0;
  int64_t i = 0;
  std::string s;
  std::vector<float> floats;
  std::vector<int64_t> ints;
  bool has_tensor = false;
  OnnxTensor t;
};

struct OnnxNode {
  std::string op_type;
  std::string name;
  std::vector<std::string> inputs;
  std::vector<std::string> outputs;
  std::map<std::string, OnnxAttribute> attributes;

  int64_t int_attr(const std::string& key, int64_t fallback) const;
  std::vector<int64_t> ints_attr(const std::string& key, std::vector<int64_t> fallback = {}) const;
};

struct OnnxGraph {
  std::vector<OnnxNode> nodes;
  std::map<std::string, OnnxTensor> initializers;
  std::vector<std::string> inputs;  // graph inputs that are not initializers
  std::vector<std::string> outputs;
};

struct OnnxError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Parses a serialised ModelProto; throws OnnxError on malformed input.
OnnxGraph parse_onnx(std::string_view bytes);
OnnxGraph read_onnx(const std::filesystem::path& path);

}  // namespace faceauth
