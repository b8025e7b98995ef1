-- rules: scoring rules written as data. A script lists its rules in a scorecard; the helper
-- runs them in order, adds their points, and produces the contributions and the reason, so
-- that the explanation always reconciles with the score. The engine loads this file into
-- every rules sandbox as the read-only global `rules` (each rules/lib/NAME.lua becomes NAME).
--
--   local R = rules
--   return R.scorecard{
--     name = "example", version = "1.0",
--     rules = {
--       R.rule{"partner source", when = function(l) return l.source == "partner" end, points = 0.3},
--       R.lookup{"stage", field = "stage", points = {new = 0, qualified = 0.2}, default = 0},
--       R.steps{"activity", field = "activity_count", {below = 3, points = 0}, {points = 0.2}},
--       R.first{"role", R.rule{...}, R.rule{...}},          -- the first matching rule only
--       R.cap{"no business domain", when = R.is_missing("business_domain"), max = 0.55},
--     },
--     recommend = R.thresholds{transfer = 0.7, drop = 0.3},
--   }
--
-- Items are evaluated in order; points add up as IEEE doubles in that order, starting at 0.
-- Then the score is clamped to [0, 1] (clamp = false turns that off). See rules/README.md.
--
-- Conditions (`when`, `transfer_if`) are functions(lead, ctx), or declarative conditions:
-- R.is_set("field") (the field is present(): not nil and, for text, not blank) and
-- R.is_missing("field"). Declarative conditions are callable like functions
-- (R.is_set("role")(lead)); the engine evaluates them without calling Lua.
--
-- The engine evaluates a scorecard natively (plugins/lua/native_scorecard.h): it reads the
-- items this helper builds and calls Lua only for `when`, `points` and `recommend` functions.
-- It gives exactly what the Lua `score` below gives; a scorecard it does not understand is
-- run by that `score`. So the tables built here are the contract of both: change them together.
--
-- The result table a scorecard returns is reused by its next call in the same state: the
-- engine copies it at once.

local M = {}

local type, error, tostring, setmetatable, pairs = type, error, tostring, setmetatable, pairs
local format, find, lower, gmatch, byte = string.format, string.find, string.lower, string.gmatch, string.byte
local concat = table.concat

local RULE, FIRST, LOOKUP, STEPS, CAP = "rule", "first", "lookup", "steps", "cap"
local RECOMMENDATIONS = {
  transfer_to_sales = true, continue_qualification = true, drop_lead = true,
}

local function points_text(points)
  return format("%+.2f", points)
end

-- The declarative conditions made by is_set and is_missing (weak keys): a hand-made look-alike
-- is not one.
local conditions = setmetatable({}, {__mode = "k"})

-- What `when` and `transfer_if` take: a function(lead, ctx) or a declarative condition.
local function is_condition(value)
  return type(value) == "function" or conditions[value] ~= nil
end

local CONDITION_EXPECTED = "a function(lead, ctx) or a condition (rules.is_set, rules.is_missing)"

local function fail(level, message)
  error(message, level + 1)
end

local function check_label(spec, what)
  if type(spec) ~= "table" then
    fail(3, what .. " takes a table: " .. what .. "{\"label\", ...}")
  end
  local label = spec[1]
  if type(label) ~= "string" or label == "" then
    fail(3, what .. ": the first entry must be the rule's label (a non-empty string)")
  end
  return label
end

local function check_points(label, points)
  if type(points) ~= "number" or points ~= points or points == math.huge or points == -math.huge then
    fail(3, "rule '" .. label .. "': points must be a finite number, got " .. tostring(points))
  end
end

