// Checks on UTF-8 text: what PostgreSQL's text columns and JSON strings accept. Pure; any
// thread.
#pragma once

#include <string_view>

namespace leadscore::domain {

// Whether `text` is well-formed UTF-8: no overlong forms, surrogates or code points past
// U+10FFFF. With `printable`, also without control characters (C0, DEL, C1), so that it can be
// stored and shown as it is.
bool is_utf8(std::string_view text, bool printable = false);

}  // namespace leadscore::domain
