/* A minimal leadscore scorer plugin in C (plugins/README.md walks through it).
 *
 * It scores a lead by its activity alone, in three bands, and takes one optional param:
 *     params: {min_activity: 3}   # the activity at which a lead with a business domain
 *                                 # is handed to sales (1..1000; default 3)
 *
 * Results are made of static strings and a per-instance table of contributions, so they stay
 * valid for as long as the ABI asks; the instance is read-only after create(), so score() is
 * safe from any number of threads at once. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "leadscore/plugin.h"

struct ls_instance {
  long min_activity;
  char version[32];
  /* One result per band, filled in by create(): score() only picks one. */
  struct ls_contribution bands[3];
};

static void set_error(char* err, size_t err_size, const char* message) {
  if (err != NULL && err_size > 0) snprintf(err, err_size, "%s", message);
}

/* A deliberately tiny reader for {} or {"min_activity": N}: a real plugin would use a JSON
 * library. Reports problems as "LINE:COLUMN: message" so that the engine points at the config
 * line. */
static int read_params(const char* json, long* min_activity, char* err, size_t err_size) {
  const char* key = strstr(json, "\"min_activity\"");
  if (key == NULL) {
    if (strchr(json, ':') != NULL) {
      set_error(err, err_size, "the example plugin takes only `min_activity`");
      return 0;
    }
    return 1;
  }
  int line = 1;
  for (const char* p = json; p < key; ++p) line += *p == '\n';
  const char* value = strchr(key, ':');
  char* end = NULL;
  long n = value != NULL ? strtol(value + 1, &end, 10) : 0;
  if (value == NULL || end == value + 1 || n < 1 || n > 1000) {
    /* The value is on the line after its key. */
    snprintf(err, err_size, "%d:1: min_activity must be an integer in 1..1000", line + 1);
    return 0;
  }
  *min_activity = n;
  return 1;
}

static ls_instance* example_create(const char* params_json, const char* config_dir, char* err,
                                   size_t err_size) {
  (void)config_dir; /* no files to find */
  long min_activity = 3;
  if (!read_params(params_json, &min_activity, err, err_size)) return NULL;
  ls_instance* self = calloc(1, sizeof *self);
  if (self == NULL) {
    set_error(err, err_size, "out of memory");
    return NULL;
  }
  self->min_activity = min_activity;
  snprintf(self->version, sizeof self->version, "1.0+min%ld", min_activity);
  self->bands[0] = (struct ls_contribution){"activity_count=0", 0.1};
  self->bands[1] = (struct ls_contribution){"activity_count below min_activity", 0.4};
  self->bands[2] = (struct ls_contribution){"activity_count at or above min_activity", 0.8};
  return self;
}

static int example_score(ls_instance* self, const struct ls_features* lead, struct ls_result* out,
                         char* err, size_t err_size) {
  if (lead->activity_count < 0) {
    set_error(err, err_size, "negative activity_count");
    return LS_ERROR;
  }
  const int band = lead->activity_count == 0                   ? 0
                   : lead->activity_count < self->min_activity ? 1
                                                               : 2;
  const int has_domain = lead->business_domain != NULL && lead->business_domain[0] != '\0';
  out->score = self->bands[band].points;
  out->contributions = &self->bands[band];
  out->contribution_count = 1; /* one contribution: it is the whole score */
  out->intent = NULL;
  if (band == 0) {
    out->recommendation = "drop_lead";
    out->reason = "no activity yet: drop lead";
  } else if (band == 2 && has_domain) {
    out->recommendation = "transfer_to_sales";
    out->reason = "active lead with a business domain: transfer to sales";
  } else {
    out->recommendation = "continue_qualification";
    out->reason = band == 2 ? "active lead without a business domain: continue qualification"
                            : "some activity: continue qualification";
  }
  return LS_OK;
}

static void example_destroy(ls_instance* self) { free(self); }

static const char* example_instance_version(const ls_instance* self) { return self->version; }

static const struct ls_plugin kPlugin = {
    .abi_version = LEADSCORE_PLUGIN_ABI_VERSION,
    .struct_size = sizeof(struct ls_plugin),
    .name = "example",
    .version = "1.0",
    .create = example_create,
    .score = example_score,
    .destroy = example_destroy,
    .instance_version = example_instance_version,
    /* No self_test and no trace: left NULL, the engine has nothing of them to call. */
};

LEADSCORE_PLUGIN_EXPORT const struct ls_plugin* leadscore_plugin(void) { return &kPlugin; }
