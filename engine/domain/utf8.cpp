#include "engine/domain/utf8.h"

namespace leadscore::domain {

bool is_utf8(std::string_view text, bool printable) {
  for (std::size_t i = 0; i < text.size();) {
    const auto lead = static_cast<unsigned char>(text[i]);
    if (lead < 0x80) {
      if (printable && (lead < 0x20 || lead == 0x7f)) return false;
      ++i;
      continue;
    }
    const std::size_t length = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : lead >= 0xc0 ? 2 : 0;
    if (length == 0 || lead > 0xf4 || i + length > text.size()) return false;
    char32_t code = lead & (0x3f >> (length - 1));
    for (std::size_t k = 1; k < length; ++k) {
      const auto next = static_cast<unsigned char>(text[i + k]);
      if ((next & 0xc0) != 0x80) return false;
      code = (code << 6) | (next & 0x3f);
    }
    const char32_t smallest[] = {0, 0, 0x80, 0x800, 0x10000};
    if (code < smallest[length] || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff) ||
        (printable && code >= 0x80 && code < 0xa0))
      return false;
    i += length;
  }
  return true;
}

}  // namespace leadscore::domain
