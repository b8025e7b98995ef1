#include "engine/scoring/plugin_loader.h"

#include <dlfcn.h>

#include <cstddef>
#include <exception>

namespace leadscore::scoring {
namespace {

// The end of a field of the module's table, to check that the module's table has it.
#define LS_FIELD_END(field) (offsetof(ls_plugin, field) + sizeof(ls_plugin::field))

std::string dl_error() {
  const char* message = dlerror();
  return message != nullptr ? message : "unknown error";
}

}  // namespace

PluginModule::PluginModule(std::string path, void* handle, const ls_plugin* table)
    : path_(std::move(path)),
      handle_(handle),
      table_(table),
      name_(table->name),
      version_(table->version) {
  if (table->struct_size >= LS_FIELD_END(instance_version))
    instance_version_ = table->instance_version;
}

PluginModule::~PluginModule() {
  if (handle_ != nullptr) dlclose(handle_);
}

std::expected<std::shared_ptr<const PluginModule>, std::string> PluginModule::load(
    const std::string& path) {
  dlerror();
  void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr)
    return std::unexpected("cannot load plugin module " + path + ": " + dl_error());
  auto refuse = [&](std::string message) {
    dlclose(handle);
    return std::unexpected("plugin module " + path + ": " + std::move(message));
  };

  dlerror();
  void* symbol = dlsym(handle, LEADSCORE_PLUGIN_ENTRY);
  if (symbol == nullptr)
    return refuse("has no symbol " LEADSCORE_PLUGIN_ENTRY
                  " (a plugin exports `const struct ls_plugin* leadscore_plugin(void)`)");
  const auto entry = reinterpret_cast<ls_plugin_entry>(symbol);
  const ls_plugin* table = nullptr;
  try {
    table = entry();
  } catch (...) {
    return refuse(LEADSCORE_PLUGIN_ENTRY "() threw an exception");
  }
  if (table == nullptr) return refuse(LEADSCORE_PLUGIN_ENTRY "() returned NULL");
  if (table->abi_version != LEADSCORE_PLUGIN_ABI_VERSION)
    return refuse("was built for plugin ABI version " + std::to_string(table->abi_version) +
                  ", this engine implements version " +
                  std::to_string(LEADSCORE_PLUGIN_ABI_VERSION) + " (rebuild it)");
  if (table->struct_size < LS_FIELD_END(destroy))
    return refuse("its ls_plugin table is too small (" + std::to_string(table->struct_size) +
                  " bytes)");
  if (table->name == nullptr || *table->name == '\0') return refuse("its table has no name");
  if (table->version == nullptr || *table->version == '\0')
    return refuse("its table has no version");
  if (table->create == nullptr || table->score == nullptr || table->destroy == nullptr)
    return refuse("its table lacks create, score or destroy");
  try {
    return std::shared_ptr<const PluginModule>(new PluginModule(path, handle, table));
  } catch (const std::exception& e) {
    return refuse(e.what());
  }
}

}  // namespace leadscore::scoring
