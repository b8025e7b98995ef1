#include "engine/scoring/plugin_loader.h"

#include <dlfcn.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstring>
#include <exception>
#include <filesystem>
#include <map>
#include <mutex>

namespace leadscore::scoring {
namespace {

// The end of a field of the module's table, to check that the module's table has it.
#define LS_FIELD_END(field) (offsetof(ls_plugin, field) + sizeof(ls_plugin::field))

// The newest module loaded from each path, reused while its file is unchanged. Process-wide,
// as the dynamic loader's own table of loaded objects is; the mutex also makes "is this name
// loaded? then load" one step.
std::mutex loaded_mutex;
std::map<std::string, std::weak_ptr<const PluginModule>, std::less<>> newest_by_path;

PluginModule::FileIdentity identity_of(const struct stat& s) {
  return {static_cast<std::uint64_t>(s.st_dev), static_cast<std::uint64_t>(s.st_ino),
          static_cast<std::int64_t>(s.st_size),
          static_cast<std::int64_t>(s.st_mtim.tv_sec) * 1'000'000'000 + s.st_mtim.tv_nsec};
}

std::string replace_all(std::string text, const std::string& from, const std::string& to) {
  for (auto at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size()))
    text.replace(at, from.size(), to);
  return text;
}

// dlerror()'s message, naming the configured path where it names the file actually opened.
std::string dl_error(const std::string& opened, const std::string& path) {
  const char* message = dlerror();
  return message != nullptr ? replace_all(message, opened, path) : "unknown error";
}

// Whether dlopen(path) would answer an object already loaded under that name. It would,
// whatever the file holds now: the loader matches names before it opens anything.
bool is_loaded_under(const std::string& path) {
  void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL | RTLD_NOLOAD);
  if (handle == nullptr) return false;
  dlclose(handle);
  return true;
}

// Copies the file into an anonymous in-memory file (memfd); sets `file` to the identity of
// what was copied. The copy is immune to later writes to the file.
std::expected<int, std::string> copy_to_memory(const std::string& path,
                                               PluginModule::FileIdentity& file) {
  const int source = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (source < 0) return std::unexpected(std::string(std::strerror(errno)));
  struct stat s {};
  int copy = -1;
  std::string error;
  if (fstat(source, &s) != 0) {
    error = std::strerror(errno);
  } else {
    file = identity_of(s);
    const std::string name = std::filesystem::path(path).filename().string();
    copy = memfd_create(name.c_str(), MFD_CLOEXEC);
    if (copy < 0) error = std::string("cannot make a private copy: ") + std::strerror(errno);
    for (off_t offset = 0; copy >= 0 && offset < s.st_size;) {
      const ssize_t n =
          sendfile(copy, source, &offset, static_cast<std::size_t>(s.st_size - offset));
      if (n > 0) continue;
      if (n < 0) error = std::string("cannot make a private copy: ") + std::strerror(errno);
      break;  // n == 0: the file shrank while copied; dlopen() judges what was copied
    }
  }
  ::close(source);
  if (!error.empty()) {
    if (copy >= 0) ::close(copy);
    return std::unexpected(error);
  }
  return copy;
}

}  // namespace

PluginModule::PluginModule(std::string path, FileIdentity file, int copy_fd)
    : path_(std::move(path)), file_(file), copy_fd_(copy_fd) {}

PluginModule::~PluginModule() {
  if (handle_ != nullptr) dlclose(handle_);
  if (copy_fd_ >= 0) ::close(copy_fd_);
}

std::expected<std::shared_ptr<const PluginModule>, std::string> PluginModule::load(
    const std::string& path) {
  std::lock_guard lock(loaded_mutex);
  struct stat s {};
  if (stat(path.c_str(), &s) != 0)
    return std::unexpected("cannot load plugin module " + path + ": " + std::strerror(errno));
  std::weak_ptr<const PluginModule>& newest = newest_by_path[path];
  if (auto module = newest.lock(); module && module->file_ == identity_of(s)) return module;

  // dlopen(path) would answer the older module still loaded under this name, so a rebuilt
  // file loads from a private copy, beside the old module that requests in flight still use.
  std::unique_ptr<PluginModule> module;
  if (is_loaded_under(path)) {
    FileIdentity file;
    auto copy = copy_to_memory(path, file);
    if (!copy) return std::unexpected("cannot load plugin module " + path + ": " + copy.error());
    module.reset(new PluginModule(path, file, *copy));
  } else {
    module.reset(new PluginModule(path, identity_of(s), -1));
  }
  if (auto opened = module->open(); !opened) return std::unexpected(opened.error());
  std::shared_ptr<const PluginModule> shared(std::move(module));
  newest = shared;
  return shared;
}

std::expected<void, std::string> PluginModule::open() {
  // The copy's name stays unique among loaded objects while its descriptor is open.
  const std::string opened = copy_fd_ >= 0 ? "/proc/self/fd/" + std::to_string(copy_fd_) : path_;
  dlerror();
  handle_ = dlopen(opened.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle_ == nullptr)
    return std::unexpected("cannot load plugin module " + path_ + ": " + dl_error(opened, path_));
  auto refuse = [&](std::string message) {
    return std::unexpected("plugin module " + path_ + ": " + std::move(message));
  };

  dlerror();
  void* symbol = dlsym(handle_, LEADSCORE_PLUGIN_ENTRY);
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
    table_ = table;
    name_ = table->name;
    version_ = table->version;
    if (table->struct_size >= LS_FIELD_END(instance_version))
      instance_version_ = table->instance_version;
    if (table->struct_size >= LS_FIELD_END(self_test)) self_test_ = table->self_test;
    if (table->struct_size >= LS_FIELD_END(trace)) trace_ = table->trace;
    // `flags` and ls_result.audit_json came in together: a table that holds the one was
    // built with the other.
    if (table->struct_size >= LS_FIELD_END(flags)) {
      flags_ = table->flags;
      gives_audit_ = true;
    }
  } catch (const std::exception& e) {
    return refuse(e.what());
  }
  return {};
}

}  // namespace leadscore::scoring
