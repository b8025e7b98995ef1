// One unit although it is long: the compiled items (rules, lookups, steps, caps, thresholds,
// conditions) are private to this file, and the compiler that builds them from the helper's
// tables and the run that evaluates them must agree on every one of them; the Lua number
// arithmetic at the top is what the run uses to give the helper's answer to the bit.
#include "plugins/lua/native_scorecard.h"

#include <array>
#include <charconv>
#include <cmath>
#include <iterator>
#include <lua.hpp>
#include <optional>
#include <string_view>
#include <system_error>
#include <utility>
#include <variant>
#include <vector>

namespace leadscore::lua {

// --- Lua numbers (as Lua 5.4's VM adds and compares them: luaV_add, LTnum, LEnum) ----------

namespace {

// Integers in [-2^53, 2^53] convert to a double exactly (Lua 5.4's l_intfitsf).
bool fits_double(std::int64_t i) {
  constexpr std::int64_t kExact = std::int64_t{1} << 53;
  return -kExact <= i && i <= kExact;
}

// An already floored or ceiled float as an integer, when it is in range (not for NaN).
std::optional<std::int64_t> integral(double f) {
  if (f >= -9223372036854775808.0 && f < 9223372036854775808.0) return static_cast<std::int64_t>(f);
  return std::nullopt;
}

bool less_int_float(std::int64_t i, double f) {
  if (fits_double(i)) return static_cast<double>(i) < f;
  if (const auto c = integral(std::ceil(f))) return i < *c;
  return f > 0;
}

bool less_equal_int_float(std::int64_t i, double f) {
  if (fits_double(i)) return static_cast<double>(i) <= f;
  if (const auto c = integral(std::floor(f))) return i <= *c;
  return f > 0;
}

bool less_float_int(double f, std::int64_t i) {
  if (fits_double(i)) return f < static_cast<double>(i);
  if (const auto c = integral(std::floor(f))) return *c < i;
  return f < 0;
}

bool less_equal_float_int(double f, std::int64_t i) {
  if (fits_double(i)) return f <= static_cast<double>(i);
  if (const auto c = integral(std::ceil(f))) return *c <= i;
  return f < 0;
}

}  // namespace

LuaNumber LuaNumber::at(lua_State* L, int index) {
  if (lua_isinteger(L, index)) return of(static_cast<std::int64_t>(lua_tointeger(L, index)));
  return of(static_cast<double>(lua_tonumber(L, index)));
}

// Integer arithmetic wraps around, as Lua's does.
LuaNumber operator+(LuaNumber a, LuaNumber b) {
  if (a.is_integer && b.is_integer)
    return LuaNumber::of(static_cast<std::int64_t>(static_cast<std::uint64_t>(a.integer) +
                                                   static_cast<std::uint64_t>(b.integer)));
  return LuaNumber::of(a.to_double() + b.to_double());
}

LuaNumber operator-(LuaNumber a, LuaNumber b) {
  if (a.is_integer && b.is_integer)
    return LuaNumber::of(static_cast<std::int64_t>(static_cast<std::uint64_t>(a.integer) -
                                                   static_cast<std::uint64_t>(b.integer)));
  return LuaNumber::of(a.to_double() - b.to_double());
}

bool less(LuaNumber a, LuaNumber b) {
  if (a.is_integer && b.is_integer) return a.integer < b.integer;
  if (a.is_integer) return less_int_float(a.integer, b.real);
  if (b.is_integer) return less_float_int(a.real, b.integer);
  return a.real < b.real;
}

bool less_equal(LuaNumber a, LuaNumber b) {
  if (a.is_integer && b.is_integer) return a.integer <= b.integer;
  if (a.is_integer) return less_equal_int_float(a.integer, b.real);
  if (b.is_integer) return less_equal_float_int(a.real, b.integer);
  return a.real <= b.real;
}

// --- The compiled scorecard -------------------------------------------------------------------

namespace {

// The lead fields, as the sandbox fills the Lua lead table (score_call.cpp): the four a lead
// always has, and its profile fields by name (any name the lead lacks reads nil there).
enum class LeadField : std::uint8_t {
  Source,
  Stage,
  ActivityCount,
  BusinessDomain,
  Profile,
  None,
};

struct LeadFieldRef {
  LeadField field = LeadField::None;
  std::string profile_name;  // for LeadField::Profile
};

constexpr std::array<std::pair<std::string_view, LeadField>, 4> kLeadFields = {{
    {"source", LeadField::Source},
    {"stage", LeadField::Stage},
    {"activity_count", LeadField::ActivityCount},
    {"business_domain", LeadField::BusinessDomain},
}};

LeadFieldRef lead_field(std::string_view name) {
  for (const auto& [field_name, field] : kLeadFields)
    if (field_name == name) return {field, {}};
  return {LeadField::Profile, std::string(name)};
}

// A lead field's value as the Lua lead table holds it: nil, a string or an integer.
struct LeadValue {
  enum class Type : std::uint8_t { Nil, Text, Integer };
  Type type = Type::Nil;
  std::string_view text;
  std::int64_t integer = 0;
};

LeadValue text_value(const std::optional<std::string>& value) {
  return value ? LeadValue{LeadValue::Type::Text, *value, 0} : LeadValue{};
}

LeadValue value_of(const plugin::Features& lead, const LeadFieldRef& ref) {
  switch (ref.field) {
    case LeadField::Source:
      return {LeadValue::Type::Text, lead.source, 0};
    case LeadField::Stage:
      return {LeadValue::Type::Text, plugin::to_string(lead.stage), 0};
    case LeadField::ActivityCount:
      return {LeadValue::Type::Integer, {}, lead.activity_count};
    case LeadField::BusinessDomain:
      return text_value(lead.business_domain);
    case LeadField::Profile:
      if (const auto* value = lead.field(ref.profile_name)) return text_value(*value);
      break;
    case LeadField::None:
      break;
  }
  return {};
}

// rules.present: not nil, and for text not blank (a byte that is not a C-locale space).
bool present(const LeadValue& value) {
  switch (value.type) {
    case LeadValue::Type::Nil:
      return false;
    case LeadValue::Type::Integer:
      return true;
    case LeadValue::Type::Text:
      return value.text.find_first_not_of(" \t\n\v\f\r") != std::string_view::npos;
  }
  return false;
}

// A `when` or `transfer_if`: none (always holds), a declarative condition, or a Lua function.
struct Condition {
  enum class Kind : std::uint8_t { Always, IsSet, IsMissing, Function };
  Kind kind = Kind::Always;
  LeadFieldRef field;
  int function = LUA_NOREF;
};

struct Rule {
  Condition when;
  std::string label;
  LuaNumber points;
  std::string piece;            // "label (+0.30)", for fixed points
  int points_rule = LUA_NOREF;  // the rule's table, when its points are a function
};

struct First {
  std::vector<Rule> options;
};

struct LookupEntry {
  std::string value;
  LuaNumber points;
  std::string label;  // "field=value"
  std::string piece;  // "field=value (+0.70)"
};

struct Lookup {
  LeadFieldRef field;
  std::string field_name;
  std::vector<LookupEntry> entries;
  std::optional<LuaNumber> default_points;
  std::string missing_label;  // "field missing"
};

struct Step {
  std::optional<LuaNumber> below;  // none: the last step
  LuaNumber points;
  std::string label;
  std::string piece;
};

struct Steps {
  LeadFieldRef field;
  std::vector<Step> steps;
};

struct Cap {
  Condition when;
  LuaNumber max;
  std::string label;
};

struct Thresholds {
  LuaNumber transfer;
  LuaNumber drop;
  Condition transfer_if;
  std::string transfer_text;
  std::string blocked_text;
  std::string drop_text;
  std::string continue_text;
};

using Item = std::variant<Rule, First, Lookup, Steps, Cap>;

}  // namespace

struct NativeScorecard::Card {
  std::vector<Item> items;
  bool clamp = true;
  std::optional<Thresholds> thresholds;  // none: recommend is called
  int recommend = LUA_NOREF;             // the helper's recommend_by_function
  int call_points = LUA_NOREF;           // the helper's call_points
};

// --- Compiling (reads the helper's tables raw; nothing here runs Lua) --------------------------

namespace {

// Every key the compiler reads. Pushed once, in a protected call, so that reading never
// allocates (an allocation outside a protected call could fail with no handler).
enum Key : int {
  kScorecard,
  kScore,
  kItems,
  kItemCount,
  kClamp,
  kThresholdsKey,
  kRecommend,
  kCallPoints,
  kKind,
  kLabel,
  kWhen,
  kPoints,
  kPiece,
  kField,
  kLabels,
  kPieces,
  kDefault,
  kSteps,
  kBelow,
  kOptions,
  kMax,
  kTest,
  kTransfer,
  kDrop,
  kTransferIf,
  kTransferText,
  kBlockedText,
  kDropText,
  kContinueText,
  kMetatableKey,
  kKeyCount
};
constexpr std::array<const char*, kKeyCount> kKeyText = {
    "scorecard",   "score",         "items",        "n_items",   "clamp",         "thresholds",
    "recommend",   "call_points",   "kind",         "label",     "when",          "points",
    "piece",       "field",         "labels",       "pieces",    "default",       "steps",
    "below",       "options",       "max",          "test",      "transfer",      "drop",
    "transfer_if", "transfer_text", "blocked_text", "drop_text", "continue_text", "__metatable"};

// What rules.lua sets as its conditions' __metatable.
constexpr std::string_view kConditionMetatable = "rules condition";

int push_keys(lua_State* L) {
  for (const char* key : kKeyText) lua_pushstring(L, key);
  return kKeyCount;
}

int take_reference(lua_State* L) {
  lua_pushinteger(L, luaL_ref(L, LUA_REGISTRYINDEX));
  return 1;
}

// Puts the stack back as it was when the compiling function began.
class StackMark {
 public:
  explicit StackMark(lua_State* L) : L_(L), top_(lua_gettop(L)) {}
  ~StackMark() { lua_settop(L_, top_); }
  StackMark(const StackMark&) = delete;
  StackMark& operator=(const StackMark&) = delete;

