#include "engine/analysis/scorer_report.h"

#include <cstdio>

#include "engine/scoring/comparison_report.h"

namespace leadscore::analysis {

ScorerReport scorer_report(const store::ScorerRunsInWindow& runs,
                           const scoring::ComparisonSettings& settings) {
  ScorerReport report{runs.since, runs.until, settings, {}};
  for (const store::ScorerVersionRuns& version : runs.versions) {
    ScorerVersionReport row;
    row.scorer = version.scorer;
    row.version = version.version;
    row.analyses = version.analyses;
    row.first_at = version.first_at;
    row.last_at = version.last_at;
    row.leads = version.leads.size();
    scoring::ScorerRun run{version.scorer + "@" + version.version, {}, {}};
    std::vector<std::optional<bool>> outcomes;
    run.scores.reserve(version.leads.size());
    run.recommendations.reserve(version.leads.size());
    outcomes.reserve(version.leads.size());
    for (const store::ReportedRun& lead : version.leads) {
      run.scores.push_back(lead.score);
      run.recommendations.push_back(lead.recommendation);
      const std::optional<bool> outcome = domain::sale_outcome(lead.sale);
      outcomes.push_back(outcome);
      if (!outcome)
        ++row.open;
      else if (*outcome)
        ++row.converted;
      else
        ++row.lost;
    }
    auto compared = scoring::compare_scorers({run}, outcomes, settings);
    row.summary = std::move(compared.scorers.front());
    report.versions.push_back(std::move(row));
  }
  return report;
}

namespace {

// One version's metrics as a report of one scorer, for the comparison's renderings.
scoring::ComparisonReport one_version(const ScorerVersionReport& v,
                                      const scoring::ComparisonSettings& settings) {
  scoring::ComparisonReport one;
  one.settings = settings;
  one.leads = v.leads;
  one.with_outcome = v.converted + v.lost;
  one.converted = v.converted;
  one.scorers.push_back(v.summary);
  return one;
}

}  // namespace

nlohmann::json scorer_report_json(const ScorerReport& report) {
  using nlohmann::json;
  json versions = json::array();
  for (const ScorerVersionReport& v : report.versions) {
    json metrics = scoring::report_json(one_version(v, report.settings))["scorers"][0];
    versions.push_back({{"scorer", v.scorer},
                        {"version", v.version},
                        {"analyses", v.analyses},
                        {"first_at", v.first_at},
                        {"last_at", v.last_at},
                        {"leads", v.leads},
                        {"converted", v.converted},
                        {"lost", v.lost},
                        {"open", v.open},
                        {"metrics", std::move(metrics)}});
  }
  return {{"since", report.since},
          {"until", report.until},
          {"min_n", report.settings.min_n},
          {"scorers", std::move(versions)}};
}

std::string scorer_report_text(const ScorerReport& report) {
  std::string text = "scorers that ran from " + report.since + " until " + report.until + "\n";
  if (report.versions.empty()) text += "\nnone\n";
  for (const ScorerVersionReport& v : report.versions) {
    text += "\n" + v.scorer + " version " + v.version + ": " + std::to_string(v.analyses) +
            " analyses of " + std::to_string(v.leads) + " leads, " + v.first_at + " to " +
            v.last_at + "\n  outcomes: " + std::to_string(v.converted) + " paid, " +
            std::to_string(v.lost) + " lost, " + std::to_string(v.open) + " open\n";
    std::string metrics = scoring::report_text(one_version(v, report.settings));
    // Without its first line (the lead count, said above) and the scorer's own heading.
    const auto body = metrics.find('\n', metrics.find(": ") + 1);
    if (body != std::string::npos) text += metrics.substr(body + 1);
  }
  return text;
}

std::string scorer_report_html(const ScorerReport& report) {
  using scoring::html_escape;
  const auto cell = [](const std::string& text) { return "<td>" + html_escape(text) + "</td>"; };
  std::string body = "<p>Analyses from " + html_escape(report.since) + " until " +
                     html_escape(report.until) +
                     ": each lead's latest run by each scorer version, measured against its "
                     "sale (paid converted, lost not, anything else open). A metric needs " +
                     std::to_string(report.settings.min_n) + " leads of each outcome.</p>\n";
  if (report.versions.empty())
    return scoring::html_page("Scorers against closed sales",
                              body + "<p>No scorer ran then.</p>\n");
  body +=
      "<table>\n<tr><th>scorer</th><th>version</th><th>analyses</th><th>leads</th><th>paid</th>"
      "<th>lost</th><th>open</th><th>AUC</th><th>first</th><th>last</th></tr>\n";
  for (const ScorerVersionReport& v : report.versions) {
    const auto& o = v.summary.outcomes;
    char auc[32] = "insufficient data";
    if (o && o->auc) std::snprintf(auc, sizeof auc, "%.3f", *o->auc);
    body += "<tr>" + cell(v.scorer) + cell(v.version) + cell(std::to_string(v.analyses)) +
            cell(std::to_string(v.leads)) + cell(std::to_string(v.converted)) +
            cell(std::to_string(v.lost)) + cell(std::to_string(v.open)) + cell(auc) +
            cell(v.first_at) + cell(v.last_at) + "</tr>\n";
  }
  body += "</table>\n";
  for (const ScorerVersionReport& v : report.versions)
    body += "<h2>" + html_escape(v.scorer) + " version " + html_escape(v.version) + "</h2>\n" +
            scoring::report_html_section(one_version(v, report.settings), false);
  body += scoring::report_html_notes(report.settings);
  return scoring::html_page("Scorers against closed sales", body);
}

namespace {

bool digits(std::string_view text, std::size_t at, std::size_t n, int& value) {
  if (at + n > text.size()) return false;
  value = 0;
  for (std::size_t i = at; i < at + n; ++i) {
    if (text[i] < '0' || text[i] > '9') return false;
    value = value * 10 + (text[i] - '0');
  }
  return true;
}

bool valid_date(std::string_view text) {
  int year = 0, month = 0, day = 0;
  if (!digits(text, 0, 4, year) || text[4] != '-' || !digits(text, 5, 2, month) || text[7] != '-' ||
      !digits(text, 8, 2, day))
    return false;
  static constexpr int kDays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (year < 1 || month < 1 || month > 12 || day < 1 || day > kDays[month - 1]) return false;
  const bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  return !(month == 2 && day == 29 && !leap);
}

bool valid_date_time(std::string_view text) {
  if (text.size() < 20 || !valid_date(text) || (text[10] != 'T' && text[10] != 't')) return false;
  int hour = 0, minute = 0, second = 0;
  if (!digits(text, 11, 2, hour) || text[13] != ':' || !digits(text, 14, 2, minute) ||
      text[16] != ':' || !digits(text, 17, 2, second) || hour > 23 || minute > 59 || second > 59)
    return false;
  std::size_t at = 19;
  if (text[at] == '.') {
    const std::size_t start = ++at;
    while (at < text.size() && text[at] >= '0' && text[at] <= '9') ++at;
    if (at == start || at - start > 9) return false;
  }
  if (at == text.size()) return false;
  if ((text[at] == 'Z' || text[at] == 'z') && at + 1 == text.size()) return true;
  int off_hour = 0, off_minute = 0;
  return (text[at] == '+' || text[at] == '-') && at + 6 == text.size() &&
         digits(text, at + 1, 2, off_hour) && text[at + 3] == ':' &&
         digits(text, at + 4, 2, off_minute) && off_hour <= 23 && off_minute <= 59;
}

}  // namespace

std::expected<std::string, domain::Error> parse_report_time(std::string_view text,
                                                            const std::string& field) {
  if (text.size() == 10 && valid_date(text)) return std::string(text) + "T00:00:00Z";
  if (valid_date_time(text)) return std::string(text);
  return std::unexpected(domain::Error::validation(
      field, field + " must be a date (2026-11-30) or an RFC 3339 date-time "
                     "(2026-11-30T12:00:00Z)"));
}

}  // namespace leadscore::analysis
