// One unit although it is long: the matcher and the four library functions built on it (find,
// match, gmatch, gsub) share the Matcher, its step count and its errors, none of which leaves
// this file; splitting them would turn the matcher's internals into a header for these four
// functions alone.
#include "plugins/lua/lua_pattern.h"

#include <array>
#include <cstddef>
#include <cstdio>
#include <cstring>
#include <limits>
#include <lua.hpp>
#include <new>
#include <string_view>

namespace leadscore::lua {
namespace {

constexpr char kEscape = '%';
constexpr int kMaxCaptures = 32;  // LUA_MAXCAPTURES
// Nesting of the matcher's recursion before "pattern too complex" (Lua's MAXCCALLS): it bounds
// the C stack a pattern may use.
constexpr int kMaxDepth = 200;
constexpr std::ptrdiff_t kUnfinished = -1;
constexpr std::ptrdiff_t kPosition = -2;
// Bytes compared by memchr / memcmp per step: about the cost of one Lua instruction.
constexpr std::int64_t kBytesPerStep = 16;

// Thrown inside the matcher, where only C++ frames are on the stack, and turned into a Lua
// error once they are gone (luaL_error longjmps; it must not cross C++ frames).
struct PatternError {
  char message[96];
};
struct OutOfSteps {};

int byte_at(const char* p) { return static_cast<unsigned char>(*p); }

// The character classes of the C locale, which is what Lua's `%a`... mean in the sandbox
// whatever the process locale: a rule gives the same answer on every machine.
bool in_class(int c, int class_letter) {
  const bool upper = c >= 'A' && c <= 'Z';
  const bool lower = c >= 'a' && c <= 'z';
  const bool digit = c >= '0' && c <= '9';
  const bool graph = c > 32 && c < 127;
  bool result = false;
  switch (class_letter | 0x20) {  // the letter, lower case
    case 'a':
      result = upper || lower;
      break;
    case 'c':
      result = c < 32 || c == 127;
      break;
    case 'd':
      result = digit;
      break;
    case 'g':
      result = graph;
      break;
    case 'l':
      result = lower;
      break;
    case 'p':
      result = graph && !(upper || lower || digit);
      break;
    case 's':
      result = c == ' ' || (c >= '\t' && c <= '\r');
      break;
    case 'u':
      result = upper;
      break;
    case 'w':
      result = upper || lower || digit;
      break;
    case 'x':
      result = digit || ((c | 0x20) >= 'a' && (c | 0x20) <= 'f');
      break;
    default:
      return class_letter == c;  // `%.`, `%%`, ...: the character itself
  }
  return (class_letter >= 'A' && class_letter <= 'Z') ? !result : result;
}

// One match of a pattern against a subject, with its captures and its step budget. Trivially
// destructible: gmatch keeps one in Lua userdata between calls.
struct Matcher {
  const char* src_init;
  const char* src_end;
  const char* p_end;
  int level;           // captures opened so far
  int depth;           // recursion left
  std::int64_t steps;  // steps left
  struct {
    const char* init;
    std::ptrdiff_t len;  // or kUnfinished / kPosition
  } capture[kMaxCaptures];

  void start(const char* subject, std::size_t subject_size, const char* pattern,
             std::size_t pattern_size) {
    src_init = subject;
    src_end = subject + subject_size;
    p_end = pattern + pattern_size;
  }

  void reset() {
    level = 0;
    depth = kMaxDepth;
  }

  void step() {
    if (--steps < 0) throw OutOfSteps{};
  }

  void spend_bytes(std::size_t bytes) {
    steps -= 1 + static_cast<std::int64_t>(bytes / kBytesPerStep);
    if (steps < 0) throw OutOfSteps{};
  }

  [[noreturn]] static void fail(const char* message, int number = 0) {
    PatternError error{};
    std::snprintf(error.message, sizeof error.message, message, number);
    throw error;
  }