-- rule{"label", when = function(lead, ctx) -> truthy | condition, points = number | function(lead, ctx)}
-- Adds its points when `when` holds (always, without `when`).
function M.rule(spec)
  local label = check_label(spec, "rule")
  local when, points = spec.when, spec.points
  if when ~= nil and not is_condition(when) then
    fail(2, "rule '" .. label .. "': when must be " .. CONDITION_EXPECTED .. ", got " .. type(when))
  end
  if type(points) ~= "function" then check_points(label, points) end
  return {
    kind = RULE, label = label, when = when, points = points,
    piece = type(points) == "number" and label .. " (" .. points_text(points) .. ")" or nil,
  }
end

-- first{"label", rule{...}, rule{...}, ...}: only the first rule whose `when` holds applies.
function M.first(spec)
  local label = check_label(spec, "first")
  local options = {}
  for i = 2, #spec do
    local option = spec[i]
    if type(option) ~= "table" or option.kind ~= RULE then
      fail(2, "first '" .. label .. "': entry " .. (i - 1) .. " must be a rule{...}")
    end
    options[#options + 1] = option
  end
  if #options == 0 then fail(2, "first '" .. label .. "' needs at least one rule{...}") end
  return {kind = FIRST, label = label, options = options}
end

-- lookup{"label", field = "source", points = {partner = 0.7, ...}, default = 0.3}
-- The points of the field's value; `default` for any other value (none: nothing applies).
-- Contributions are named "field=value" ("field=value (other)" for the default).
function M.lookup(spec)
  local label = check_label(spec, "lookup")
  local field, points, default = spec.field, spec.points, spec.default
  if type(field) ~= "string" then fail(2, "lookup '" .. label .. "': field must be a lead field name") end
  if type(points) ~= "table" then fail(2, "lookup '" .. label .. "': points must be a table {value = points}") end
  if default ~= nil then check_points(label, default) end
  local own, labels, pieces = {}, {}, {}
  for value, p in pairs(points) do
    check_points(label, p)
    own[value] = p
    labels[value] = field .. "=" .. tostring(value)
    pieces[value] = labels[value] .. " (" .. points_text(p) .. ")"
  end
  return {kind = LOOKUP, label = label, field = field, points = own, labels = labels,
          pieces = pieces, default = default}
end

-- steps{"label", field = "activity_count", {below = 1, points = -0.2}, ..., {points = 0.25}}
-- The first step whose `below` is above the field's value; the last step (no `below`) takes
-- the rest. `below` must increase. Nothing applies when the field is not a number.
function M.steps(spec)
  local label = check_label(spec, "steps")
  local field = spec.field
  if type(field) ~= "string" then fail(2, "steps '" .. label .. "': field must be a lead field name") end
  local steps, previous = {}, nil
  for i = 2, #spec do
    local step = spec[i]
    if type(step) ~= "table" then fail(2, "steps '" .. label .. "': step " .. (i - 1) .. " must be {below = N, points = P}") end
    check_points(label, step.points)
    local below = step.below
    if below == nil and i ~= #spec then
      fail(2, "steps '" .. label .. "': only the last step may leave out `below`")
    end
    if below ~= nil and (type(below) ~= "number" or (previous ~= nil and below <= previous)) then
      fail(2, "steps '" .. label .. "': `below` must be a number above the step before's")
    end
    local name
    if below == nil then
      name = previous == nil and field or field .. " >= " .. tostring(previous)
    elseif previous == nil then
      name = field .. " < " .. tostring(below)
    else
      name = field .. " in [" .. tostring(previous) .. ", " .. tostring(below) .. ")"
    end
    steps[#steps + 1] = {below = below, points = step.points, label = name,
                         piece = name .. " (" .. points_text(step.points) .. ")"}
    previous = below
  end
  if #steps == 0 then fail(2, "steps '" .. label .. "' needs at least one step") end
  return {kind = STEPS, label = label, field = field, steps = steps}
end

-- cap{"label", when = function(lead, ctx) | condition, max = 0.55}: when `when` holds (always,
-- without it) and the score so far is above max, the score becomes max; the contribution is
-- the cut.
function M.cap(spec)
  local label = check_label(spec, "cap")
  if spec.when ~= nil and not is_condition(spec.when) then
    fail(2, "cap '" .. label .. "': when must be " .. CONDITION_EXPECTED)
  end
  check_points(label, spec.max)
  return {kind = CAP, label = label, when = spec.when, max = spec.max}
end

-- thresholds{transfer = 0.7, drop = 0.3, transfer_if = function(lead, ctx) | condition,
--            transfer_if_text = "..."}
-- transfer_to_sales at or above `transfer` (and only when transfer_if holds, if given), else
-- drop_lead at or below `drop`, else continue_qualification.
function M.thresholds(spec)
  if type(spec) ~= "table" or type(spec.transfer) ~= "number" or type(spec.drop) ~= "number"
      or not (spec.drop < spec.transfer) then
    fail(2, "thresholds{transfer = T, drop = D} needs numbers with D < T")
  end
  if spec.transfer_if ~= nil and not is_condition(spec.transfer_if) then
    fail(2, "thresholds: transfer_if must be " .. CONDITION_EXPECTED)
  end
  local t, d = format("%.2f", spec.transfer), format("%.2f", spec.drop)
  return {
    kind = "thresholds", transfer = spec.transfer, drop = spec.drop, transfer_if = spec.transfer_if,
    transfer_text = ": transfer to sales (score >= " .. t .. ")",
    blocked_text = ": continue qualification (score >= " .. t .. " but "
        .. (spec.transfer_if_text or "the transfer condition does not hold") .. ")",
    drop_text = ": drop lead (score <= " .. d .. ")",
    continue_text = ": continue qualification (score between " .. d .. " and " .. t .. ")",
  }
end

-- Helpers for conditions ------------------------------------------------------------------

-- A value that is set: not nil, and for text not blank.
local function present(value)
  if value == nil then return false end
  if type(value) == "string" then
    local first = byte(value, 1)
    -- A first byte that is printable and not a space settles it without a pattern.
    if first ~= nil and first > 32 and first < 127 then return true end
    return find(value, "%S") ~= nil
  end
  return true
end
M.present = present

-- Every listed field of the lead is present.
function M.all_present(lead, fields)
  for i = 1, #fields do
    if not present(lead[fields[i]]) then return false end
  end
  return true
end

-- Declarative conditions: is_set("field") holds when lead[field] is present(), is_missing("field")
-- when it is not. They are called like a function(lead, ctx), and the engine evaluates them
-- natively (no Lua call per lead).
local CONDITION = {
  __call = function(condition, lead)
    local set = present(lead[condition.field])
    if condition.test == "is_set" then return set end
    return not set
  end,
  __metatable = "rules condition",
}

local function check_field(test, field)
  if type(field) ~= "string" or field == "" then
    fail(3, test .. " takes a lead field name, e.g. " .. test .. "(\"business_domain\")")
  end
end

local function condition(test, field)
  local made = setmetatable({kind = "condition", test = test, field = field}, CONDITION)
  conditions[made] = true
  return made
end

function M.is_set(field)
  check_field("is_set", field)
  return condition("is_set", field)
end

function M.is_missing(field)
  check_field("is_missing", field)
  return condition("is_missing", field)
end

-- A set of lowercase words, for has_word.
function M.words(list)
  local set = {}
  for i = 1, #list do set[lower(list[i])] = true end
  return set
end

-- The text holds one of the words of `set` as a whole word (case-insensitive):
-- has_word("VP of Sales", words{"vp"}) is true, has_word("Leader", words{"lead"}) is false.
function M.has_word(text, set)
  if type(text) ~= "string" then return false end
  for word in gmatch(lower(text), "%a+") do
    if set[word] then return true end
  end
  return false
end

local function trim_lower(text)
  return lower((text:gsub("^%s+", ""):gsub("%s+$", "")))
end

-- How `value` matches a list of names: "exact" (equal, case-insensitive, ignoring surrounding
-- blanks), "related" (one contains the other), or nil.
function M.match_in(value, list)
  if type(value) ~= "string" or list == nil then return nil end
  local v = trim_lower(value)
  if v == "" then return nil end
  local related = nil
  for i = 1, #list do
    local item = list[i]
    if type(item) == "string" then
      local c = trim_lower(item)
      if c == v then return "exact" end
      if c ~= "" and (find(v, c, 1, true) or find(c, v, 1, true)) then related = "related" end
    end
  end
  return related
end

-- The scorecard ---------------------------------------------------------------------------

-- Trace mode: a view of the lead that records the fields a rule reads.
local function recorder(lead)
  local seen = {}
  local view = setmetatable({}, {
    __index = function(_, key)
      for i = 1, #seen do
        if seen[i] == key then return lead[key] end
      end
      seen[#seen + 1] = key
      return lead[key]
    end,
    __newindex = function(_, key)
      error("cannot set lead." .. tostring(key) .. ": lead is read-only", 2)
    end,
  })
  return view, seen
end

local function call_points(item, points, lead, ctx)
  local p = points(lead, ctx)
  if type(p) ~= "number" or p ~= p or p == math.huge or p == -math.huge then
    error("rule '" .. item.label .. "': its points function returned " .. tostring(p)
        .. " (a finite number is needed)", 0)
  end
  return p
end

-- scorecard{name = "...", version = "...", rules = {...}, recommend = thresholds{...} or
-- function(score, lead, ctx) -> recommendation[, text], clamp = true}
-- Returns the table a rule script returns: {name, version, score = function(lead, ctx)}, with
-- `scorecard`: what the engine compiles natively (the items, the clamp, the thresholds or the
-- recommend function, and the Lua functions a native run calls back).
function M.scorecard(spec)
  if type(spec) ~= "table" then fail(2, "scorecard takes a table {name, version, rules, recommend}") end
  if type(spec.name) ~= "string" or spec.name == "" then fail(2, "scorecard: name must be a non-empty string") end
  if type(spec.version) ~= "string" then fail(2, "scorecard: version must be a string") end
  if type(spec.rules) ~= "table" or #spec.rules == 0 then fail(2, "scorecard: rules must be a non-empty list") end
  local items = {}
  for i = 1, #spec.rules do
    local item = spec.rules[i]
    if type(item) ~= "table" or (item.kind ~= RULE and item.kind ~= FIRST and item.kind ~= LOOKUP
        and item.kind ~= STEPS and item.kind ~= CAP) then
      fail(2, "scorecard: rules[" .. i .. "] must be made by rule, first, lookup, steps or cap")
    end
    items[i] = item
  end
  local recommend = spec.recommend
  local thresholds = type(recommend) == "table" and recommend.kind == "thresholds" and recommend or nil
  if thresholds == nil and type(recommend) ~= "function" then
    fail(2, "scorecard: recommend must be thresholds{...} or a function(score, lead, ctx)")
  end
  local clamp = spec.clamp ~= false
  local n_items = #items
  local name = spec.name

  -- recommend as a function: its answer checked, and the text of the reason (": ...").
  local function recommend_by_function(total, lead, ctx)
    local recommendation, text = recommend(total, lead, ctx)
    if not RECOMMENDATIONS[recommendation] then
      error("scorecard '" .. name .. "': recommend returned " .. tostring(recommendation)
          .. " (transfer_to_sales, continue_qualification or drop_lead)", 0)
    end
    return recommendation, ": " .. (type(text) == "string" and text or recommendation:gsub("_", " "))
  end

  -- Reused from call to call (one state serves one call at a time).
  local result, contributions, pool, pieces = {}, {}, {}, {}
  local used, n = 0, 0

  local function add(label, piece, p)
    n = n + 1
    local entry = pool[n]
    if entry == nil then
      entry = {}
      pool[n] = entry
    end
    entry.rule, entry.points = label, p
    contributions[n] = entry
    pieces[n] = piece or label .. " (" .. points_text(p) .. ")"
  end

  local function score(lead, ctx)
    local explain, trace = ctx.explain, ctx.trace
    local total = 0.0
    n = 0

    for i = 1, n_items do
      local item = items[i]
      local kind = item.kind
      local l, seen = lead, nil
      if trace then l, seen = recorder(lead) end
      local applied, matched, p, label, piece = false, false, 0, nil, nil

      if kind == RULE then
        local when = item.when
        if when == nil or when(l, ctx) then
          applied, label, piece, p = true, item.label, item.piece, item.points
          if piece == nil then p = call_points(item, p, l, ctx) end
        end
      elseif kind == LOOKUP then
        local value = l[item.field]
        local own = value ~= nil and item.points[value] or nil
        if own ~= nil then
          applied, p, label, piece = true, own, item.labels[value], item.pieces[value]
        elseif item.default ~= nil then
          applied, p = true, item.default
          if explain then
            label = value == nil and item.field .. " missing"
                or item.field .. "=" .. tostring(value) .. " (other)"
          end
        end
      elseif kind == STEPS then
        local value = l[item.field]
        if type(value) == "number" then
          local steps = item.steps
          for j = 1, #steps do
            local step = steps[j]
            local below = step.below
            if below == nil or value < below then
              applied, p, label, piece = true, step.points, step.label, step.piece
              break
            end
          end
        end
      elseif kind == FIRST then
        local options = item.options
        for j = 1, #options do
          local option = options[j]
          local when = option.when
          if when == nil or when(l, ctx) then
            applied, label, piece, p = true, option.label, option.piece, option.points
            if piece == nil then p = call_points(option, p, l, ctx) end
            break
          end
        end
      else -- CAP
        local when = item.when
        matched = when == nil or when(l, ctx) and true or false
        if matched and total > item.max then
          applied, label, p = true, item.label, item.max - total
        end
      end

      if applied then
        if kind == CAP then total = item.max else total = total + p end
        if explain then add(label, piece, p) end
      end
      if trace then
        trace[#trace + 1] = {rule = applied and label or item.label, matched = applied or matched,
                             points = applied and p or 0, seen = seen}
      end
    end

    if clamp and (total < 0 or total > 1) then
      local bound = total < 0 and 0.0 or 1.0
      local cut = bound - total
      total = bound
      if explain then add(bound == 0 and "clamped to 0" or "clamped to 1", nil, cut) end
      if trace then
        trace[#trace + 1] = {rule = bound == 0 and "clamped to 0" or "clamped to 1",
                             matched = true, points = cut, seen = {}}
      end
    end

    local recommendation, text
    if thresholds then
      if total >= thresholds.transfer then
        local transfer_if = thresholds.transfer_if
        if transfer_if == nil or transfer_if(lead, ctx) then
          recommendation, text = "transfer_to_sales", thresholds.transfer_text
        else
          recommendation, text = "continue_qualification", thresholds.blocked_text
        end
      elseif total <= thresholds.drop then
        recommendation, text = "drop_lead", thresholds.drop_text
      else
        recommendation, text = "continue_qualification", thresholds.continue_text
      end
    else
      recommendation, text = recommend_by_function(total, lead, ctx)
    end

    result.score, result.recommendation = total, recommendation
    if explain then
      if n == 0 then add("no rule applied", nil, 0.0) end
      for k = n + 1, used do contributions[k] = nil end
      used = n
      result.contributions = contributions
      result.reason = concat(pieces, "; ", 1, n) .. " -> " .. format("%.2f", total) .. text
    else
      result.contributions, result.reason = nil, nil
    end
    return result
  end

  local card = {score = score, items = items, n_items = n_items, clamp = clamp,
                thresholds = thresholds,
                recommend = thresholds == nil and recommend_by_function or nil,
                call_points = call_points}
  return {name = spec.name, version = spec.version, score = score, rules = items, scorecard = card}
end

return M
