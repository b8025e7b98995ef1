#include "plugins/lua/lua_scorer.h"

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <map>
#include <mutex>
#include <sstream>
#include <system_error>
#include <thread>

#include "plugins/support/fnv1a.h"

namespace leadscore::lua {

struct LuaScorer::Program {
  std::uint64_t id = 0;
  RuleSources sources;
  nlohmann::json params;
  SandboxLimits limits;
  // Each thread's state, made on its first call and freed with the scorer. (Not in a
  // thread_local object: a module with thread-local destructors stays loaded until those
  // threads end, so the code of a reloaded lua.so could never be unloaded.)
  mutable std::mutex mutex;
  mutable std::map<std::thread::id, std::unique_ptr<LuaSandbox>> sandboxes;
};

namespace {

std::atomic<std::uint64_t> next_program_id{1};

// This thread's last state, so that a call finds it without the lock. Plain values: see
// Program::sandboxes. The program id (never reused) says whose state it is.
thread_local std::uint64_t t_program = 0;
thread_local LuaSandbox* t_sandbox = nullptr;

std::expected<std::string, std::string> read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::unexpected(std::string("cannot read the file"));
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) return std::unexpected(std::string("cannot read the file"));
  return text;
}

}  // namespace

std::string display_path(const std::filesystem::path& path) {
  std::error_code ec;
  const auto cwd = std::filesystem::current_path(ec);
  const auto absolute = path.is_absolute() ? path : cwd / path;
  if (!ec) {
    const auto relative = absolute.lexically_normal().lexically_relative(cwd);
    if (!relative.empty() && *relative.begin() != "..") return relative.string();
  }
  return absolute.lexically_normal().string();
}

