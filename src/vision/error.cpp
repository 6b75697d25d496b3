#include "vision/error.h"

namespace faceauth {

const char* error_code_name(ErrorCode code) {
  switch (code) {
    case ErrorCode::no_face:
      return "no_face";
    case ErrorCode::image_converting_error:
      return "image_converting_error";
    case ErrorCode::image_too_large:
      return "image_too_large";
    case ErrorCode::image_processing_error:
      return "image_processing_error";
    case ErrorCode::detection_server_error:
      return "detection_server_error";
  }
  return "detection_server_error";
}

}  // namespace faceauth
