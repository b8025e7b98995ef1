// The `webhooks` section of the config: endpoints with their events and secret (written, or
// named by an environment variable), delivery settings with defaults, every problem positioned.
#include <gtest/gtest.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "engine/config/app_config.h"
#include "tests/support/temp_file.h"

namespace leadscore::config {
namespace {

using domain::EventType;
using testing::TempDir;

class WebhookConfigTest : public ::testing::Test {
 protected:
  std::expected<AppConfig, std::vector<ConfigError>> load(const std::string& yaml) {
    return load_app_config(dir_.write("leadscore.yaml", yaml), {});
  }
  // The one error of `yaml` (the test fails when there is not exactly one).
  ConfigError error_of(const std::string& yaml) {
    auto result = load(yaml);
    EXPECT_FALSE(result.has_value()) << yaml;
    if (result) return {};
    EXPECT_EQ(result.error().size(), 1u) << to_text(result.error());
    return result.error().front();
  }
  TempDir dir_;
};

TEST_F(WebhookConfigTest, DefaultsWithoutASection) {
  auto config = load("log:\n  level: info\n");
  ASSERT_TRUE(config) << to_text(config.error());
  EXPECT_TRUE(config->webhooks.endpoints.empty());
  EXPECT_EQ(config->webhooks.timeout_ms, 10000);
  EXPECT_EQ(config->webhooks.give_up_after_ms, 86'400'000);
  EXPECT_EQ(config->webhooks.dispatchers, 2);
}

TEST_F(WebhookConfigTest, ReadsEndpointsAndSettings) {
  ::setenv("LEADSCORE_TEST_HOOK_SECRET", "from-env", 1);
  auto config = load(
      "webhooks:\n"
      "  timeout_ms: 2000\n"
      "  backoff_start_ms: 10\n"
      "  backoff_max_ms: 100\n"
      "  give_up_after_ms: 60000\n"
      "  dispatchers: 3\n"
      "  poll_ms: 20\n"
      "  endpoints:\n"
      "    - name: crm\n"
      "      url: https://crm.example.com/hooks\n"
      "      events: [lead.transferred, sale.paid]\n"
      "      secret: s3cret\n"
      "    - name: audit\n"
      "      url: http://127.0.0.1:9/x\n"
      "      events: [analysis.completed]\n"
      "      secret_env: LEADSCORE_TEST_HOOK_SECRET\n");
  ASSERT_TRUE(config) << to_text(config.error());
  const WebhooksConfig& w = config->webhooks;
  EXPECT_EQ(w.timeout_ms, 2000);
  EXPECT_EQ(w.backoff_start_ms, 10);
  EXPECT_EQ(w.backoff_max_ms, 100);
  EXPECT_EQ(w.give_up_after_ms, 60000);
  EXPECT_EQ(w.dispatchers, 3);
  EXPECT_EQ(w.poll_ms, 20);
  ASSERT_EQ(w.endpoints.size(), 2u);
  EXPECT_EQ(w.endpoints[0].name, "crm");
  EXPECT_EQ(w.endpoints[0].url, "https://crm.example.com/hooks");
  EXPECT_EQ(w.endpoints[0].events,
            (std::vector<EventType>{EventType::LeadTransferred, EventType::SalePaid}));
  EXPECT_EQ(w.endpoints[0].secret, "s3cret");
  EXPECT_EQ(w.endpoints[1].secret, "from-env");
  EXPECT_EQ(w.endpoints[1].position.line, 13);
}

TEST_F(WebhookConfigTest, EveryProblemIsPositioned) {
  const std::string head = "webhooks:\n  endpoints:\n    - name: crm\n";
  auto unknown_event =
      error_of(head + "      url: http://x\n      events: [lead.handed]\n      secret: s\n");
  EXPECT_EQ(unknown_event.line, 5);
  EXPECT_NE(unknown_event.message.find("webhooks.endpoints[0].events[0] is not an event"),
            std::string::npos)
      << unknown_event.message;

  auto bad_url =
      error_of(head + "      url: ftp://x\n      events: [sale.paid]\n      secret: s\n");
  EXPECT_EQ(bad_url.line, 4);
  EXPECT_NE(bad_url.message.find("url must be an http:// or https:// URL"), std::string::npos);

  auto no_secret = error_of(head + "      url: http://x\n      events: [sale.paid]\n");
  EXPECT_NE(no_secret.message.find("missing key 'secret'"), std::string::npos) << no_secret.message;

  ::unsetenv("LEADSCORE_TEST_HOOK_UNSET");
  auto unset = error_of(head +
                        "      url: http://x\n      events: [sale.paid]\n"
                        "      secret_env: LEADSCORE_TEST_HOOK_UNSET\n");
  EXPECT_EQ(unset.line, 6);
  EXPECT_NE(unset.message.find("'LEADSCORE_TEST_HOOK_UNSET', which is not set"), std::string::npos);

  auto unknown_key = error_of(head +
                              "      url: http://x\n      events: [sale.paid]\n      secret: s\n"
                              "      retries: 3\n");
  EXPECT_EQ(unknown_key.line, 7);
  EXPECT_NE(unknown_key.message.find("unknown key 'retries'"), std::string::npos)
      << unknown_key.message;

  auto twice = error_of(
      "webhooks:\n  endpoints:\n"
      "    - {name: crm, url: 'http://x', events: [sale.paid], secret: s}\n"
      "    - {name: crm, url: 'http://y', events: [sale.lost], secret: s}\n");
  EXPECT_EQ(twice.line, 4);
  EXPECT_NE(twice.message.find("repeats the webhook name 'crm'"), std::string::npos);

  auto section_key = error_of("webhooks:\n  timeout: 5\n");
  EXPECT_EQ(section_key.line, 2);
  EXPECT_NE(section_key.message.find("unknown key 'timeout'"), std::string::npos);

  auto backoff = error_of("webhooks:\n  backoff_start_ms: 500\n  backoff_max_ms: 100\n");
  EXPECT_EQ(backoff.line, 3);
}

}  // namespace
}  // namespace leadscore::config
