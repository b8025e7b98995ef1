-- The default rules: exactly the built-in heuristic (config/leadscore.yaml documents it), as
-- data. Points add up in this order, as IEEE doubles: source, activity, stage, business domain;
-- then the cap for leads without a business domain, then the clamp to [0, 1] (the scorecard's).
-- tests/plugins/lua/default_rules_test.cpp checks every source × stage × activity 0..12 × domain
-- against the C++ heuristic, to the last bit. Only data and declarative conditions: the engine
-- scores it without calling Lua.
local R = rules

return R.scorecard{
  name = "default",
  version = "1.0",
  rules = {
    R.lookup{"source", field = "source",
             points = {scanner = 0.5, partner = 0.7, manual = 0.4}, default = 0.3},
    R.steps{"activity", field = "activity_count",
            {below = 1, points = -0.2},
            {below = 3, points = 0.05},
            {below = 7, points = 0.15},
            {points = 0.25}},
    R.lookup{"stage", field = "stage",
             points = {new = 0.0, contacted = 0.05, qualified = 0.15, transferred = 0.2, lost = -0.4}},
    R.rule{"business domain set", when = R.is_set("business_domain"), points = 0.1},
    R.cap{"no business domain: capped at 0.55", when = R.is_missing("business_domain"), max = 0.55},
  },
  recommend = R.thresholds{transfer = 0.7, drop = 0.3, transfer_if = R.is_set("business_domain"),
                           transfer_if_text = "no business domain"},
}