 private:
  lua_State* L_;
  int top_;
};

class Compiler {
 public:
  Compiler(lua_State* L, int keys) : L_(L), keys_(keys) {}

  // Registry references taken so far; given up if compiling fails.
  std::vector<int> references;
  bool calls_lua = false;

  std::optional<NativeScorecard::Card> card(int module) {
    StackMark mark(L_);
    if (get(module, kScorecard) != LUA_TTABLE) return std::nullopt;
    const int card = lua_gettop(L_);
    get(module, kScore);
    get(card, kScore);
    if (lua_type(L_, -1) != LUA_TFUNCTION || !lua_rawequal(L_, -1, -2)) return std::nullopt;

    NativeScorecard::Card out;
    if (get(card, kClamp) != LUA_TBOOLEAN) return std::nullopt;
    out.clamp = lua_toboolean(L_, -1);
    if (get(card, kCallPoints) != LUA_TFUNCTION) return std::nullopt;
    const auto call_points = reference(lua_gettop(L_));
    if (!call_points) return std::nullopt;
    out.call_points = *call_points;

    switch (get(card, kThresholdsKey)) {
      case LUA_TTABLE:
        out.thresholds = thresholds(lua_gettop(L_));
        if (!out.thresholds) return std::nullopt;
        break;
      case LUA_TNIL:
        if (get(card, kRecommend) != LUA_TFUNCTION) return std::nullopt;
        if (const auto recommend = reference(lua_gettop(L_)))
          out.recommend = *recommend;
        else
          return std::nullopt;
        calls_lua = true;
        break;
      default:
        return std::nullopt;
    }

    // The items the Lua score runs: the first n_items of the list, as it was made.
    const auto n = number(card, kItemCount);
    if (get(card, kItems) != LUA_TTABLE || !n || !n->is_integer) return std::nullopt;
    const int items = lua_gettop(L_);
    for (lua_Integer i = 1; i <= n->integer; ++i) {
      if (lua_rawgeti(L_, items, i) != LUA_TTABLE) return std::nullopt;
      auto compiled = item(lua_gettop(L_));
      if (!compiled) return std::nullopt;
      out.items.push_back(std::move(*compiled));
      lua_pop(L_, 1);
    }
    if (out.items.empty()) return std::nullopt;
    return out;
  }