std::expected<LuaScorerParams, std::vector<std::string>> read_lua_params(
    const nlohmann::json& params) {
  std::vector<std::string> problems;
  LuaScorerParams out;
  if (!params.is_object())
    return std::unexpected(std::vector<std::string>{"params must be a mapping"});
  out.params = params;
  const auto integer = [&](const char* key, std::int64_t& value, std::int64_t min,
                           std::int64_t max) {
    if (!params.contains(key)) return;
    const auto& v = params.at(key);
    if (!v.is_number_integer() || v.get<std::int64_t>() < min || v.get<std::int64_t>() > max)
      problems.push_back(std::string(key) + " must be an integer in " + std::to_string(min) + ".." +
                         std::to_string(max) + ", got " + v.dump());
    else
      value = v.get<std::int64_t>();
  };
  if (!params.contains("script"))
    problems.push_back("missing key 'script': the rule script to run (e.g. rules/default.lua)");
  else if (!params["script"].is_string() || params["script"].get<std::string>().empty())
    problems.push_back("script must be a path, got " + params["script"].dump());
  else
    out.script = params["script"].get<std::string>();
  if (params.contains("lib_dir")) {
    if (!params["lib_dir"].is_string())
      problems.push_back("lib_dir must be a path, got " + params["lib_dir"].dump());
    else
      out.lib_dir = params["lib_dir"].get<std::string>();
  }
  if (params.contains("tests")) {
    if (!params["tests"].is_string() || params["tests"].get<std::string>().empty())
      problems.push_back("tests must be the path of a rule-test file or directory, got " +
                         params["tests"].dump());
    else
      out.tests = params["tests"].get<std::string>();
  }
  integer("instruction_limit", out.instruction_limit, 1000, 1'000'000'000);
  integer("memory_limit_mb", out.memory_limit_mb, 1, 4096);
  integer("time_limit_ms", out.time_limit_ms, 1, 600'000);
  if (!problems.empty()) return std::unexpected(std::move(problems));
  return out;
}

std::expected<std::unique_ptr<LuaScorer>, std::vector<LoadError>> LuaScorer::create(
    std::string name, const nlohmann::json& params, const std::filesystem::path& base_dir) {
  auto read = read_lua_params(params);
  if (!read) {
    std::vector<LoadError> errors;
    for (auto& problem : read.error()) errors.push_back({"params of " + name, 0, problem});
    return std::unexpected(std::move(errors));
  }
  return create_with(std::move(name), *read, base_dir);
}

std::expected<std::unique_ptr<LuaScorer>, std::vector<LoadError>> LuaScorer::create_with(
    std::string name, const LuaScorerParams& params, const std::filesystem::path& base_dir) {
  namespace fs = std::filesystem;
  std::vector<LoadError> errors;
  RuleSources sources;
  const fs::path script = params.script.is_absolute() ? params.script : base_dir / params.script;
  sources.script.name = display_path(script);
  if (auto text = read_file(script))
    sources.script.text = std::move(*text);
  else
    errors.push_back({sources.script.name, 0, text.error()});

  fs::path lib_dir = params.lib_dir;
  bool lib_required = !lib_dir.empty();
  if (lib_dir.empty())
    lib_dir = script.parent_path() / "lib";
  else if (lib_dir.is_relative())
    lib_dir = base_dir / lib_dir;
  std::error_code ec;
  if (fs::is_directory(lib_dir, ec)) {
    std::vector<fs::path> libs;
    for (const auto& entry : fs::directory_iterator(lib_dir, ec))
      if (entry.path().extension() == ".lua" && entry.is_regular_file(ec))
        libs.push_back(entry.path());
    std::ranges::sort(libs);
    for (const auto& lib : libs) {
      SourceFile file{display_path(lib), {}};
      if (auto text = read_file(lib))
        file.text = std::move(*text);
      else
        errors.push_back({file.name, 0, text.error()});
      sources.libs.push_back(std::move(file));
    }
  } else if (lib_required) {
    errors.push_back({display_path(lib_dir), 0, "lib_dir is not a directory"});
  }
  if (!errors.empty()) return std::unexpected(std::move(errors));
  const fs::path absolute = script.is_absolute() ? script : fs::absolute(script, ec);
  return from_sources(std::move(name), std::move(sources), params, absolute.lexically_normal());
}

std::expected<std::unique_ptr<LuaScorer>, std::vector<LoadError>> LuaScorer::with_params(
    const nlohmann::json& params) const {
  nlohmann::json merged = program_->params;
  if (params.is_object())
    for (auto it = params.begin(); it != params.end(); ++it)
      if (it.key() != "script") merged[it.key()] = it.value();
  auto read = read_lua_params(merged);
  if (!read) {
    std::vector<LoadError> errors;
    for (auto& problem : read.error()) errors.push_back({"params of " + name_, 0, problem});
    return std::unexpected(std::move(errors));
  }
  return from_sources(name_, program_->sources, *read, script_path_);
}

std::expected<std::unique_ptr<LuaScorer>, std::vector<LoadError>> LuaScorer::from_sources(
    std::string name, RuleSources sources, const LuaScorerParams& params,
    std::filesystem::path script_path) {
  auto program = std::make_shared<Program>();
  program->id = next_program_id.fetch_add(1);
  program->params = params.params;
  program->limits.instruction_limit = params.instruction_limit;
  program->limits.memory_limit_bytes = static_cast<std::size_t>(params.memory_limit_mb) << 20;
  program->limits.time_limit_ms = params.time_limit_ms;
  program->sources = std::move(sources);

  auto sandbox = LuaSandbox::create(program->sources, program->params, program->limits);
  if (!sandbox) return std::unexpected(std::vector<LoadError>{sandbox.error()});

  std::uint64_t hash = plugin::fnv1a(program->sources.script.text);
  for (const auto& lib : program->sources.libs) {
    hash = plugin::fnv1a(std::string_view("\0", 1), hash);
    hash = plugin::fnv1a(lib.name.substr(lib.name.find_last_of('/') + 1), hash);
    hash = plugin::fnv1a(std::string_view("\0", 1), hash);
    hash = plugin::fnv1a(lib.text, hash);
  }
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(hash));

  auto scorer = std::unique_ptr<LuaScorer>(new LuaScorer());
  scorer->name_ = std::move(name);
  scorer->script_path_ = std::move(script_path);
  scorer->script_name_ = (*sandbox)->script_name();
  scorer->rules_hash_ = hex;
  scorer->version_ = (*sandbox)->script_version() + "+" + hex;
  scorer->files_.push_back(program->sources.script.name);
  for (const auto& lib : program->sources.libs) scorer->files_.push_back(lib.name);
  // The state made to check the script serves this thread's first calls.
  program->sandboxes[std::this_thread::get_id()] = std::move(*sandbox);
  scorer->program_ = std::move(program);
  return scorer;
}

LuaSandbox* LuaScorer::thread_sandbox(std::string* error) const {
  if (t_program == program_->id) return t_sandbox;
  std::lock_guard lock(program_->mutex);
  std::unique_ptr<LuaSandbox>& mine = program_->sandboxes[std::this_thread::get_id()];
  if (!mine) {
    auto sandbox = LuaSandbox::create(program_->sources, program_->params, program_->limits);
    if (!sandbox) {
      program_->sandboxes.erase(std::this_thread::get_id());
      if (error != nullptr) *error = sandbox.error().to_text();
      return nullptr;
    }
    mine = std::move(*sandbox);
  }
  t_program = program_->id;
  t_sandbox = mine.get();
  return t_sandbox;
}

std::expected<plugin::ScoreResult, std::string> LuaScorer::score(
    const plugin::Features& features) const {
  return score(features, nullptr);
}

std::expected<plugin::ScoreResult, std::string> LuaScorer::score(
    const plugin::Features& features, const nlohmann::json* offer) const {
  std::string error;
  LuaSandbox* sandbox = thread_sandbox(&error);
  if (sandbox == nullptr) return std::unexpected(error);
  try {
    return sandbox->score(features, offer);
  } catch (const std::exception& e) {
    return std::unexpected(name_ + ": " + e.what());
  }
}

std::expected<Evaluation, std::string> LuaScorer::evaluate(const plugin::Features& features,
                                                           const nlohmann::json* offer) const {
  std::string error;
  LuaSandbox* sandbox = thread_sandbox(&error);
  if (sandbox == nullptr) return std::unexpected(error);
  try {
    return sandbox->evaluate(features, offer);
  } catch (const std::exception& e) {
    return std::unexpected(name_ + ": " + e.what());
  }
}

LeadTrace LuaScorer::trace(const plugin::Features& features, const nlohmann::json* offer) const {
  std::string error;
  LuaSandbox* sandbox = thread_sandbox(&error);
  if (sandbox == nullptr) return LeadTrace{std::unexpected(error), false, {}, {}};
  return sandbox->trace(features, offer);
}

}  // namespace leadscore::lua
