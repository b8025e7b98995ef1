// Loads scorer plugin modules: shared objects implementing the C ABI of
// include/leadscore/plugin.h. A module stays loaded while any scorer made from it lives.
// Loading a path again reuses the loaded module while the file is unchanged; a file rebuilt
// since (replaced, or written in place) loads as a new module beside the old one, so that a
// reload picks up new code while requests in flight finish on the old.
//
// Threading: load() may be called from any thread; a loaded PluginModule is immutable.
#pragma once

#include <cstddef>
#include <cstdint>
#include <expected>
#include <memory>
#include <string>

#include "leadscore/plugin.h"

namespace leadscore::scoring {

class PluginModule {
 public:
  // What tells one build of a module file from another.
  struct FileIdentity {
    std::uint64_t device = 0;
    std::uint64_t inode = 0;
    std::int64_t size = 0;
    std::int64_t mtime_ns = 0;
    bool operator==(const FileIdentity&) const = default;
  };

  // The module loaded from `path` when its file is unchanged since; else dlopen()s the file
  // (RTLD_NOW | RTLD_LOCAL) and checks its entry table. While an older build is still loaded
  // under the same path, dlopen() would answer that one, so the new build is loaded from a
  // private in-memory copy instead. Every message names `path` (never the copy): it cannot
  // be loaded, it has no leadscore_plugin symbol, the symbol returns NULL, the ABI version is
  // not LEADSCORE_PLUGIN_ABI_VERSION, or the table lacks a function.
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
  // The table's optional entries, nullptr when the module has none (NULL, or a table too
  // small to hold them: a module built before they existed).
  using SelfTest = int (*)(ls_instance*, const char**, char*, std::size_t);
  using Trace = int (*)(ls_instance*, const ls_features*, const char**, char*, std::size_t);
  SelfTest self_test() const { return self_test_; }
  Trace trace() const { return trace_; }
  // The table's LS_PLUGIN_* flags; 0 for a table built before they existed.
  std::uint32_t flags() const { return flags_; }
  bool slow() const { return (flags_ & LS_PLUGIN_SLOW) != 0; }
  // Whether the module was built with ls_result.audit_json (its table holds `flags`): the
  // audit of an older module's result is never read.
  bool gives_audit() const { return gives_audit_; }

 private:
  // Takes `copy_fd` (-1 for none): the private copy to load instead of the file.
  PluginModule(std::string path, FileIdentity file, int copy_fd);
  // dlopen()s the file or its copy and reads its checked table.
  std::expected<void, std::string> open();

  std::string path_;
  FileIdentity file_;
  int copy_fd_;
  void* handle_ = nullptr;
  const ls_plugin* table_ = nullptr;
  std::string name_;
  std::string version_;
  const char* (*instance_version_)(const ls_instance*) = nullptr;
  SelfTest self_test_ = nullptr;
  Trace trace_ = nullptr;
  std::uint32_t flags_ = 0;
  bool gives_audit_ = false;
};

}  // namespace leadscore::scoring
