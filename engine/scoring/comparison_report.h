// The renderings of a comparison report (engine/scoring/comparison.h): plain text for a
// terminal, JSON for programs, and HTML for people: one self-contained page (no network, no
// script, no external font) with the report's tables and inline SVG charts — score histograms,
// calibration curves against the diagonal, ROC curves, an A-vs-B scatter per pair and the flip
// table of the handoff decision. The offline `leadscore compare` and the API answer with the
// same renderings of the same report type; html_page() and report_html_section() are the pieces
// other pages are built from.
//
// Every text that comes from input (scorer names, titles) is escaped in the HTML.
//
// Pure functions: safe from any thread.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "engine/scoring/comparison.h"

namespace leadscore::scoring {

std::string report_text(const ComparisonReport& report);
nlohmann::json report_json(const ComparisonReport& report);

// A whole page: html_page(title, report_html_section(report)).
std::string report_html(const ComparisonReport& report, std::string_view title);
// The page frame with the shared stylesheet; `body` is HTML (escape what it holds), `title` text.
std::string html_page(std::string_view title, std::string_view body);
// The report's tables and SVG charts as a fragment (a <section>), for a page of html_page(),
// ending with report_html_notes() unless `with_notes` is false (a page of several sections
// gives the notes once).
std::string report_html_section(const ComparisonReport& report, bool with_notes = true);
// What the metrics mean, and the bootstrap and min_n of `settings`, as a paragraph.
std::string report_html_notes(const ComparisonSettings& settings);
// `text` with &, <, >, " and ' as character references: safe in HTML text and attributes.
std::string html_escape(std::string_view text);

}  // namespace leadscore::scoring