 private:
  lua_State* L_;
  int keys_;  // the stack slot of the first key

  // Pushes table[key] (raw) and returns its type.
  int get(int table, Key key) {
    lua_pushvalue(L_, keys_ + key);
    return lua_rawget(L_, table);
  }

  std::optional<std::string> string_at(int index) const {
    if (lua_type(L_, index) != LUA_TSTRING) return std::nullopt;
    std::size_t size = 0;
    const char* chars = lua_tolstring(L_, index, &size);
    return std::string(chars, size);
  }

  std::optional<std::string> string_field(int table, Key key) {
    get(table, key);
    auto value = string_at(-1);
    lua_pop(L_, 1);
    return value;
  }

  // A non-empty string field (labels, pieces, texts: a contribution's rule must not be empty).
  std::optional<std::string> text(int table, Key key) {
    auto value = string_field(table, key);
    if (value && value->empty()) return std::nullopt;
    return value;
  }

  std::optional<LuaNumber> number_at(int index) const {
    if (lua_type(L_, index) != LUA_TNUMBER) return std::nullopt;
    return LuaNumber::at(L_, index);
  }

  std::optional<LuaNumber> number(int table, Key key) {
    get(table, key);
    const auto value = number_at(-1);
    lua_pop(L_, 1);
    return value;
  }

