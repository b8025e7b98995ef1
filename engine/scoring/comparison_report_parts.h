// What the text, JSON and HTML renderings of a comparison report share (internal to
// engine/scoring).
#pragma once

#include <cstddef>
#include <string>

namespace leadscore::scoring {

// `value` with `decimals` digits after the point.
std::string fixed(double value, int decimals = 3);
// Why an outcome metric is not given: "fewer than 30 leads in an outcome class (8 converted, 12
// not converted)".
std::string insufficient_reason(std::size_t min_n, std::size_t converted,
                                std::size_t not_converted);

}  // namespace leadscore::scoring
