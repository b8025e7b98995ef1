#include "engine/scoring/plugin_loader.h"

#include <gtest/gtest.h>

#include <string>

namespace leadscore::scoring {
namespace {

std::string test_plugin(const std::string& variant) {
  return std::string(TEST_PLUGIN_DIR) + "/test_" + variant + ".so";
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

TEST(PluginLoader, LoadsAModuleAndReadsItsTable) {
  auto module = PluginModule::load(test_plugin("good"));
  ASSERT_TRUE(module.has_value()) << module.error();
  EXPECT_EQ((*module)->name(), "test");
  EXPECT_EQ((*module)->version(), "0.1");
  EXPECT_EQ((*module)->path(), test_plugin("good"));
  EXPECT_EQ((*module)->table().abi_version, unsigned{LEADSCORE_PLUGIN_ABI_VERSION});
  EXPECT_EQ((*module)->instance_version(), nullptr);  // the test plugin has no such hook
}

TEST(PluginLoader, MissingFileNamesTheFile) {
  const std::string path = test_plugin("absent");
  auto module = PluginModule::load(path);
  ASSERT_FALSE(module.has_value());
  EXPECT_TRUE(contains(module.error(), "cannot load plugin module " + path + ": "))
      << module.error();
  EXPECT_TRUE(contains(module.error(), "No such file")) << module.error();
}

TEST(PluginLoader, FileThatIsNoModuleNamesTheFile) {
  const std::string path = std::string(LEADSCORE_SOURCE_DIR) + "/plugins/README.md";
  auto module = PluginModule::load(path);
  ASSERT_FALSE(module.has_value());
  EXPECT_TRUE(contains(module.error(), "cannot load plugin module " + path)) << module.error();
}

TEST(PluginLoader, MissingEntrySymbolNamesTheFileAndTheSymbol) {
  auto module = PluginModule::load(test_plugin("no_entry"));
  ASSERT_FALSE(module.has_value());
  EXPECT_EQ(module.error(),
            "plugin module " + test_plugin("no_entry") +
                ": has no symbol leadscore_plugin (a plugin exports `const struct ls_plugin* "
                "leadscore_plugin(void)`)");
}

TEST(PluginLoader, WrongAbiVersionIsRefused) {
  auto module = PluginModule::load(test_plugin("wrong_abi"));
  ASSERT_FALSE(module.has_value());
  EXPECT_EQ(module.error(), "plugin module " + test_plugin("wrong_abi") +
                                ": was built for plugin ABI version 999, this engine implements "
                                "version 1 (rebuild it)");
}

TEST(PluginLoader, NullTableIsRefused) {
  auto module = PluginModule::load(test_plugin("null_table"));
  ASSERT_FALSE(module.has_value());
  EXPECT_EQ(module.error(),
            "plugin module " + test_plugin("null_table") + ": leadscore_plugin() returned NULL");
}

TEST(PluginLoader, ShippedModulesLoad) {
  for (const char* name : {"heuristic", "example"}) {
    auto module = PluginModule::load(std::string(LEADSCORE_PLUGIN_DIR) + "/" + name + ".so");
    ASSERT_TRUE(module.has_value()) << module.error();
    EXPECT_EQ((*module)->name(), name);
    EXPECT_NE((*module)->instance_version(), nullptr);
  }
}

}  // namespace
}  // namespace leadscore::scoring
