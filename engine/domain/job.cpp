#include "engine/domain/job.h"

#include <array>
#include <utility>

namespace leadscore::domain {
namespace {

constexpr std::array<std::pair<JobStatus, std::string_view>, 6> kStatusNames{{
    {JobStatus::Queued, "queued"},
    {JobStatus::Running, "running"},
    {JobStatus::Done, "done"},
    {JobStatus::Failed, "failed"},
    {JobStatus::Cancelled, "cancelled"},
    {JobStatus::Interrupted, "interrupted"},
}};

}  // namespace

std::string_view to_string(JobStatus status) {
  for (const auto& [value, name] : kStatusNames)
    if (value == status) return name;
  return "unknown";
}

std::optional<JobStatus> parse_job_status(std::string_view text) {
  for (const auto& [value, name] : kStatusNames)
    if (name == text) return value;
  return std::nullopt;
}

bool is_final(JobStatus status) {
  return status == JobStatus::Done || status == JobStatus::Failed || status == JobStatus::Cancelled;
}

std::string job_actor(const Job& job) {
  return "job " + std::to_string(job.id) + " (" + job.created_by + ")";
}

double job_rate(const Job& job) {
  if (job.elapsed_seconds <= 0) return 0;
  return static_cast<double>(job.done + job.failed) / job.elapsed_seconds;
}

std::optional<double> job_eta_seconds(const Job& job) {
  const double rate = job_rate(job);
  if (job.status != JobStatus::Running || rate <= 0) return std::nullopt;
  const auto left = job.total - job.done - job.failed;
  return left <= 0 ? 0.0 : static_cast<double>(left) / rate;
}

}  // namespace leadscore::domain
