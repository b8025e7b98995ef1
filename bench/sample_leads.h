// The leads every scorer benchmark scores: 1024 of them covering every source (and unknown
// ones), stage, activity band and domain kind (set, missing, blank), in a fixed pseudo-random
// order that defeats branch prediction as real traffic would. As the plugins read them
// (plugins/support): the benchmarks of a plugin's own code link nothing of the engine.
#pragma once

#include <cstdint>
#include <iterator>
#include <optional>
#include <string>
#include <vector>

#include "plugins/support/lead_features.h"

namespace leadscore::bench {

inline std::vector<plugin::Features> sample_leads() {
  const char* sources[] = {"scanner", "partner", "manual", "webinar", "partner", "scanner"};
  const std::optional<std::string> domains[] = {"example.com", std::nullopt, "   ", "acme.io"};
  std::vector<plugin::Features> leads;
  std::uint64_t x = 88172645463325252ull;  // xorshift: a fixed, repeatable order
  auto next = [&x] {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return x;
  };
  for (int i = 0; i < 1024; ++i) {
    plugin::Features f;
    f.source = sources[next() % std::size(sources)];
    f.stage = plugin::kAllStages[next() % 5];
    f.activity_count = static_cast<std::int64_t>(next() % 13);
    f.business_domain = domains[next() % std::size(domains)];
    leads.push_back(std::move(f));
  }
  return leads;
}

}  // namespace leadscore::bench