  // The end of the single-character class that starts at p.
  const char* class_end(const char* p) const {
    switch (*p++) {
      case kEscape:
        if (p == p_end) fail("malformed pattern (ends with '%%')");
        return p + 1;
      case '[':
        if (p < p_end && *p == '^') ++p;
        do {  // the first character is always in the set: `[]]` is a set of one ']'
          if (p == p_end) fail("malformed pattern (missing ']')");
          if (*(p++) == kEscape && p < p_end) ++p;  // `%]` does not close the set
        } while (p == p_end || *p != ']');
        return p + 1;
      default:
        return p;
    }
  }

  // c against the set `[...]` from p ('[') to ec (its ']').
  static bool in_set(int c, const char* p, const char* ec) {
    bool found = true;
    if (p[1] == '^') {
      found = false;
      ++p;
    }
    while (++p < ec) {
      if (*p == kEscape) {
        ++p;
        if (in_class(c, byte_at(p))) return found;
      } else if (p[1] == '-' && p + 2 < ec) {
        p += 2;
        if (byte_at(p - 2) <= c && c <= byte_at(p)) return found;
      } else if (byte_at(p) == c) {
        return found;
      }
    }
    return !found;
  }

  // Whether the subject character at s is in the class from p to ep. A set costs a step per
  // 16 of its bytes on top, so that a huge set does not make a step arbitrarily long.
  bool single_match(const char* s, const char* p, const char* ep) {
    if (s >= src_end) return false;
    const int c = byte_at(s);
    switch (*p) {
      case '.':
        return true;
      case kEscape:
        return in_class(c, byte_at(p + 1));
      case '[':
        if (ep - p > kBytesPerStep) spend_bytes(static_cast<std::size_t>(ep - p));
        return in_set(c, p, ep - 1);
      default:
        return byte_at(p) == c;
    }
  }

  const char* match_balance(const char* s, const char* p) {
    if (p + 1 >= p_end) fail("malformed pattern (missing arguments to '%%b')");
    if (s >= src_end || *s != *p) return nullptr;
    const char open = p[0], close = p[1];
    int depth_of_nesting = 1;
    while (++s < src_end) {
      step();
      if (*s == close) {
        if (--depth_of_nesting == 0) return s + 1;
      } else if (*s == open) {
        ++depth_of_nesting;
      }
    }
    return nullptr;
  }

  const char* max_expand(const char* s, const char* p, const char* ep) {
    std::ptrdiff_t i = 0;
    while (single_match(s + i, p, ep)) {
      step();
      ++i;
    }
    for (; i >= 0; --i) {  // the longest run first, then shorter ones
      if (const char* end = match(s + i, ep + 1)) return end;
    }
    return nullptr;
  }

  const char* min_expand(const char* s, const char* p, const char* ep) {
    for (;;) {
      if (const char* end = match(s, ep + 1)) return end;
      if (!single_match(s, p, ep)) return nullptr;
      ++s;
    }
  }

  const char* start_capture(const char* s, const char* p, std::ptrdiff_t what) {
    if (level >= kMaxCaptures) fail("too many captures");
    capture[level].init = s;
    capture[level].len = what;
    ++level;
    const char* end = match(s, p);
    if (end == nullptr) --level;
    return end;
  }

  const char* end_capture(const char* s, const char* p) {
    int open = level - 1;
    while (open >= 0 && capture[open].len != kUnfinished) --open;
    if (open < 0) fail("invalid pattern capture");
    capture[open].len = s - capture[open].init;
    const char* end = match(s, p);
    if (end == nullptr) capture[open].len = kUnfinished;
    return end;
  }

  // `%1`..`%9`: the text of an earlier, closed capture.
  const char* match_back_reference(const char* s, int digit) {
    const int l = digit - '1';
    if (l < 0 || l >= level || capture[l].len == kUnfinished)
      fail("invalid capture index %%%d", l + 1);
    if (capture[l].len == kPosition) return nullptr;
    const auto size = static_cast<std::size_t>(capture[l].len);
    spend_bytes(size);
    if (static_cast<std::size_t>(src_end - s) >= size && std::memcmp(capture[l].init, s, size) == 0)
      return s + size;
    return nullptr;
  }

