#pragma once
// What counts as text in a request: the checks every text a client sends passes before it is
// stored or looked up (PostgreSQL's text holds neither invalid UTF-8 nor a NUL).

#include <string>
#include <string_view>

namespace faceauth {

// True when `text` is valid UTF-8 (no overlongs, no surrogates, no code points > U+10FFFF).
bool is_valid_utf8(std::string_view text);

// True when `text` is valid UTF-8 without a NUL byte: text a store keeps exactly (a C string
// would end at the NUL).
bool is_valid_text(std::string_view text);

// The longest prefix of valid UTF-8 `text` of at most `max_bytes` that does not cut a character.
std::string utf8_prefix(std::string_view text, size_t max_bytes);

}  // namespace faceauth
