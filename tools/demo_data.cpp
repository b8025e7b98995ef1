#include "tools/demo_data.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <string_view>

#include "tools/csv.h"

namespace leadscore::tools {
namespace {

// splitmix64 (Steele, Lea, Flood 2014): one 64-bit state, the same numbers everywhere.
class DemoRandom {
 public:
  explicit DemoRandom(std::uint64_t seed) : state_(seed) {}

  std::uint64_t next() {
    std::uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  // Uniform in [0, 1), from the top 53 bits.
  double unit() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
  // Uniform in [0, n) (n small: the modulo bias is below 2^-58).
  std::size_t below(std::size_t n) { return static_cast<std::size_t>(next() % n); }
  bool chance(double p) { return unit() < p; }
  template <typename T, std::size_t N>
  const T& pick(const std::array<T, N>& items) {
    return items[below(N)];
  }

 private:
  std::uint64_t state_;
};

// The truth's weights (demo_data.h).
constexpr double kIntercept = -4.1;
constexpr double kDecisionMaker = 2.0, kInfluencer = 1.0;
constexpr double kIdealIndustry = 1.4, kRelatedIndustry = 0.7;
constexpr double kMidSizeCompany = 0.5;
constexpr double kPerTouch = 0.12;
constexpr int kTouchesCounted = 10;
constexpr double kBusinessDomain = 0.4;

enum class Seniority { DecisionMaker, Influencer, Other };
enum class Fit { Ideal, Related, Other };

struct Role {
  std::string_view title;
  Seniority seniority;
};
// Decision makers and influencers by the words rules/icp_fit.lua knows them by; the others
// carry none of those words.
constexpr std::array<Role, 24> kRoles{{
    {"CEO", Seniority::DecisionMaker},
    {"CTO", Seniority::DecisionMaker},
    {"CFO", Seniority::DecisionMaker},
    {"VP of Sales", Seniority::DecisionMaker},
    {"Head of Growth", Seniority::DecisionMaker},
    {"Marketing Director", Seniority::DecisionMaker},
    {"Co-Founder", Seniority::DecisionMaker},
    {"Owner", Seniority::DecisionMaker},
    {"Engineering Manager", Seniority::Influencer},
    {"Sales Manager", Seniority::Influencer},
    {"Team Lead", Seniority::Influencer},
    {"Solutions Architect", Seniority::Influencer},
    {"Senior Account Executive", Seniority::Influencer},
    {"Principal Engineer", Seniority::Influencer},
    {"Product Manager", Seniority::Influencer},
    {"Analyst", Seniority::Other},
    {"Account Executive", Seniority::Other},
    {"Consultant", Seniority::Other},
    {"Recruiter", Seniority::Other},
    {"Student", Seniority::Other},
    {"Coordinator", Seniority::Other},
    {"Software Engineer", Seniority::Other},
    {"Designer", Seniority::Other},
    {"Sales Development Representative", Seniority::Other},
}};

struct Industry {
  std::string_view name;
  Fit fit;
};
// The ideal customers are the example offer's ideal_use_cases (README); a related industry is
// one that an ideal one contains, as rules/icp_fit.lua matches them.
constexpr std::array<Industry, 14> kIndustries{{
    {"B2B SaaS", Fit::Ideal},
    {"Sales teams", Fit::Ideal},
    {"Marketing agencies", Fit::Ideal},
    {"SaaS", Fit::Related},
    {"Sales", Fit::Related},
    {"Marketing", Fit::Related},
    {"Healthcare", Fit::Other},
    {"Manufacturing", Fit::Other},
    {"Retail", Fit::Other},
    {"Education", Fit::Other},
    {"Logistics", Fit::Other},
    {"Real estate", Fit::Other},
    {"Banking", Fit::Other},
    {"Hospitality", Fit::Other},
}};

constexpr std::array<std::string_view, 20> kFirstNames{
    "Ada",   "Ben",  "Chloe", "Dmitri", "Elena", "Farid", "Grace", "Hiro", "Ines", "Jonas",
    "Kemal", "Lena", "Mateo", "Nadia",  "Omar",  "Priya", "Quinn", "Rosa", "Sven", "Tara"};
constexpr std::array<std::string_view, 20> kLastNames{
    "Adams",  "Becker", "Costa",  "Dubois",  "Evans",  "Fischer", "Garcia",
    "Hansen", "Ito",    "Jensen", "Kowal",   "Larsen", "Moreau",  "Novak",
    "Okafor", "Patel",  "Rossi",  "Schmidt", "Tanaka", "Weber"};
constexpr std::array<std::string_view, 16> kCompanyNames{
    "Northwind",  "Bluepeak", "Brightline", "Cobalt",   "Driftwood", "Evergreen",
    "Fieldstone", "Granite",  "Harbor",     "Ironleaf", "Juniper",   "Keystone",
    "Lumen",      "Meridian", "Nimbus",     "Orbit"};
constexpr std::array<std::string_view, 8> kCompanyKinds{
    "Labs", "Systems", "Analytics", "Digital", "Group", "Works", "Cloud", "Partners"};
constexpr std::array<std::string_view, 4> kDomainEndings{".com", ".io", ".co", ".net"};
constexpr std::array<std::string_view, 12> kCities{"New York", "London",  "Berlin",    "Paris",
                                                   "Madrid",   "Toronto", "Austin",    "Dublin",
                                                   "Warsaw",   "Lisbon",  "Singapore", "Sydney"};
// People in the company; 50 to 1,000 is the size the truth favours.
constexpr std::array<int, 9> kTeamSizes{5, 12, 30, 60, 120, 250, 600, 1500, 5000};
constexpr std::array<std::string_view, 3> kSources{"scanner", "partner", "manual"};
constexpr std::array<std::string_view, 3> kStages{"new", "contacted", "qualified"};

std::string lowercase(std::string_view text) {
  std::string out;
  for (char c : text)
    if (std::isalnum(static_cast<unsigned char>(c)))
      out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

void field(std::string& out, std::string_view value) {
  append_csv_field(out, value);
  out += ',';
}

void append_lead(std::string& out, DemoRandom& random) {
  // Every draw happens whatever earlier draws gave, so that one field's choice never shifts
  // the numbers another field gets.
  const std::string_view source = random.pick(kSources);
  const std::size_t stage_draw = random.below(10);
  const std::string_view stage = kStages[stage_draw < 5 ? 0 : stage_draw < 8 ? 1 : 2];
  // The fewer of two draws: most leads have been touched a few times, some many.
  const int activity = static_cast<int>(std::min(random.below(15), random.below(15)));
  const std::string_view first = random.pick(kFirstNames);
  const std::string_view last = random.pick(kLastNames);
  const std::string company =
      std::string(random.pick(kCompanyNames)) + " " + std::string(random.pick(kCompanyKinds));
  const std::string company_domain = lowercase(company) + std::string(random.pick(kDomainEndings));
  const bool has_domain = random.chance(0.7);
  const Role& role = random.pick(kRoles);
  const Industry& industry = random.pick(kIndustries);
  const int team = random.pick(kTeamSizes);
  const std::string_view city = random.pick(kCities);
  const bool has_role = random.chance(0.95);
  const bool has_industry = random.chance(0.95);
  const bool has_location = random.chance(0.85);
  const bool has_bio = random.chance(0.65);
  const bool has_phone = random.chance(0.6);
  const bool has_website = random.chance(0.8);
  const std::uint64_t phone_digits = random.below(10'000'000);
  const double outcome_draw = random.unit();

  double x = kIntercept;
  if (role.seniority == Seniority::DecisionMaker) x += kDecisionMaker;
  if (role.seniority == Seniority::Influencer) x += kInfluencer;
  if (industry.fit == Fit::Ideal) x += kIdealIndustry;
  if (industry.fit == Fit::Related) x += kRelatedIndustry;
  if (team >= 50 && team <= 1000) x += kMidSizeCompany;
  x += kPerTouch * std::min(activity, kTouchesCounted);
  if (has_domain) x += kBusinessDomain;
  const bool converted = outcome_draw * (1.0 + std::exp(-x)) < 1.0;

  field(out, source);
  field(out, stage);
  field(out, std::to_string(activity));
  field(out, has_domain ? company_domain : std::string());
  const std::string name = std::string(first) + " " + std::string(last);
  field(out, name);
  field(out, lowercase(first) + "." + lowercase(last) + "@" +
                 (has_domain ? company_domain : std::string("mail.example")));
  field(out, has_role ? role.title : std::string_view());
  field(out, company);
  field(out, has_industry ? industry.name : std::string_view());
  field(out, has_location ? city : std::string_view());
  field(out, has_bio ? std::string(role.title) + " at " + company + "; a team of " +
                           std::to_string(team) + " people"
                     : std::string());
  char phone[24];
  std::snprintf(phone, sizeof phone, "+1-555-%03d-%04d", static_cast<int>(phone_digits / 10000),
                static_cast<int>(phone_digits % 10000));
  field(out, has_phone ? std::string_view(phone) : std::string_view());
  field(out, has_domain && has_website ? "https://www." + company_domain : std::string());
  out += converted ? "1\n" : "0\n";
}

}  // namespace

std::string demo_leads_csv(std::size_t n, std::uint64_t seed) {
  std::string out =
      "source,stage,activity_count,business_domain,name,email,role,company,industry,location,bio,"
      "phone,website,outcome\n";
  out.reserve(out.size() + n * 200);
  DemoRandom random(seed);
  for (std::size_t i = 0; i < n; ++i) append_lead(out, random);
  return out;
}

}  // namespace leadscore::tools
