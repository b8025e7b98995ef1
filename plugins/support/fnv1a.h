// FNV-1a, 64 bits: the short hash that plugin versions carry of their params and files, so that
// a change of either shows in the history. Not for security.
#pragma once

#include <cstdint>
#include <string_view>

namespace leadscore::plugin {

inline constexpr std::uint64_t kFnv1aOffset = 14695981039346656037ull;

// The hash of `text` continued from `hash` (kFnv1aOffset to start), so that several texts can
// be hashed as one.
constexpr std::uint64_t fnv1a(std::string_view text, std::uint64_t hash = kFnv1aOffset) {
  for (unsigned char c : text) {
    hash ^= c;
    hash *= 1099511628211ull;
  }
  return hash;
}

}  // namespace leadscore::plugin