  std::optional<int> reference(int index) {
    lua_pushcfunction(L_, take_reference);
    lua_pushvalue(L_, index);
    if (lua_pcall(L_, 1, 1, 0) != LUA_OK) {
      lua_pop(L_, 1);
      return std::nullopt;
    }
    const int reference = static_cast<int>(lua_tointeger(L_, -1));
    lua_pop(L_, 1);
    references.push_back(reference);
    return reference;
  }

  std::optional<Item> item(int table) {
    StackMark mark(L_);
    const auto kind = string_field(table, kKind);
    if (!kind) return std::nullopt;
    if (*kind == "rule") return rule(table);
    if (*kind == "first") return first(table);
    if (*kind == "lookup") return lookup(table);
    if (*kind == "steps") return steps(table);
    if (*kind == "cap") return cap(table);
    return std::nullopt;
  }

  // The condition at table[key]: none, a function, or one made by rules.is_set/is_missing.
  std::optional<Condition> condition(int table, Key key) {
    StackMark mark(L_);
    switch (get(table, key)) {
      case LUA_TNIL:
        return Condition{};
      case LUA_TFUNCTION:
        if (const auto function = reference(lua_gettop(L_))) {
          calls_lua = true;
          return Condition{Condition::Kind::Function, {}, *function};
        }
        return std::nullopt;
      case LUA_TTABLE:
        return declarative(lua_gettop(L_));
      default:
        return std::nullopt;
    }
  }

  std::optional<Condition> declarative(int table) {
    if (!lua_getmetatable(L_, table)) return std::nullopt;
    const auto marker = string_field(lua_gettop(L_), kMetatableKey);
    const auto kind = string_field(table, kKind);
    const auto test = string_field(table, kTest);
    const auto field = string_field(table, kField);
    if (marker != kConditionMetatable || kind != "condition" || !field) return std::nullopt;
    if (test == "is_set") return Condition{Condition::Kind::IsSet, lead_field(*field), LUA_NOREF};
    if (test == "is_missing")
      return Condition{Condition::Kind::IsMissing, lead_field(*field), LUA_NOREF};
    return std::nullopt;
  }

  // rule{...}, also as an option of first{...}. Fixed points come with their piece; a points
  // function without one (what rules.rule builds; anything else fails in Lua).
  std::optional<Rule> rule(int table) {
    StackMark mark(L_);
    Rule out;
    auto label = text(table, kLabel);
    auto when = condition(table, kWhen);
    if (!label || !when) return std::nullopt;
    out.label = std::move(*label);
    out.when = *when;
    const int points_type = get(table, kPoints);
    const int piece_type = get(table, kPiece);
    if (points_type == LUA_TNUMBER && piece_type == LUA_TSTRING) {
      out.points = *number_at(-2);
      out.piece = *string_at(-1);
      if (out.piece.empty()) return std::nullopt;
    } else if (points_type == LUA_TFUNCTION && piece_type == LUA_TNIL) {
      const auto self = reference(table);
      if (!self) return std::nullopt;
      out.points_rule = *self;
      calls_lua = true;
    } else {
      return std::nullopt;
    }
    return out;
  }

