#pragma once
// An ONNX conv net run by XNNPACK's subgraph runtime on the calling thread (no thread pool).
// The builder knows the operators of our converted nets: Conv (dense, grouped, depthwise),
// Relu and Clip fused into the op before them, PRelu, Add, MaxPool, AveragePool,
// GlobalAveragePool, Pad (zero spatial pads folded into the convolution after them), Gemm,
// Reshape, Transpose to NHWC, Identity, and a final Concat of flat outputs. Tensors are
// NHWC inside; inputs and outputs keep the ONNX (NCHW) shapes. Anything else throws
// OnnxError, and the caller falls back to OpenCV's dnn. Not thread-safe: one per worker.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <opencv2/core.hpp>

#include "vision/nets/onnx_graph.h"

namespace faceauth {

class XnnNet {
 public:
  // `input`: the graph input's name and its NCHW shape (batch 1); `outputs`: the tensors
  // forward() returns, in that order.
  XnnNet(const OnnxGraph& graph, const std::string& input, int channels, int height, int width,
         const std::vector<std::string>& outputs);
  ~XnnNet();
  XnnNet(const XnnNet&) = delete;
  XnnNet& operator=(const XnnNet&) = delete;

  // `blob`: float NCHW [1, C, H, W]. Returns each output with its ONNX shape (float).
  std::vector<cv::Mat> forward(const cv::Mat& blob);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace faceauth
