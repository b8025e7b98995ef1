// The HTML rendering of a comparison report (declared in comparison_report.h): tables and inline
// SVG charts, drawn here in C++ so that the page needs no script, no network and no font file.
// Chart elements carry classes (bar, roc, calibration, point) that the browser test looks for.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <string>

#include "engine/scoring/comparison_report.h"
#include "engine/scoring/comparison_report_parts.h"

namespace leadscore::scoring {
namespace {

constexpr const char* kPalette[] = {"#2563eb", "#ea580c", "#16a34a", "#9333ea",
                                    "#db2777", "#0891b2", "#ca8a04", "#4b5563"};

std::string colour_of(std::size_t scorer) { return kPalette[scorer % std::size(kPalette)]; }

// A count as people read it: 1,000,000.
std::string thousands(std::size_t n) {
  std::string digits = std::to_string(n), out;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

std::string percent(double share, int decimals = 1) { return fixed(share * 100, decimals) + "%"; }

std::string cell(const std::optional<double>& value, int decimals = 3) {
  return value ? "<td>" + fixed(*value, decimals) + "</td>" : "<td class=\"na\">n/a</td>";
}

std::string swatch(std::size_t scorer) {
  return "<span class=\"swatch\" style=\"background:" + colour_of(scorer) + "\"></span>";
}

// The area of one chart: data coordinates [x0, x1] x [y0, y1] onto a 460 x 300 view box.
struct Plot {
  double x0 = 0, x1 = 1, y0 = 0, y1 = 1;
  static constexpr double kWidth = 460, kHeight = 300;
  static constexpr double kLeft = 48, kRight = 14, kTop = 14, kBottom = 40;
  double x(double v) const { return kLeft + (v - x0) / (x1 - x0) * (kWidth - kLeft - kRight); }
  double y(double v) const {
    return kHeight - kBottom - (v - y0) / (y1 - y0) * (kHeight - kTop - kBottom);
  }
};

std::string num(double v) { return fixed(v, 1); }

// The frame: grid lines and tick labels at `x_ticks` / `y_ticks`, and the axes' titles.
std::string frame(const Plot& p, const std::vector<std::pair<double, std::string>>& x_ticks,
                  const std::vector<std::pair<double, std::string>>& y_ticks,
                  std::string_view x_title, std::string_view y_title, std::string_view label) {
  std::string svg =
      "<svg viewBox=\"0 0 460 300\" role=\"img\" aria-label=\"" + html_escape(label) + "\">";
  for (const auto& [v, text] : y_ticks) {
    svg += "<line class=\"grid\" x1=\"" + num(p.x(p.x0)) + "\" x2=\"" + num(p.x(p.x1)) +
           "\" y1=\"" + num(p.y(v)) + "\" y2=\"" + num(p.y(v)) + "\"/>";
    svg += "<text class=\"tick\" x=\"" + num(p.x(p.x0) - 6) + "\" y=\"" + num(p.y(v) + 4) +
           "\" text-anchor=\"end\">" + text + "</text>";
  }
  for (const auto& [v, text] : x_ticks)
    svg += "<text class=\"tick\" x=\"" + num(p.x(v)) + "\" y=\"" + num(p.y(p.y0) + 16) +
           "\" text-anchor=\"middle\">" + text + "</text>";
  svg += "<line class=\"axis\" x1=\"" + num(p.x(p.x0)) + "\" x2=\"" + num(p.x(p.x1)) + "\" y1=\"" +
         num(p.y(p.y0)) + "\" y2=\"" + num(p.y(p.y0)) + "\"/>";
  svg += "<text class=\"title\" x=\"" + num((p.x(p.x0) + p.x(p.x1)) / 2) + "\" y=\"" +
         num(Plot::kHeight - 6) + "\" text-anchor=\"middle\">" + std::string(x_title) + "</text>";
  svg += "<text class=\"title\" transform=\"rotate(-90)\" x=\"" +
         num(-(p.y(p.y0) + p.y(p.y1)) / 2) + "\" y=\"12\" text-anchor=\"middle\">" +
         std::string(y_title) + "</text>";
  return svg;
}

std::vector<std::pair<double, std::string>> unit_ticks() {
  std::vector<std::pair<double, std::string>> ticks;
  for (int i = 0; i <= 5; ++i) ticks.emplace_back(i / 5.0, fixed(i / 5.0, 1));
  return ticks;
}

std::string diagonal(const Plot& p) {
  return "<line class=\"diagonal\" x1=\"" + num(p.x(0)) + "\" y1=\"" + num(p.y(0)) + "\" x2=\"" +
         num(p.x(1)) + "\" y2=\"" + num(p.y(1)) + "\"/>";
}

std::string legend(const ComparisonReport& report, const std::vector<std::size_t>& scorers,
                   const std::function<std::string(std::size_t)>& extra) {
  std::string html = "<div class=\"legend\">";
  for (std::size_t s : scorers)
    html += "<span>" + swatch(s) + html_escape(report.scorers[s].scorer) + extra(s) + "</span>";
  return html + "</div>";
}

// Score distributions: per tenth of score, a bar per scorer, its share of the scorer's leads.
std::string histogram_chart(const ComparisonReport& report) {
  double top = 0;
  for (const auto& s : report.scorers)
    for (std::size_t count : s.histogram)
      if (s.n > 0) top = std::max(top, static_cast<double>(count) / static_cast<double>(s.n));
  top = top <= 0 ? 1 : std::min(1.0, std::ceil(top * 10 + 0.001) / 10);
  Plot p{0, 1, 0, top};
  std::vector<std::pair<double, std::string>> y_ticks;
  for (int i = 0; i <= 4; ++i) y_ticks.emplace_back(top * i / 4, percent(top * i / 4, 0));
  std::string svg =
      frame(p, unit_ticks(), y_ticks, "score", "share of scored leads", "score histograms");
  const std::size_t k = std::max<std::size_t>(report.scorers.size(), 1);
  const double group = (p.x(0.1) - p.x(0)) * 0.84, gap = (p.x(0.1) - p.x(0)) * 0.08;
  const double bar = group / static_cast<double>(k);
  for (std::size_t s = 0; s < report.scorers.size(); ++s) {
    const ScorerSummary& summary = report.scorers[s];
    for (std::size_t t = 0; t < summary.histogram.size(); ++t) {
      if (summary.n == 0 || summary.histogram[t] == 0) continue;
      const double share =
          static_cast<double>(summary.histogram[t]) / static_cast<double>(summary.n);
      const double x = p.x(static_cast<double>(t) / 10) + gap + bar * static_cast<double>(s);
      const double height = std::max(p.y(0) - p.y(share), 0.5);
      svg += "<rect class=\"bar\" x=\"" + num(x) + "\" y=\"" + num(p.y(0) - height) +
             "\" width=\"" + num(std::max(bar - 1, 1.0)) + "\" height=\"" + num(height) +
             "\" fill=\"" + colour_of(s) + "\"><title>" + html_escape(summary.scorer) + " " +
             fixed(static_cast<double>(t) / 10, 1) + "-" +
             fixed(static_cast<double>(t + 1) / 10, 1) + ": " + thousands(summary.histogram[t]) +
             " leads (" + percent(share) + ")</title></rect>";
    }
  }
  std::vector<std::size_t> all(report.scorers.size());
  for (std::size_t s = 0; s < all.size(); ++s) all[s] = s;
  return "<div class=\"card\"><h3>Score distribution</h3>" + svg + "</svg>" +
         legend(report, all, [](std::size_t) { return std::string(); }) + "</div>";
}

std::vector<std::size_t> sufficient_scorers(const ComparisonReport& report) {
  std::vector<std::size_t> out;
  for (std::size_t s = 0; s < report.scorers.size(); ++s)
    if (report.scorers[s].outcomes && report.scorers[s].outcomes->sufficient) out.push_back(s);
  return out;
}

std::string polyline_path(const std::vector<std::pair<double, double>>& points, const Plot& p) {
  std::string d;
  for (const auto& [x, y] : points) d += (d.empty() ? "M" : " L") + num(p.x(x)) + " " + num(p.y(y));
  return d;
}

// Curves drawn first are wider, so that one hidden under another (equal scorers) still shows.
std::string line_width(std::size_t scorer, const std::vector<std::size_t>& shown) {
  const auto place =
      static_cast<double>(std::find(shown.begin(), shown.end(), scorer) - shown.begin());
  return fixed(2 + 1.6 * (static_cast<double>(shown.size()) - 1 - place), 1);
}

std::string roc_chart(const ComparisonReport& report, const std::vector<std::size_t>& shown) {
  const Plot p;
  std::string svg = frame(p, unit_ticks(), unit_ticks(), "false positive rate (not converted)",
                          "true positive rate (converted)", "ROC curves");
  svg += diagonal(p);
  for (std::size_t s : shown) {
    std::vector<std::pair<double, double>> points;
    for (const RocPoint& r : report.scorers[s].outcomes->roc)
      points.emplace_back(r.false_positive_rate, r.true_positive_rate);
    svg += "<path class=\"roc\" d=\"" + polyline_path(points, p) + "\" stroke=\"" + colour_of(s) +
           "\" stroke-width=\"" + line_width(s, shown) + "\"/>";
  }
  return "<div class=\"card\"><h3>ROC</h3>" + svg + "</svg>" +
         legend(report, shown,
                [&](std::size_t s) {
                  return " <span class=\"meta\">AUC " + fixed(*report.scorers[s].outcomes->auc) +
                         "</span>";
                }) +
         "</div>";
}

std::string calibration_chart(const ComparisonReport& report,
                              const std::vector<std::size_t>& shown) {
  const Plot p;
  std::string svg = frame(p, unit_ticks(), unit_ticks(), "mean score in the tenth",
                          "share converted", "calibration curves");
  svg += diagonal(p);
  for (std::size_t s : shown) {
    std::vector<std::pair<double, double>> points;
    std::string dots;
    for (const CalibrationBin& bin : report.scorers[s].outcomes->calibration) {
      if (bin.n == 0) continue;
      points.emplace_back(bin.mean_score, bin.converted);
      dots += "<circle class=\"calibration-point\" cx=\"" + num(p.x(bin.mean_score)) + "\" cy=\"" +
              num(p.y(bin.converted)) + "\" r=\"3.5\" fill=\"" + colour_of(s) + "\"><title>" +
              html_escape(report.scorers[s].scorer) + " " + fixed(bin.from, 1) + "-" +
              fixed(bin.to, 1) + ": " + thousands(bin.n) + " leads, mean score " +
              fixed(bin.mean_score) + ", " + percent(bin.converted) + " converted</title></circle>";
    }
    svg += "<path class=\"calibration\" d=\"" + polyline_path(points, p) + "\" stroke=\"" +
           colour_of(s) + "\" stroke-width=\"" + line_width(s, shown) + "\"/>" + dots;
  }
  return "<div class=\"card\"><h3>Calibration</h3>" + svg + "</svg>" +
         legend(report, shown,
                [&](std::size_t s) {
                  return " <span class=\"meta\">Brier " +
                         fixed(*report.scorers[s].outcomes->brier) + "</span>";
                }) +
         "</div>";
}

std::string scorer_table(const ComparisonReport& report) {
  const bool outcomes = report.with_outcome > 0;
  std::string html =
      "<div class=\"card scroll\"><table><thead><tr><th>scorer</th><th>scored</th>"
      "<th>failed</th><th>mean</th><th>p10</th><th>median</th><th>p90</th><th>transfer</th>"
      "<th>continue</th><th>drop</th>";
  if (outcomes)
    html += "<th>AUC</th><th>AUC 95%</th><th>Brier</th><th>top-decile lift</th><th>KS</th>";
  html += "</tr></thead><tbody>";
  for (std::size_t s = 0; s < report.scorers.size(); ++s) {
    const ScorerSummary& x = report.scorers[s];
    html += "<tr><td>" + swatch(s) + html_escape(x.scorer) + "</td><td>" + thousands(x.n) +
            "</td><td>" + thousands(x.failed) + "</td><td>" + fixed(x.mean) + "</td><td>" +
            fixed(x.p10) + "</td><td>" + fixed(x.median) + "</td><td>" + fixed(x.p90) +
            "</td><td>" + thousands(x.transfer) + "</td><td>" +
            thousands(x.continue_qualification) + "</td><td>" + thousands(x.drop) + "</td>";
    if (outcomes) {
      if (!x.outcomes || !x.outcomes->sufficient) {
        const std::size_t n = x.outcomes ? x.outcomes->n : 0;
        const std::size_t c = x.outcomes ? x.outcomes->converted : 0;
        html += "<td colspan=\"5\" class=\"na\">insufficient data: " +
                insufficient_reason(report.settings.min_n, c, n - c) + "</td>";
      } else {
        const OutcomeMetrics& o = *x.outcomes;
        html += cell(o.auc);
        html += o.auc_interval ? "<td>" + fixed(o.auc_interval->low) + "&ndash;" +
                                     fixed(o.auc_interval->high) + "</td>"
                               : std::string("<td class=\"na\">off</td>");
        html += cell(o.brier) + cell(o.lift_top_decile, 2) + cell(o.ks);
      }
    }
    html += "</tr>";
  }
  return html + "</tbody></table></div>";
}

// The A-vs-B scatter: a sample of the leads both scored, coloured by outcome, with the handoff
// threshold on both axes (its quadrants are the flip table's cells) and the diagonal.
std::string scatter_chart(const ComparisonReport& report, const PairComparison& pair) {
  const Plot p;
  std::string svg = frame(p, unit_ticks(), unit_ticks(), html_escape(pair.a) + " score",
                          html_escape(pair.b) + " score", pair.a + " against " + pair.b);
  const double t = pair.handoff.threshold;
  svg += diagonal(p);
  svg += "<line class=\"threshold\" x1=\"" + num(p.x(t)) + "\" x2=\"" + num(p.x(t)) + "\" y1=\"" +
         num(p.y(0)) + "\" y2=\"" + num(p.y(1)) + "\"/>";
  svg += "<line class=\"threshold\" x1=\"" + num(p.x(0)) + "\" x2=\"" + num(p.x(1)) + "\" y1=\"" +
         num(p.y(t)) + "\" y2=\"" + num(p.y(t)) + "\"/>";
  // Rule-based scorers give few distinct scores: each point is moved by up to 0.01 on each axis
  // (the same for the same report) so that many leads at one spot show as a cloud, not a dot.
  std::uint32_t state = 2463534242u;
  const auto jitter = [&state] {
    state ^= state << 13;
    state ^= state >> 17;
    state ^= state << 5;
    return (static_cast<double>(state % 2001) / 1000 - 1) * 0.01;
  };
  for (const ScatterPoint& point : pair.scatter) {
    const char* kind = point.outcome == 1 ? "converted" : point.outcome == 0 ? "lost" : "open";
    const double x = std::clamp(point.a + jitter(), 0.0, 1.0);
    const double y = std::clamp(point.b + jitter(), 0.0, 1.0);
    svg += "<circle class=\"point " + std::string(kind) + "\" cx=\"" + num(p.x(x)) + "\" cy=\"" +
           num(p.y(y)) + "\" r=\"2.4\"/>";
  }
  std::string legend = "<div class=\"legend\">";
  if (report.with_outcome > 0)
    legend +=
        "<span><span class=\"dot converted\"></span>converted</span>"
        "<span><span class=\"dot lost\"></span>not converted</span>"
        "<span><span class=\"dot open\"></span>no outcome</span>";
  legend += "<span class=\"meta\">" + thousands(pair.scatter.size()) + " of " + thousands(pair.n) +
            " leads shown, jittered by up to 0.01; dashed: handoff at " + fixed(t, 2) +
            "</span></div>";
  return "<div class=\"card\"><h3>Scores, lead by lead</h3>" + svg + "</svg>" + legend + "</div>";
}

std::string flip_cell(const ComparisonReport& report, const PairComparison& pair, std::size_t c,
                      std::size_t count, const char* kind) {
  std::string html =
      "<td class=\"" + std::string(kind) + "\"><strong>" + thousands(count) +
      "</strong> <span class=\"meta\">" +
      percent(pair.n ? static_cast<double>(count) / static_cast<double>(pair.n) : 0) + "</span>";
  if (report.with_outcome > 0) {
    const std::size_t known = pair.handoff.with_outcome[c], yes = pair.handoff.converted[c];
    if (known > 0)
      html += "<br>" + percent(static_cast<double>(yes) / static_cast<double>(known)) +
              " converted<br><small class=\"meta\">" + thousands(yes) + " of " + thousands(known) +
              " with an outcome</small>";
    else if (count > 0)
      html += "<br><small class=\"meta\">no outcome known</small>";
  }
  return html + "</td>";
}

std::string flip_table(const ComparisonReport& report, const PairComparison& pair) {
  const std::string a = html_escape(pair.a), b = html_escape(pair.b);
  const HandoffFlips& h = pair.handoff;
  return "<div class=\"card\"><h3>Handoff decisions at score &ge; " + fixed(h.threshold, 2) +
         "</h3><table class=\"flip\"><thead><tr><th></th><th>" + b + " hands off</th><th>" + b +
         " does not</th></tr></thead><tbody><tr><th>" + a + " hands off</th>" +
         flip_cell(report, pair, 0, h.both, "agree") +
         flip_cell(report, pair, 1, h.only_a, "flip") + "</tr><tr><th>" + a + " does not</th>" +
         flip_cell(report, pair, 2, h.only_b, "flip") +
         flip_cell(report, pair, 3, h.neither, "agree") +
         "</tr></tbody></table><p class=\"meta\">Cohen's kappa of the two decisions: " +
         (h.kappa ? fixed(*h.kappa) : std::string("n/a")) + "</p></div>";
}

std::string pair_section(const ComparisonReport& report, const PairComparison& pair) {
  const std::string a = html_escape(pair.a), b = html_escape(pair.b);
  // Nothing to compare (the scorers of two experiment arms, each of its own leads): said, not
  // drawn as empty charts.
  if (pair.n == 0)
    return "<h2>" + a + " vs " + b + "</h2><p class=\"meta\">" + a + " and " + b +
           " scored no lead in common: there is nothing to compare them on.</p>";
  std::string html = "<h2>" + a + " vs " + b +
                     "</h2><div class=\"grid\"><div class=\"card\">"
                     "<h3>Agreement over " +
                     thousands(pair.n) + " leads both scored</h3><table class=\"facts\"><tbody>";
  const auto row = [&](const std::string& name, const std::string& value) {
    html += "<tr><td>" + name + "</td><td>" + value + "</td></tr>";
  };
  const auto optional = [](const std::optional<double>& v) {
    return v ? fixed(*v) : std::string("<span class=\"na\">n/a</span>");
  };
  row("same recommendation", percent(*pair.agreement));
  row("recommendation kappa", optional(pair.recommendation_kappa));
  row("Spearman's rho", optional(pair.spearman));
  row("Kendall's tau-b", optional(pair.kendall_tau_b));
  row("mean |difference|", fixed(*pair.mean_absolute_difference));
  if (report.with_outcome > 0) {
    if (const auto& d = pair.auc_difference) {
      row("AUC " + a + " &minus; " + b, (d->difference >= 0 ? "+" : "") + fixed(d->difference));
      row("its 95% interval (DeLong)", fixed(d->interval.low) + " to " + fixed(d->interval.high));
      row("p-value (no difference)", d->p_value < 1e-4 ? "&lt; 0.0001" : fixed(d->p_value, 4));
    } else {
      row("AUC difference (DeLong)",
          "<span class=\"na\">insufficient data: " +
              insufficient_reason(report.settings.min_n, pair.outcome_converted,
                                  pair.outcome_n - pair.outcome_converted) +
              "</span>");
    }
  }
  html +=
      "</tbody></table></div>" + flip_table(report, pair) + scatter_chart(report, pair) + "</div>";
  return html;
}

constexpr const char* kStylesheet = R"css(
:root{--ink:#1f2937;--muted:#6b7280;--line:#e5e7eb;--bg:#f5f7fb;--card:#fff;--accent:#2563eb}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--ink);
  font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif}
main{max-width:1200px;margin:0 auto;padding:28px 24px 48px}
header{margin-bottom:8px}
h1{font-size:24px;margin:0 0 4px;letter-spacing:-.01em}
h2{font-size:18px;margin:32px 0 12px}
h3{font-size:13px;margin:0 0 10px;color:var(--muted);font-weight:600;text-transform:uppercase;
  letter-spacing:.04em}
.meta{color:var(--muted)}
.na{color:var(--muted);font-style:italic}
.card{background:var(--card);border:1px solid var(--line);border-radius:12px;padding:16px 18px;
  box-shadow:0 1px 3px rgba(15,23,42,.05)}
.scroll{overflow-x:auto}
.grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(360px,1fr));gap:16px}
table{border-collapse:collapse;width:100%;font-variant-numeric:tabular-nums}
th,td{padding:7px 10px;border-bottom:1px solid var(--line);text-align:right;white-space:nowrap}
th:first-child,td:first-child{text-align:left}
thead th{font-weight:600;color:var(--muted);font-size:12px}
tbody tr:last-child td,tbody tr:last-child th{border-bottom:none}
table.facts td:last-child{font-weight:600}
table.facts td{white-space:normal}
table.flip{table-layout:fixed}
table.flip td{text-align:center;white-space:normal;padding:12px 6px;border:1px solid var(--line)}
table.flip th{white-space:normal}
table.flip td.agree{background:#f0fdf4}
table.flip td.flip{background:#fff7ed}
table.flip thead th,table.flip tbody th{text-align:center;font-size:12px;color:var(--muted)}
table.flip strong{font-size:18px}
.swatch{display:inline-block;width:10px;height:10px;border-radius:3px;margin-right:7px}
.legend{display:flex;flex-wrap:wrap;gap:14px;font-size:12px;margin-top:8px}
.dot{display:inline-block;width:9px;height:9px;border-radius:50%;margin-right:5px}
.dot.converted,circle.converted{background:#16a34a;fill:#16a34a}
.dot.lost,circle.lost{background:#dc2626;fill:#dc2626}
.dot.open,circle.open{background:#64748b;fill:#64748b}
svg{width:100%;height:auto;display:block;overflow:visible}
svg text{font-size:11px;fill:var(--muted)}
svg text.title{font-size:12px;fill:var(--ink)}
svg .grid{stroke:#eef0f4;stroke-width:1}
svg .axis{stroke:#9ca3af;stroke-width:1}
svg .diagonal{stroke:#9ca3af;stroke-width:1;stroke-dasharray:4 4}
svg .threshold{stroke:#f59e0b;stroke-width:1.2;stroke-dasharray:6 3}
svg path.roc,svg path.calibration{fill:none;stroke-linejoin:round;stroke-linecap:round;stroke-opacity:.9}
svg circle.point{fill-opacity:.45}
svg rect.bar{rx:1.5}
.notes{margin-top:28px;font-size:12px;color:var(--muted)}
)css";

}  // namespace

std::string html_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string html_page(std::string_view title, std::string_view body) {
  return "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
         "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">"
         "<title>" +
         html_escape(title) + "</title><style>" + kStylesheet +
         "</style></head><body><main><header><h1>" + html_escape(title) + "</h1></header>" +
         std::string(body) + "</main></body></html>\n";
}

std::string report_html_notes(const ComparisonSettings& settings) {
  return "<p class=\"notes\">AUC: the chance that a converted lead scores above one that did "
         "not (ties half); its 95% interval from " +
         thousands(settings.bootstrap) + " bootstrap resamples (seed " +
         std::to_string(settings.seed) +
         "). Top-decile lift: the conversion rate of the top tenth by score over the overall "
         "rate. KS: the largest gap between the score distributions of converted and other "
         "leads. The AUC difference of a pair is DeLong's paired test over the leads both "
         "scored with an outcome. Outcome metrics need at least " +
         thousands(settings.min_n) + " leads in each outcome class.</p>";
}

std::string report_html_section(const ComparisonReport& report, bool with_notes) {
  const ComparisonSettings& settings = report.settings;
  std::string html =
      "<section class=\"comparison\"><p class=\"meta\">" + thousands(report.leads) + " leads";
  if (report.with_outcome > 0)
    html += ", " + thousands(report.with_outcome) + " with an outcome (" +
            thousands(report.converted) + " converted, " +
            thousands(report.with_outcome - report.converted) + " not)";
  html += " &middot; handoff at score &ge; " + fixed(settings.handoff_min_score, 2) + "</p>";
  html += "<h2>Scorers</h2>" + scorer_table(report);
  html += "<h2>Charts</h2><div class=\"grid\">" + histogram_chart(report);
  const std::vector<std::size_t> shown = sufficient_scorers(report);
  if (!shown.empty()) html += roc_chart(report, shown) + calibration_chart(report, shown);
  html += "</div>";
  if (report.with_outcome > 0 && shown.size() < report.scorers.size())
    html += "<p class=\"meta\">ROC and calibration are drawn for scorers with at least " +
            thousands(settings.min_n) + " leads in each outcome class.</p>";
  for (const PairComparison& pair : report.pairs) html += pair_section(report, pair);
  if (with_notes) html += report_html_notes(settings);
  return html + "</section>";
}

std::string report_html(const ComparisonReport& report, std::string_view title) {
  return html_page(title, report_html_section(report));
}

}  // namespace leadscore::scoring
