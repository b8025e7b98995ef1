// The signature of a webhook delivery: X-Leadscore-Signature is "sha256=" and the lower-case
// hex HMAC-SHA256, keyed with the webhook's secret, of "<timestamp>.<body>", where timestamp
// is X-Leadscore-Timestamp (Unix seconds) and body the request body as sent. A receiver
// computes the same and compares; the timestamp lets it refuse old deliveries replayed.
//
// Pure functions; safe from any thread.
#pragma once

#include <string>
#include <string_view>

namespace leadscore::webhooks {

// Lower-case hex of HMAC-SHA256(key, message).
std::string hmac_sha256_hex(std::string_view key, std::string_view message);

// "sha256=<hex>" over "<timestamp>.<body>".
std::string signature(std::string_view secret, std::string_view timestamp, std::string_view body);

}  // namespace leadscore::webhooks
