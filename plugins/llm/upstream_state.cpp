#include "plugins/llm/upstream_state.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

namespace leadscore::llm {
namespace {

using nlohmann::json;

std::string day_text(std::int64_t day) {
  const std::chrono::year_month_day date{std::chrono::sys_days(std::chrono::days(day))};
  char text[16];
  std::snprintf(text, sizeof text, "%04d-%02u-%02u", static_cast<int>(date.year()),
                static_cast<unsigned>(date.month()), static_cast<unsigned>(date.day()));
  return text;
}

std::optional<std::int64_t> day_of(const std::string& text) {
  int y = 0;
  unsigned m = 0, d = 0;
  char tail = 0;
  if (text.size() != 10 || std::sscanf(text.c_str(), "%4d-%2u-%2u%c", &y, &m, &d, &tail) != 3)
    return std::nullopt;
  const std::chrono::year_month_day date{std::chrono::year(y), std::chrono::month(m),
                                         std::chrono::day(d)};
  if (!date.ok()) return std::nullopt;
  return std::chrono::sys_days(date).time_since_epoch().count();
}

// An advisory lock on "<file>.lock" for as long as it lives; nothing when it cannot be taken
// (the count is still kept in memory and written).
class FileLock {
 public:
  explicit FileLock(const std::filesystem::path& file) {
    const std::string path = file.string() + ".lock";
    fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd_ >= 0 && ::flock(fd_, LOCK_EX) != 0) {
      ::close(fd_);
      fd_ = -1;
    }
  }
  ~FileLock() {
    if (fd_ >= 0) ::close(fd_);  // closing releases the lock
  }
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;

 private:
  int fd_ = -1;
};

template <typename State>
std::shared_ptr<State> shared(std::map<std::string, std::shared_ptr<State>>& states,
                              std::mutex& mutex, const std::string& key, auto make) {
  std::lock_guard lock(mutex);
  auto& state = states[key];
  if (!state) state = make();
  return state;
}

}  // namespace

std::expected<std::optional<BudgetDay>, std::string> read_budget_file(
    const std::filesystem::path& file) {
  std::error_code missing;
  if (!std::filesystem::exists(file, missing) && !missing) return std::optional<BudgetDay>();
  std::ifstream in(file, std::ios::binary);
  if (!in.is_open()) return std::unexpected(std::string("cannot read it: ") + std::strerror(errno));
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return std::unexpected(std::string("cannot read it"));
  const json parsed = json::parse(text.str(), nullptr, false);
  if (parsed.is_discarded() || !parsed.is_object())
    return std::unexpected(std::string("it is not a JSON object"));
  const auto day = parsed.find("day");
  const auto used = parsed.find("tokens_used");
  const std::optional<std::int64_t> day_number =
      day != parsed.end() && day->is_string() ? day_of(day->get<std::string>()) : std::nullopt;
  if (!day_number) return std::unexpected(std::string("its \"day\" is not a date YYYY-MM-DD"));
  if (used == parsed.end() || !used->is_number_integer() || used->get<std::int64_t>() < 0)
    return std::unexpected(std::string("its \"tokens_used\" is not a whole number of 0 or more"));
  return std::optional<BudgetDay>(BudgetDay{*day_number, used->get<std::int64_t>()});
}

std::expected<void, std::string> write_budget_file(const std::filesystem::path& file,
                                                   const BudgetDay& day) {
  const std::string text =
      json{{"day", day_text(day.day)}, {"tokens_used", day.tokens_used}}.dump() + "\n";
  const std::string temporary = file.string() + ".tmp." + std::to_string(::getpid());
  const int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return std::unexpected(std::string("cannot write it: ") + std::strerror(errno));
  std::string problem;
  if (::write(fd, text.data(), text.size()) != static_cast<ssize_t>(text.size()))
    problem = std::strerror(errno);
  else if (::fsync(fd) != 0)
    problem = std::strerror(errno);
  ::close(fd);
  if (problem.empty() && std::rename(temporary.c_str(), file.c_str()) != 0)
    problem = std::strerror(errno);
  if (!problem.empty()) {
    ::unlink(temporary.c_str());
    return std::unexpected("cannot write it: " + problem);
  }
  return {};
}

BudgetState::BudgetState(std::filesystem::path state_file) : state_file_(std::move(state_file)) {
  if (state_file_.empty()) return;
  std::lock_guard lock(file_mutex_);
  auto read = read_budget_file(state_file_);
  if (read && *read) {
    budget_.restore((*read)->day, (*read)->tokens_used);
  } else if (!read) {
    last_problem_ = read.error();
    std::fprintf(stderr,
                 "leadscore llm: budget.state_file %s: %s; counting today's tokens from 0\n",
                 state_file_.c_str(), read.error().c_str());
  }
}

bool BudgetState::spent(WallTime now, std::int64_t limit) { return budget_.spent(now, limit); }

std::int64_t BudgetState::used(WallTime now) { return budget_.used(now); }

void BudgetState::add(std::int64_t tokens, WallTime now) {
  if (state_file_.empty() || tokens <= 0) {
    budget_.add(tokens, now);
    return;
  }
  // The file's count may have grown meanwhile (another process, or the module of an older
  // build still finishing its runs): count on from the larger of the two.
  std::lock_guard lock(file_mutex_);
  const FileLock file_lock(state_file_);
  const std::int64_t today = utc_day(now);
  std::int64_t used = budget_.used(now);
  std::string problem;
  if (auto read = read_budget_file(state_file_); !read)
    problem = read.error();
  else if (*read && (*read)->day == today)
    used = std::max(used, (*read)->tokens_used);
  used += tokens;
  budget_.restore(today, used);
  if (auto written = write_budget_file(state_file_, {today, used}); !written)
    problem = written.error();
  if (!problem.empty() && problem != last_problem_)
    std::fprintf(stderr,
                 "leadscore llm: budget.state_file %s: %s; today's count (%lld tokens) is kept "
                 "in memory\n",
                 state_file_.c_str(), problem.c_str(), static_cast<long long>(used));
  last_problem_ = problem;
}

std::shared_ptr<UpstreamState> upstream_state(const LlmParams& params) {
  static std::mutex mutex;
  static std::map<std::string, std::shared_ptr<UpstreamState>> states;
  const std::string key =
      std::string(to_string(params.provider)) + '\n' + params.base_url + '\n' + params.model;
  return shared(states, mutex, key, [] { return std::make_shared<UpstreamState>(); });
}

std::shared_ptr<BudgetState> budget_state(const LlmParams& params) {
  static std::mutex mutex;
  static std::map<std::string, std::shared_ptr<BudgetState>> states;
  const std::string key = std::string(to_string(params.provider)) + '\n' + params.base_url + '\n' +
                          params.api_key_env + '\n' + params.budget_state_file.string();
  return shared(states, mutex, key,
                [&] { return std::make_shared<BudgetState>(params.budget_state_file); });
}

}  // namespace leadscore::llm