  // The end of the match of the pattern from p at subject position s, or nullptr.
  const char* match(const char* s, const char* p) {
    if (depth-- == 0) fail("pattern too complex");
    while (p != p_end) {
      step();
      switch (*p) {
        case '(':
          s = (p + 1 < p_end && p[1] == ')') ? start_capture(s, p + 2, kPosition)
                                             : start_capture(s, p + 1, kUnfinished);
          ++depth;
          return s;
        case ')':
          s = end_capture(s, p + 1);
          ++depth;
          return s;
        case '$':
          if (p + 1 == p_end) {
            ++depth;
            return s == src_end ? s : nullptr;
          }
          break;  // a '$' inside the pattern is the character itself
        case kEscape:
          if (p + 1 == p_end) break;  // class_end reports it
          if (p[1] == 'b') {
            s = match_balance(s, p + 2);
            if (s == nullptr) break;
            p += 4;
            continue;
          }
          if (p[1] == 'f') {
            p += 2;
            if (p == p_end || *p != '[') fail("missing '[' after '%%f' in pattern");
            const char* ep = class_end(p);
            const int previous = s == src_init ? 0 : byte_at(s - 1);
            const int current = s < src_end ? byte_at(s) : 0;
            if (in_set(previous, p, ep - 1) || !in_set(current, p, ep - 1)) {
              s = nullptr;
              break;
            }
            p = ep;
            continue;
          }
          if (p[1] >= '0' && p[1] <= '9') {
            s = match_back_reference(s, byte_at(p + 1));
            if (s == nullptr) break;
            p += 2;
            continue;
          }
          break;
        default:
          break;
      }
      if (s == nullptr) break;  // %b, %f or a back-reference failed
      // A single-character class, maybe with a quantifier after it.
      const char* ep = class_end(p);
      const char quantifier = ep < p_end ? *ep : '\0';
      if (!single_match(s, p, ep)) {
        if (quantifier == '*' || quantifier == '?' || quantifier == '-') {
          p = ep + 1;  // zero repetitions are allowed
          continue;
        }
        s = nullptr;
        break;
      }
      if (quantifier == '?') {
        if (const char* end = match(s + 1, ep + 1)) {
          s = end;
          break;
        }
        p = ep + 1;
        continue;
      }
      if (quantifier == '+' || quantifier == '*') {
        s = max_expand(quantifier == '+' ? s + 1 : s, p, ep);
        break;
      }
      if (quantifier == '-') {
        s = min_expand(s, p, ep);
        break;
      }
      ++s;
      p = ep;
    }
    ++depth;
    return s;
  }
};

// `string.find(s, p, init, true)`, and a pattern without special characters.
const char* find_plain(Matcher& m, const char* s, std::size_t size, const char* p,
                       std::size_t p_size) {
  if (p_size == 0) return s;  // the empty string is everywhere
  if (p_size > size) return nullptr;
  std::size_t room = size - p_size + 1;  // positions where p may start
  while (room > 0) {
    const void* hit = std::memchr(s, *p, room);
    if (hit == nullptr) {
      m.spend_bytes(room);
      return nullptr;
    }
    const char* at = static_cast<const char*>(hit);
    m.spend_bytes(static_cast<std::size_t>(at - s) + p_size);
    if (std::memcmp(at + 1, p + 1, p_size - 1) == 0) return at;
    room -= static_cast<std::size_t>(at + 1 - s);
    s = at + 1;
  }
  return nullptr;
}

bool has_specials(const char* p, std::size_t size) {
  static constexpr auto kSpecial = [] {
    std::array<bool, 256> special{};
    for (const char c : std::string_view("^$*+?.([%-"))
      special[static_cast<unsigned char>(c)] = true;
    return special;
  }();
  for (std::size_t i = 0; i < size; ++i) {
    if (kSpecial[static_cast<unsigned char>(p[i])]) return true;
  }
  return false;
}

// --- The Lua side ----------------------------------------------------------------------------
// Below, Lua errors may longjmp: no object with a destructor lives in these frames.

const PatternMeter* meter_of(lua_State* L, int upvalue) {
  return static_cast<const PatternMeter*>(lua_touserdata(L, lua_upvalueindex(upvalue)));
}

// What a matcher run ended with, once its C++ frames are gone.
struct Outcome {
  bool out_of_steps = false;
  bool failed = false;
  PatternError error;  // set when failed
};

template <typename Run>
Outcome run_guarded(Run&& run) {
  Outcome outcome;
  try {
    run();
  } catch (const PatternError& error) {
    outcome.failed = true;
    outcome.error = error;
  } catch (const OutOfSteps&) {
    outcome.out_of_steps = true;
  }
  return outcome;
}

// Steps for a matcher: what the meter has left.
std::int64_t steps_left(lua_State* L, const PatternMeter* meter) {
  return meter != nullptr ? meter->left(L) : std::numeric_limits<std::int64_t>::max();
}

// Charges the steps a matcher took since it was given `given`, and raises what the run ended
// with: the budget error (from the meter) or the pattern error.
void settle(lua_State* L, const PatternMeter* meter, const Matcher& m, std::int64_t given,
            const Outcome& outcome) {
  if (meter != nullptr) meter->charge(L, outcome.out_of_steps ? given + 1 : given - m.steps);
  if (outcome.failed) luaL_error(L, "%s", outcome.error.message);
}

// Lua's relative string positions: negative counts from the end; 0 and too negative mean 1.
std::size_t start_index(lua_Integer position, std::size_t size) {
  if (position > 0) return static_cast<std::size_t>(position);
  if (position == 0) return 1;
  if (position < -static_cast<lua_Integer>(size)) return 1;
  return size + static_cast<std::size_t>(position) + 1;
}

// Pushes capture i (the whole match s..e when the pattern has none); answers its length, or
// kPosition after pushing a position capture.
std::ptrdiff_t get_capture(lua_State* L, const Matcher& m, int i, const char* s, const char* e,
                           const char** text) {
  if (i >= m.level) {
    if (i != 0) luaL_error(L, "invalid capture index %%%d", i + 1);
    *text = s;
    return e - s;
  }
  const std::ptrdiff_t len = m.capture[i].len;
  *text = m.capture[i].init;
  if (len == kUnfinished) luaL_error(L, "unfinished capture");
  if (len == kPosition) lua_pushinteger(L, (m.capture[i].init - m.src_init) + 1);
  return len;
}

void push_capture(lua_State* L, const Matcher& m, int i, const char* s, const char* e) {
  const char* text = nullptr;
  const std::ptrdiff_t len = get_capture(L, m, i, s, e, &text);
  if (len != kPosition) lua_pushlstring(L, text, static_cast<std::size_t>(len));
}

// Pushes every capture, or the whole match when there are none and s is given.
int push_captures(lua_State* L, const Matcher& m, const char* s, const char* e) {
  const int count = (m.level == 0 && s != nullptr) ? 1 : m.level;
  luaL_checkstack(L, count, "too many captures");
  for (int i = 0; i < count; ++i) push_capture(L, m, i, s, e);
  return count;
}

// A leading '^' anchors a match at its start position: strips it, and answers whether it did.
bool strip_anchor(const char*& pattern, std::size_t& size) {
  if (size == 0 || *pattern != '^') return false;
  ++pattern;
  --size;
  return true;
}

int find_or_match(lua_State* L, bool find) {
  std::size_t size = 0, p_size = 0;
  const char* subject = luaL_checklstring(L, 1, &size);
  const char* pattern = luaL_checklstring(L, 2, &p_size);
  const std::size_t init = start_index(luaL_optinteger(L, 3, 1), size) - 1;
  if (init > size) {
    luaL_pushfail(L);
    return 1;
  }
  const PatternMeter* meter = meter_of(L, 1);
  const bool plain = find && (lua_toboolean(L, 4) || !has_specials(pattern, p_size));
  const bool anchored = !plain && strip_anchor(pattern, p_size);
  Matcher m;
  m.start(subject, size, pattern, p_size);
  m.reset();
  const std::int64_t given = steps_left(L, meter);
  m.steps = given;
  const char* start = nullptr;
  const char* end = nullptr;
  const Outcome outcome = run_guarded([&] {
    if (plain) {
      start = find_plain(m, subject + init, size - init, pattern, p_size);
      if (start != nullptr) end = start + p_size;
      return;
    }
    const char* s = subject + init;
    do {
      m.reset();
      if ((end = m.match(s, pattern)) != nullptr) {
        start = s;
        return;
      }
    } while (s++ < m.src_end && !anchored);
  });
  settle(L, meter, m, given, outcome);
  if (end == nullptr) {
    luaL_pushfail(L);
    return 1;
  }
  if (!find) return push_captures(L, m, start, end);
  lua_pushinteger(L, (start - subject) + 1);
  lua_pushinteger(L, end - subject);
  return 2 + (plain ? 0 : push_captures(L, m, nullptr, nullptr));
}

int metered_find(lua_State* L) { return find_or_match(L, true); }
int metered_match(lua_State* L) { return find_or_match(L, false); }

// The iterator of gmatch. Upvalues: subject, pattern (kept alive), the state, the meter.
struct GmatchState {
  const char* src;
  const char* pattern;
  const char* last_match;
  Matcher m;
};

int gmatch_next(lua_State* L) {
  auto* g = static_cast<GmatchState*>(lua_touserdata(L, lua_upvalueindex(3)));
  const PatternMeter* meter =
      static_cast<const PatternMeter*>(lua_touserdata(L, lua_upvalueindex(4)));
  const std::int64_t given = steps_left(L, meter);
  g->m.steps = given;
  const char* start = nullptr;
  const char* end = nullptr;
  const Outcome outcome = run_guarded([&] {
    for (const char* s = g->src; s <= g->m.src_end; ++s) {
      g->m.reset();
      const char* e = g->m.match(s, g->pattern);
      if (e != nullptr && e != g->last_match) {
        start = s;
        end = e;
        g->src = g->last_match = e;
        return;
      }
    }
  });
  settle(L, meter, g->m, given, outcome);
  if (start == nullptr) return 0;
  return push_captures(L, g->m, start, end);
}

int metered_gmatch(lua_State* L) {
  std::size_t size = 0, p_size = 0;
  const char* subject = luaL_checklstring(L, 1, &size);
  const char* pattern = luaL_checklstring(L, 2, &p_size);
  std::size_t init = start_index(luaL_optinteger(L, 3, 1), size) - 1;
  if (init > size) init = size + 1;  // past the end: nothing is found
  lua_settop(L, 2);
  auto* g = static_cast<GmatchState*>(lua_newuserdatauv(L, sizeof(GmatchState), 0));
  new (g) GmatchState{};
  g->m.start(subject, size, pattern, p_size);
  g->src = subject + init;
  g->pattern = pattern;
  g->last_match = nullptr;
  lua_pushvalue(L, lua_upvalueindex(1));
  lua_pushcclosure(L, gmatch_next, 4);
  return 1;
}

// gsub's replacement string: `%0`..`%9` are captures, `%%` is '%'.
void add_replacement_text(lua_State* L, luaL_Buffer* b, const Matcher& m, const char* s,
                          const char* e) {
  std::size_t size = 0;
  const char* text = lua_tolstring(L, 3, &size);
  const char* escape = nullptr;
  while ((escape = static_cast<const char*>(std::memchr(text, kEscape, size))) != nullptr) {
    luaL_addlstring(b, text, static_cast<std::size_t>(escape - text));
    const char* p = escape + 1;
    if (*p == kEscape) {
      luaL_addchar(b, *p);
    } else if (*p == '0') {
      luaL_addlstring(b, s, static_cast<std::size_t>(e - s));
    } else if (*p >= '0' && *p <= '9') {
      const char* capture = nullptr;
      const std::ptrdiff_t len = get_capture(L, m, *p - '1', s, e, &capture);
      if (len == kPosition)
        luaL_addvalue(b);
      else
        luaL_addlstring(b, capture, static_cast<std::size_t>(len));
    } else {
      luaL_error(L, "invalid use of '%c' in replacement string", kEscape);
    }
    size -= static_cast<std::size_t>(p + 1 - text);
    text = p + 1;
  }
  luaL_addlstring(b, text, size);
}

// Adds the replacement of the match s..e; answers whether it differs from the match.
bool add_replacement(lua_State* L, luaL_Buffer* b, const Matcher& m, const char* s, const char* e,
                     int kind) {
  if (kind == LUA_TFUNCTION) {
    lua_pushvalue(L, 3);
    const int n = push_captures(L, m, s, e);
    lua_call(L, n, 1);
  } else if (kind == LUA_TTABLE) {
    push_capture(L, m, 0, s, e);
    lua_gettable(L, 3);
  } else {
    add_replacement_text(L, b, m, s, e);
    return true;
  }
  if (!lua_toboolean(L, -1)) {  // nil or false: keep the match
    lua_pop(L, 1);
    luaL_addlstring(b, s, static_cast<std::size_t>(e - s));
    return false;
  }
  if (!lua_isstring(L, -1)) luaL_error(L, "invalid replacement value (a %s)", luaL_typename(L, -1));
  luaL_addvalue(b);
  return true;
}

int metered_gsub(lua_State* L) {
  std::size_t size = 0, p_size = 0;
  const char* src = luaL_checklstring(L, 1, &size);
  const char* pattern = luaL_checklstring(L, 2, &p_size);
  const int kind = lua_type(L, 3);
  const lua_Integer max_replacements = luaL_optinteger(L, 4, static_cast<lua_Integer>(size) + 1);
  luaL_argexpected(
      L, kind == LUA_TNUMBER || kind == LUA_TSTRING || kind == LUA_TFUNCTION || kind == LUA_TTABLE,
      3, "string/function/table");
  const PatternMeter* meter = meter_of(L, 1);
  const bool anchored = strip_anchor(pattern, p_size);
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  Matcher m;
  m.start(src, size, pattern, p_size);
  std::int64_t given = steps_left(L, meter);
  m.steps = given;
  lua_Integer replaced = 0;
  bool changed = false;
  const char* last_match = nullptr;
  while (replaced < max_replacements) {
    const char* end = nullptr;
    const char* from = src;
    const Outcome outcome = run_guarded([&] {
      m.reset();
      end = m.match(from, pattern);
    });
    if (outcome.failed || outcome.out_of_steps) settle(L, meter, m, given, outcome);
    if (end != nullptr && end != last_match) {
      ++replaced;
      if (kind == LUA_TFUNCTION || kind == LUA_TTABLE) {
        // Lua code runs on the same budget: charge what the matcher took, then read it again.
        settle(L, meter, m, given, outcome);
        changed = add_replacement(L, &b, m, src, end, kind) || changed;
        given = m.steps = steps_left(L, meter);
      } else {
        changed = add_replacement(L, &b, m, src, end, kind) || changed;
      }
      src = last_match = end;
    } else if (src < m.src_end) {
      luaL_addchar(&b, *src++);
    } else {
      break;
    }
    if (anchored) break;
  }
  settle(L, meter, m, given, Outcome{});
  if (!changed) {
    lua_pushvalue(L, 1);
  } else {
    luaL_addlstring(&b, src, static_cast<std::size_t>(m.src_end - src));
    luaL_pushresult(&b);
  }
  lua_pushinteger(L, replaced);
  return 2;
}

}  // namespace

void install_metered_patterns(lua_State* L, int string_table, const PatternMeter* meter) {
  string_table = lua_absindex(L, string_table);
  constexpr struct {
    const char* name;
    lua_CFunction function;
  } kFunctions[] = {{"find", metered_find},
                    {"match", metered_match},
                    {"gmatch", metered_gmatch},
                    {"gsub", metered_gsub}};
  for (const auto& [name, function] : kFunctions) {
    lua_pushlightuserdata(L, const_cast<PatternMeter*>(meter));
    lua_pushcclosure(L, function, 1);
    lua_setfield(L, string_table, name);
  }
}

}  // namespace leadscore::lua
