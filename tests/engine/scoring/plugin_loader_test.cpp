#include "engine/scoring/plugin_loader.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <thread>

#include "engine/scoring/plugin_scorer.h"

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

// A plugin file in a directory of its own, replaced the way a rebuild replaces it: written
// beside it, then renamed over it (as linkers, `install` and `cp` to a temp name do).
class RebuiltPlugin : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string dir = ::testing::TempDir() + "leadscore_plugin_XXXXXX";
    ASSERT_NE(mkdtemp(dir.data()), nullptr);
    dir_ = dir;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string path() const { return dir_ + "/plugin.so"; }
  void install(const std::string& file) {
    const std::string next = path() + ".next";
    std::filesystem::copy_file(file, next, std::filesystem::copy_options::overwrite_existing);
    std::filesystem::rename(next, path());
  }
  std::shared_ptr<const PluginModule> load() {
    auto module = PluginModule::load(path());
    EXPECT_TRUE(module.has_value()) << module.error();
    return module ? *module : nullptr;
  }
  // What the module's code says its version is, through a scorer made from it.
  static std::string code_version(const PluginModule& module) {
    ls_instance* instance = module.table().create("{}", "/tmp", nullptr, 0);
    ls_features lead{};
    lead.struct_size = sizeof lead;
    lead.source = "version";
    lead.stage = "new";
    ls_result result{};
    result.struct_size = sizeof result;
    const int status = module.table().score(instance, &lead, &result, nullptr, 0);
    std::string reason = status == LS_OK ? result.reason : "failed";
    module.table().destroy(instance);
    return reason;
  }

  std::string dir_;
};

TEST_F(RebuiltPlugin, LoadsTheNewBuildBesideTheOldOneStillInUse) {
  install(test_plugin("good"));
  auto old_module = load();
  ASSERT_NE(old_module, nullptr);
  install(test_plugin("version2"));
  auto new_module = load();
  ASSERT_NE(new_module, nullptr);
  EXPECT_NE(new_module, old_module);
  EXPECT_EQ(new_module->version(), "0.2");
  EXPECT_EQ(new_module->path(), path());
  EXPECT_EQ(code_version(*new_module), "0.2");
  EXPECT_EQ(old_module->version(), "0.1");
  EXPECT_EQ(code_version(*old_module), "0.1");  // the old code still runs for requests in flight
}

TEST_F(RebuiltPlugin, AnUnchangedFileReusesTheLoadedModule) {
  install(test_plugin("good"));
  auto first = load();
  EXPECT_EQ(load(), first);
  install(test_plugin("version2"));
  auto second = load();
  EXPECT_NE(second, first);
  EXPECT_EQ(load(), second);  // a private copy is reused too
}

TEST_F(RebuiltPlugin, ErrorsOfANewBuildNameTheConfiguredFile) {
  install(test_plugin("good"));
  auto loaded = load();
  install(test_plugin("wrong_abi"));
  auto refused = PluginModule::load(path());
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error(), "plugin module " + path() +
                                 ": was built for plugin ABI version 999, this engine implements "
                                 "version 1 (rebuild it)");
  install(std::string(LEADSCORE_SOURCE_DIR) + "/plugins/README.md");
  refused = PluginModule::load(path());
  ASSERT_FALSE(refused.has_value());
  EXPECT_TRUE(contains(refused.error(), "cannot load plugin module " + path() + ": " + path()))
      << refused.error();
  EXPECT_FALSE(contains(refused.error(), "/proc/")) << refused.error();
}

TEST_F(RebuiltPlugin, ManyReloadsLeaveNothingLoadedOnceTheModulesAreReleased) {
  const auto open_descriptors = [] {
    return std::distance(std::filesystem::directory_iterator("/proc/self/fd"), {});
  };
  const auto descriptors_before = open_descriptors();
  {
    // As the live scorers do: the new set is made while the old one is still in use.
    std::shared_ptr<const PluginModule> live;
    for (int build = 0; build < 20; ++build) {
      install(test_plugin(build % 2 == 0 ? "good" : "version2"));
      auto next = load();
      ASSERT_NE(next, nullptr);
      ASSERT_EQ(code_version(*next), build % 2 == 0 ? "0.1" : "0.2");
      live = std::move(next);
    }
  }
  EXPECT_EQ(open_descriptors(), descriptors_before);
  std::ifstream maps("/proc/self/maps");
  const std::string mapped{std::istreambuf_iterator<char>(maps), {}};
  EXPECT_FALSE(contains(mapped, "memfd:plugin.so")) << mapped;
  EXPECT_FALSE(contains(mapped, path())) << mapped;
}

TEST_F(RebuiltPlugin, TheHeuristicModuleIsUnloadedOnceItsLastScorerIsGone) {
  // A thread that scored keeps nothing of the module alive (no thread-local destructors), so
  // the old code of a reloaded plugin goes with its last scorer although worker threads live on.
  install(std::string(LEADSCORE_PLUGIN_DIR) + "/heuristic.so");
  {
    auto module = load();
    ASSERT_NE(module, nullptr);
    auto scorer = PluginScorer::create(module, "heuristic", "{}", "/tmp");
    ASSERT_TRUE(scorer.has_value()) << scorer.error();
    Features lead;
    lead.source = "partner";
    EXPECT_TRUE((*scorer)->score(lead).has_value());
  }
  std::ifstream maps("/proc/self/maps");
  const std::string mapped{std::istreambuf_iterator<char>(maps), {}};
  EXPECT_FALSE(contains(mapped, path())) << mapped;
}

TEST_F(RebuiltPlugin, TheLuaModuleIsUnloadedOnceItsLastScorerIsGone) {
  // The Lua states of the threads that scored belong to the scorer, not to those threads.
  install(std::string(LEADSCORE_PLUGIN_DIR) + "/lua.so");
  {
    auto module = load();
    ASSERT_NE(module, nullptr);
    const std::string params = R"({"script": ")" LEADSCORE_SOURCE_DIR R"(/rules/default.lua"})";
    auto scorer = PluginScorer::create(module, "rules", params, "/tmp");
    ASSERT_TRUE(scorer.has_value()) << scorer.error();
    Features lead;
    lead.source = "partner";
    EXPECT_TRUE((*scorer)->score(lead).has_value());
    std::thread other([&] { EXPECT_TRUE((*scorer)->score(lead).has_value()); });
    other.join();
  }
  std::ifstream maps("/proc/self/maps");
  const std::string mapped{std::istreambuf_iterator<char>(maps), {}};
  EXPECT_FALSE(contains(mapped, path())) << mapped;
}

}  // namespace
}  // namespace leadscore::scoring
