// Loads scorer plugin modules: shared objects implementing the C ABI of
// plugins/leadscore_plugin.h. A module stays loaded while any scorer made from it lives.
//
// Threading: load() may be called from any thread; a loaded PluginModule is immutable.
#pragma once

#include <expected>
#include <memory>
#include <string>

#include "plugins/leadscore_plugin.h"

namespace leadscore::scoring {

class PluginModule {
 public:
  // dlopen()s the file (RTLD_NOW | RTLD_LOCAL) and checks its entry table. Every message names
  // the file: it cannot be loaded, it has no leadscore_plugin symbol, the symbol returns NULL,
  // the ABI version is not LEADSCORE_PLUGIN_ABI_VERSION, or the table lacks a function.
  static std::expected<std::shared_ptr<const PluginModule>, std::string> load(
      const std::string& path);

  ~PluginModule();
  PluginModule(const PluginModule&) = delete;
  PluginModule& operator=(const PluginModule&) = delete;

  const std::string& path() const { return path_; }
  const std::string& name() const { return name_; }        // the plugin's own name
  const std::string& version() const { return version_; }  // the plugin's code version
  const ls_plugin& table() const { return *table_; }
  // The table's instance_version, or nullptr when the module has none.
  const char* (*instance_version() const)(const ls_instance*) { return instance_version_; }

 private:
  PluginModule(std::string path, void* handle, const ls_plugin* table);

  std::string path_;
  void* handle_;
  const ls_plugin* table_;
  std::string name_;
  std::string version_;
  const char* (*instance_version_)(const ls_instance*) = nullptr;
};

}  // namespace leadscore::scoring