  std::optional<Item> first(int table) {
    StackMark mark(L_);
    if (get(table, kOptions) != LUA_TTABLE) return std::nullopt;
    const int options = lua_gettop(L_);
    First out;
    const auto n = static_cast<lua_Integer>(lua_rawlen(L_, options));
    for (lua_Integer i = 1; i <= n; ++i) {
      if (lua_rawgeti(L_, options, i) != LUA_TTABLE) return std::nullopt;
      auto option = rule(lua_gettop(L_));
      if (!option) return std::nullopt;
      out.options.push_back(std::move(*option));
      lua_pop(L_, 1);
    }
    return out;
  }

  // lookup{...}: string values only (a lead value is a string, an integer or nil).
  std::optional<Item> lookup(int table) {
    StackMark mark(L_);
    Lookup out;
    auto field = text(table, kField);
    if (!field) return std::nullopt;
    out.field = lead_field(*field);
    out.field_name = std::move(*field);
    out.missing_label = out.field_name + " missing";
    switch (get(table, kDefault)) {
      case LUA_TNIL:
        break;
      case LUA_TNUMBER:
        out.default_points = number_at(-1);
        break;
      default:
        return std::nullopt;
    }
    if (get(table, kPoints) != LUA_TTABLE || get(table, kLabels) != LUA_TTABLE ||
        get(table, kPieces) != LUA_TTABLE)
      return std::nullopt;
    const int pieces = lua_gettop(L_), labels = pieces - 1, points = pieces - 2;
    lua_pushnil(L_);
    while (lua_next(L_, points) != 0) {
      // key at -2, points at -1
      LookupEntry entry;
      const auto value = string_at(-2);
      const auto own = number_at(-1);
      lua_pushvalue(L_, -2);
      lua_rawget(L_, labels);
      auto label = string_at(-1);
      lua_pushvalue(L_, -3);
      lua_rawget(L_, pieces);
      auto piece = string_at(-1);
      lua_pop(L_, 3);
      if (!value || !own || !label || !piece || label->empty() || piece->empty())
        return std::nullopt;
      out.entries.push_back({*value, *own, std::move(*label), std::move(*piece)});
    }
    return out;
  }

  std::optional<Item> steps(int table) {
    StackMark mark(L_);
    Steps out;
    const auto field = text(table, kField);
    if (!field || get(table, kSteps) != LUA_TTABLE) return std::nullopt;
    out.field = lead_field(*field);
    const int list = lua_gettop(L_);
    const auto n = static_cast<lua_Integer>(lua_rawlen(L_, list));
    for (lua_Integer i = 1; i <= n; ++i) {
      if (lua_rawgeti(L_, list, i) != LUA_TTABLE) return std::nullopt;
      const int step = lua_gettop(L_);
      Step compiled;
      const int below_type = get(step, kBelow);
      if (below_type == LUA_TNUMBER)
        compiled.below = number_at(-1);
      else if (below_type != LUA_TNIL)
        return std::nullopt;
      const auto points = number(step, kPoints);
      auto label = text(step, kLabel);
      auto piece = text(step, kPiece);
      if (!points || !label || !piece) return std::nullopt;
      compiled.points = *points;
      compiled.label = std::move(*label);
      compiled.piece = std::move(*piece);
      out.steps.push_back(std::move(compiled));
      lua_settop(L_, list);
    }
    return out;
  }

  std::optional<Item> cap(int table) {
    auto label = text(table, kLabel);
    const auto when = condition(table, kWhen);
    const auto max = number(table, kMax);
    if (!label || !when || !max) return std::nullopt;
    return Cap{*when, *max, std::move(*label)};
  }

