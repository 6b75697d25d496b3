#pragma once
// Errors of the face engine as values. Codes are the API's error table names, so the HTTP
// layer maps them to statuses in one place.

#include <string>
#include <utility>
#include <variant>

namespace faceauth {

enum class ErrorCode {
  no_face,
  image_converting_error,
  image_too_large,
  image_processing_error,
  detection_server_error,
};

const char* error_code_name(ErrorCode code);

struct Error {
  ErrorCode code;
  std::string message;  // for people; never contains image bytes or secrets
};

// A value or an Error. Small on purpose: C++20 has no std::expected.
template <typename T>
class Result {
 public:
  Result(T value) : state_(std::move(value)) {}      // NOLINT: implicit by design
  Result(Error error) : state_(std::move(error)) {}  // NOLINT: implicit by design

  bool ok() const { return std::holds_alternative<T>(state_); }
  explicit operator bool() const { return ok(); }
  T& value() { return std::get<T>(state_); }
  const T& value() const { return std::get<T>(state_); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() { return value(); }
  const T& operator*() const { return value(); }
  const Error& error() const { return std::get<Error>(state_); }

 private:
  std::variant<T, Error> state_;
};

inline Error make_error(ErrorCode code, std::string message) { return Error{code, std::move(message)}; }

}  // namespace faceauth
