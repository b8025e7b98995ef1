-- ICP fit: the hybrid rule layer, out of 50 points, normalised to 0..1 (every contribution
-- is in 0..1 units and they add up to the score).
--   role:     a decision maker (ceo, cto, cfo, vp, head, director, founder, owner, president)
--             +20, else an influencer (manager, lead, architect, senior, principal) +10;
--             matched as whole words of the role, case-insensitively ("VP of Sales", "Co-Founder")
--   industry: equal to an ideal-customer industry (case-insensitive) +20, else related (one
--             contains the other) +10. The ideal-customer industries are the active offer's
--             ideal_use_cases, else params.icp_industries.
--   profile:  every one of name, role, company, industry, location and bio present +10
--             (params.profile_fields replaces that list).
-- Recommendation: transfer_to_sales at 0.7 (35 of 50) or more when the business domain is set
-- (the handoff needs it), drop_lead at 0.3 (15 of 50) or less, else continue_qualification.
local R = rules

local DECISION_MAKERS = R.words{"ceo", "cto", "cfo", "vp", "head", "director", "founder",
                                "owner", "president"}
local INFLUENCERS = R.words{"manager", "lead", "architect", "senior", "principal"}
local PROFILE_FIELDS = {"name", "role", "company", "industry", "location", "bio"}

local function icp_industries(ctx)
  local offer = ctx.offer
  if offer ~= nil and offer.ideal_use_cases ~= nil and #offer.ideal_use_cases > 0 then
    return offer.ideal_use_cases
  end
  return ctx.params.icp_industries
end

local function industry_fit(lead, ctx)
  return R.match_in(lead.industry, icp_industries(ctx))
end

return R.scorecard{
  name = "icp_fit",
  version = "1.0",
  rules = {
    R.first{"role",
      R.rule{"decision maker role", points = 20 / 50,
             when = function(lead) return R.has_word(lead.role, DECISION_MAKERS) end},
      R.rule{"influencer role", points = 10 / 50,
             when = function(lead) return R.has_word(lead.role, INFLUENCERS) end}},
    R.first{"industry",
      R.rule{"exact ICP industry", points = 20 / 50,
             when = function(lead, ctx) return industry_fit(lead, ctx) == "exact" end},
      R.rule{"related industry", points = 10 / 50,
             when = function(lead, ctx) return industry_fit(lead, ctx) == "related" end}},
    R.rule{"complete profile", points = 10 / 50,
           when = function(lead, ctx)
             return R.all_present(lead, ctx.params.profile_fields or PROFILE_FIELDS)
           end},
  },
  recommend = R.thresholds{transfer = 0.7, drop = 0.3,
                           transfer_if = R.is_set("business_domain"),
                           transfer_if_text = "no business domain"},
}