  std::optional<Thresholds> thresholds(int table) {
    const auto transfer = number(table, kTransfer);
    const auto drop = number(table, kDrop);
    const auto transfer_if = condition(table, kTransferIf);
    auto transfer_text = text(table, kTransferText);
    auto blocked_text = text(table, kBlockedText);
    auto drop_text = text(table, kDropText);
    auto continue_text = text(table, kContinueText);
    if (!transfer || !drop || !transfer_if || !transfer_text || !blocked_text || !drop_text ||
        !continue_text)
      return std::nullopt;
    return Thresholds{*transfer,
                      *drop,
                      *transfer_if,
                      std::move(*transfer_text),
                      std::move(*blocked_text),
                      std::move(*drop_text),
                      std::move(*continue_text)};
  }
};

}  // namespace

NativeScorecard::NativeScorecard(std::unique_ptr<const Card> card) : card_(std::move(card)) {}
NativeScorecard::~NativeScorecard() = default;

std::unique_ptr<NativeScorecard> NativeScorecard::compile(lua_State* L, int module) {
  module = lua_absindex(L, module);
  StackMark mark(L);
  if (!lua_checkstack(L, kKeyCount + 32)) return nullptr;
  lua_pushcfunction(L, push_keys);
  if (lua_pcall(L, 0, kKeyCount, 0) != LUA_OK) return nullptr;
  Compiler compiler(L, lua_gettop(L) - kKeyCount + 1);
  auto card = compiler.card(module);
  if (!card) {
    for (const int reference : compiler.references) luaL_unref(L, LUA_REGISTRYINDEX, reference);
    return nullptr;
  }
  auto scorecard =
      std::make_unique<NativeScorecard>(std::make_unique<const Card>(std::move(*card)));
  scorecard->calls_lua_ = compiler.calls_lua;
  return scorecard;
}

// --- Running ----------------------------------------------------------------------------------

namespace {

using plugin::Recommendation;
using plugin::ScoreResult;

// string.format's "%.2f" ("%+.2f" with `sign`): to_chars gives printf's digits (exact
// rounding of the binary value), without parsing a format.
void append_fixed(std::string& out, double value, bool sign) {
  char buffer[400];  // the longest double in fixed notation with 2 decimals, and a sign
  char* start = buffer + 1;
  const auto [end, ec] = std::to_chars(start, std::end(buffer), value, std::chars_format::fixed, 2);
  if (ec != std::errc{}) return;
  if (sign && !std::signbit(value)) *--start = '+';
  out.append(start, end);
}

// One run of the scorecard over one lead.
struct Run {
  const plugin::Features& lead;
  ScorecardCalls& calls;
  int call_points;
  ScoreResult* explained;  // null: score and recommendation only (ctx.explain == false)
  LuaNumber total = LuaNumber::of(0.0);

  // A contribution, and its piece of the reason: `piece`, or "label (+0.00)".
  void note(std::string_view label, const std::string* piece, double points) {
    if (explained == nullptr) return;
    std::string& reason = explained->reason;
    if (!explained->contributions.empty()) reason += "; ";
    explained->contributions.push_back({std::string(label), points});
    if (piece != nullptr) {
      reason += *piece;
    } else {
      reason += label;
      reason += " (";
      append_fixed(reason, points, true);
      reason += ')';
    }
  }

  void add(LuaNumber points, std::string_view label, const std::string* piece) {
    total = total + points;
    note(label, piece, points.to_double());
  }

  std::expected<bool, std::string> holds(const Condition& when) {
    switch (when.kind) {
      case Condition::Kind::Always:
        return true;
      case Condition::Kind::IsSet:
        return present(value_of(lead, when.field));
      case Condition::Kind::IsMissing:
        return !present(value_of(lead, when.field));
      case Condition::Kind::Function:
        return calls.holds(when.function);
    }
    return false;
  }

  // Whether the rule applied.
  std::expected<bool, std::string> apply(const Rule& rule) {
    const auto when = holds(rule.when);
    if (!when || !*when) return when;
    if (rule.points_rule == LUA_NOREF) {
      add(rule.points, rule.label, &rule.piece);
      return true;
    }
    const auto points = calls.points(call_points, rule.points_rule);
    if (!points) return std::unexpected(points.error());
    add(*points, rule.label, nullptr);
    return true;
  }

  std::expected<void, std::string> item(const Rule& rule) {
    const auto applied = apply(rule);
    if (!applied) return std::unexpected(applied.error());
    return {};
  }

  std::expected<void, std::string> item(const First& first) {
    for (const Rule& option : first.options) {
      const auto applied = apply(option);
      if (!applied) return std::unexpected(applied.error());
      if (*applied) break;
    }
    return {};
  }

  std::expected<void, std::string> item(const Lookup& lookup) {
    const LeadValue value = value_of(lead, lookup.field);
    if (value.type == LeadValue::Type::Text)
      for (const LookupEntry& entry : lookup.entries)
        if (entry.value == value.text) {
          add(entry.points, entry.label, &entry.piece);
          return {};
        }
    if (!lookup.default_points) return {};
    std::string label;  // "field=value (other)" or "field missing", only when explaining
    if (explained != nullptr && value.type == LeadValue::Type::Nil) {
      label = lookup.missing_label;
    } else if (explained != nullptr) {
      label = lookup.field_name + "=";
      if (value.type == LeadValue::Type::Text)
        label += value.text;
      else
        label += std::to_string(value.integer);
      label += " (other)";
    }
    add(*lookup.default_points, label, nullptr);
    return {};
  }

  std::expected<void, std::string> item(const Steps& steps) {
    const LeadValue value = value_of(lead, steps.field);
    if (value.type != LeadValue::Type::Integer) return {};
    for (const Step& step : steps.steps)
      if (!step.below || less(LuaNumber::of(value.integer), *step.below)) {
        add(step.points, step.label, &step.piece);
        break;
      }
    return {};
  }

  std::expected<void, std::string> item(const Cap& cap) {
    const auto when = holds(cap.when);
    if (!when) return std::unexpected(when.error());
    if (*when && less(cap.max, total)) {
      const LuaNumber cut = cap.max - total;
      total = cap.max;
      note(cap.label, nullptr, cut.to_double());
    }
    return {};
  }

  void clamp() {
    const LuaNumber zero = LuaNumber::of(std::int64_t{0});
    const LuaNumber one = LuaNumber::of(std::int64_t{1});
    if (!less(total, zero) && !less(one, total)) return;
    const double bound = less(total, zero) ? 0.0 : 1.0;
    const LuaNumber cut = LuaNumber::of(bound) - total;
    total = LuaNumber::of(bound);
    note(bound == 0 ? "clamped to 0" : "clamped to 1", nullptr, cut.to_double());
  }
};

// The recommendation and the reason's tail.
struct Recommended {
  Recommendation recommendation;
  const std::string* text;
  std::string own_text;  // what `text` points to, when recommend made it
};

std::expected<Recommended, std::string> recommend(const NativeScorecard::Card& card, Run& run) {
  if (!card.thresholds) {
    auto answer = run.calls.recommend(card.recommend, run.total);
    if (!answer) return std::unexpected(answer.error());
    return Recommended{answer->recommendation, nullptr, std::move(answer->text)};
  }
  const Thresholds& t = *card.thresholds;
  if (less_equal(t.transfer, run.total)) {
    const auto holds = run.holds(t.transfer_if);
    if (!holds) return std::unexpected(holds.error());
    if (*holds) return Recommended{Recommendation::TransferToSales, &t.transfer_text, {}};
    return Recommended{Recommendation::ContinueQualification, &t.blocked_text, {}};
  }
  if (less_equal(run.total, t.drop)) return Recommended{Recommendation::DropLead, &t.drop_text, {}};
  return Recommended{Recommendation::ContinueQualification, &t.continue_text, {}};
}

// Every item in order, the clamp, the recommendation: what the helper's Lua score does.
std::expected<Recommended, std::string> run_card(const NativeScorecard::Card& card, Run& run) {
  for (const Item& item : card.items) {
    const auto done = std::visit([&run](const auto& compiled) { return run.item(compiled); }, item);
    if (!done) return std::unexpected(done.error());
  }
  if (card.clamp) run.clamp();
  return recommend(card, run);
}

}  // namespace

std::expected<Evaluation, std::string> NativeScorecard::evaluate(const plugin::Features& lead,
                                                                 ScorecardCalls& calls) const {
  Run run{lead, calls, card_->call_points, nullptr};
  const auto recommended = run_card(*card_, run);
  if (!recommended) return std::unexpected(recommended.error());
  return Evaluation{run.total.to_double(), recommended->recommendation};
}

std::expected<ScoreResult, std::string> NativeScorecard::score(const plugin::Features& lead,
                                                               ScorecardCalls& calls) const {
  ScoreResult result;
  result.reason.reserve(192);
  result.contributions.reserve(card_->items.size() + 1);
  Run run{lead, calls, card_->call_points, &result};
  const auto recommended = run_card(*card_, run);
  if (!recommended) return std::unexpected(recommended.error());
  if (result.contributions.empty()) run.note("no rule applied", nullptr, 0.0);
  result.score = run.total.to_double();
  result.recommendation = recommended->recommendation;
  result.reason += " -> ";
  append_fixed(result.reason, result.score, false);
  result.reason += recommended->text != nullptr ? *recommended->text : recommended->own_text;
  return result;
}

}  // namespace leadscore::lua
