/* A scorer plugin that misbehaves on request, for the loader and adapter tests. Built several
 * times with different definitions:
 *   (none)                 a valid plugin; the lead's source picks the behaviour (see score)
 *   LS_TEST_WRONG_ABI      reports ABI version 999
 *   LS_TEST_NO_ENTRY       exports no leadscore_plugin symbol
 *   LS_TEST_NULL_TABLE     leadscore_plugin() returns NULL
 *   LS_TEST_VERSION_2      a valid plugin of version 0.2 (the next build, for reload tests)
 *   LS_TEST_OLD_TABLE      a table built before self_test and trace: its struct_size ends
 *                          before them, and what lies there must never be called
 *   LS_TEST_SLOW           flagged LS_PLUGIN_SLOW, as an LLM plugin is: every score() sleeps
 *                          for the params' "sleep_ms" (0 by default), then gives an audit
 *                          {"prompt_version", "slept_ms"} and answers, or fails
 *                          with that audit when the params mention "upstream_down"
 * create() fails when the params mention "refuse", with a positioned message on line 3 of the
 * params JSON (the line of the first value). self_test() passes unless the params mention
 * "self_test_fails" (a report with a problem at t.yaml:4) or "self_test_breaks" (no report, a
 * message in err). */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "leadscore/plugin.h"

#ifdef LS_TEST_VERSION_2
#define LS_TEST_VERSION "0.2"
#else
#define LS_TEST_VERSION "0.1"
#endif

struct ls_instance {
  int self_test; /* 0: passes, 1: fails with a report, 2: fails without one */
  long sleep_ms; /* LS_TEST_SLOW: how long each score() takes */
  int upstream_down;
};

/* An audit longer than the engine keeps (16 KiB). */
static const char* long_audit(void) {
  static char text[17 * 1024 + 16];
  if (text[0] == '\0') {
    memcpy(text, "{\"raw\": \"", 9);
    memset(text + 9, 'x', 17 * 1024);
    memcpy(text + 9 + 17 * 1024, "\"}", 3);
  }
  return text;
}

static const struct ls_contribution kHalf[] = {{"base", 0.25}, {"bonus", 0.25}};
static const struct ls_contribution kUnnamed[] = {{NULL, 0.5}};

static ls_instance* test_create(const char* params_json, const char* config_dir, char* err,
                                size_t err_size) {
  (void)config_dir;
  if (strstr(params_json, "refuse") != NULL) {
    snprintf(err, err_size, "3:1: refused as asked\nand a second problem without a position");
    return NULL;
  }
  ls_instance* self = calloc(1, sizeof(ls_instance));
  if (self != NULL && strstr(params_json, "self_test_fails") != NULL) self->self_test = 1;
  if (self != NULL && strstr(params_json, "self_test_breaks") != NULL) self->self_test = 2;
  if (self != NULL && strstr(params_json, "upstream_down") != NULL) self->upstream_down = 1;
  const char* sleep = self != NULL ? strstr(params_json, "\"sleep_ms\"") : NULL;
  if (sleep != NULL) {
    sleep = strchr(sleep, ':');
    if (sleep != NULL) self->sleep_ms = strtol(sleep + 1, NULL, 10);
  }
  return self;
}

/* source "audit": an audit with the result; "audit_error": LS_ERROR with an audit;
 * "longaudit", "listaudit", "brokenaudit": audits the engine replaces.
 * source "ok": score 0.5 from two contributions; "error": LS_ERROR with a message;
 * "silent_error": LS_ERROR without one; "status": returns 7; "slow": sleeps 30 ms, then answers;
 * "intent": intent "High"; "version": the version compiled in as the reason; "nan", "above",
 * "badrec", "norec", "noreason", "nocontrib", "badsum", "norule", "blankintent", "longintent",
 * "binaryintent": malformed results. */
static int test_score(ls_instance* self, const struct ls_features* lead, struct ls_result* out,
                      char* err, size_t err_size) {
  const char* s = lead->source;
#ifdef LS_TEST_SLOW
  {
    static _Thread_local char audit[128];
    struct timespec pause = {self->sleep_ms / 1000, (self->sleep_ms % 1000) * 1000 * 1000};
    nanosleep(&pause, NULL);
    snprintf(audit, sizeof audit, "{\"prompt_version\": \"t1\", \"slept_ms\": %ld}",
             self->sleep_ms);
    out->audit_json = audit;
    if (self->upstream_down) {
      snprintf(err, err_size, "the upstream is down on purpose");
      return LS_ERROR;
    }
  }
#else
  (void)self;
#endif
  out->score = 0.5;
  out->recommendation = "continue_qualification";
  out->reason = "half";
  out->contributions = kHalf;
  out->contribution_count = 2;
  out->intent = NULL;
  if (strcmp(s, "error") == 0) {
    snprintf(err, err_size, "scorer broke on purpose");
    return LS_ERROR;
  }
  if (strcmp(s, "silent_error") == 0) return LS_ERROR;
  if (strcmp(s, "audit_error") == 0) {
    out->audit_json = "{\"raw\": \"HTTP 500\", \"tries\": 3}";
    snprintf(err, err_size, "the upstream failed");
    return LS_ERROR;
  }
  if (strcmp(s, "audit") == 0) out->audit_json = "{\"model\": \"m1\",  \"tokens_in\": 12}";
  if (strcmp(s, "longaudit") == 0) out->audit_json = long_audit();
  if (strcmp(s, "listaudit") == 0) out->audit_json = "[1, 2]";
  if (strcmp(s, "brokenaudit") == 0) out->audit_json = "{\"raw\": ";
  if (strcmp(s, "status") == 0) return 7;
  if (strcmp(s, "slow") == 0) {
    struct timespec pause = {0, 30 * 1000 * 1000};
    nanosleep(&pause, NULL);
  }
  if (strcmp(s, "nan") == 0) out->score = NAN;
  if (strcmp(s, "above") == 0) out->score = 1.5;
  if (strcmp(s, "badrec") == 0) out->recommendation = "maybe";
  if (strcmp(s, "norec") == 0) out->recommendation = NULL;
  if (strcmp(s, "noreason") == 0) out->reason = "";
  if (strcmp(s, "nocontrib") == 0) out->contribution_count = 0;
  if (strcmp(s, "badsum") == 0) out->score = 0.6;
  if (strcmp(s, "norule") == 0) {
    out->contributions = kUnnamed;
    out->contribution_count = 1;
  }
  if (strcmp(s, "version") == 0) out->reason = LS_TEST_VERSION;
  if (strcmp(s, "intent") == 0) out->intent = "High";
  if (strcmp(s, "blankintent") == 0) out->intent = " ";
  if (strcmp(s, "longintent") == 0)
    out->intent = "High, and this label goes on far longer than any intent label should go on";
  if (strcmp(s, "binaryintent") == 0) out->intent = "Hi\xff\x01gh";
  if (strcmp(s, "echo") == 0) {
    /* The features came through: the business domain and profile name as the reason. */
    static _Thread_local char reason[256];
    snprintf(reason, sizeof reason, "%s|%s|%s|%d|%lld|%s", lead->stage,
             lead->business_domain ? lead->business_domain : "(null)",
             lead->name ? lead->name : "(null)", (int)lead->stage_code,
             (long long)lead->activity_count, lead->offer_json ? "offer" : "no offer");
    out->reason = reason;
  }
  if (strcmp(s, "fields") == 0) {
    /* Every profile field of `fields`, as name=value (value "-" when absent). */
    static _Thread_local char reason[512];
    size_t used = 0;
    reason[0] = '\0';
    for (size_t i = 0; i < lead->field_count && used < sizeof reason; ++i)
      used += (size_t)snprintf(reason + used, sizeof reason - used, "%s%s=%s", i ? "," : "",
                               lead->fields[i].name,
                               lead->fields[i].value ? lead->fields[i].value : "-");
    out->reason = reason;
  }
  return LS_OK;
}

static void test_destroy(ls_instance* self) { free(self); }

#ifndef LS_TEST_OLD_TABLE
static int test_self_test(ls_instance* self, const char** report, char* err, size_t err_size) {
  switch (self->self_test) {
    case 1:
      *report =
          "{\"passed\": false, \"problems\": [{\"file\": \"t.yaml\", \"line\": 4, "
          "\"message\": \"case x failed\"}]}";
      return LS_ERROR;
    case 2:
      *report = NULL;
      snprintf(err, err_size, "the tests could not run");
      return LS_ERROR;
    default:
      *report = "{\"passed\": true, \"problems\": []}";
      return LS_OK;
  }
}
#else
/* Called only if the engine ignored the table's struct_size. */
static int never_called(ls_instance* self, const char** report, char* err, size_t err_size) {
  (void)self;
  (void)err;
  (void)err_size;
  *report = "{\"passed\": false, \"problems\": [{\"message\": \"read past the table\"}]}";
  return LS_ERROR;
}
#endif

static const struct ls_plugin kPlugin = {
#ifdef LS_TEST_WRONG_ABI
    .abi_version = 999,
#else
    .abi_version = LEADSCORE_PLUGIN_ABI_VERSION,
#endif
#ifdef LS_TEST_OLD_TABLE
    .struct_size = offsetof(struct ls_plugin, self_test),
    .self_test = never_called,
#else
    .struct_size = sizeof(struct ls_plugin),
    .self_test = test_self_test,
#endif
    .name = "test",
    .version = LS_TEST_VERSION,
    .create = test_create,
    .score = test_score,
    .destroy = test_destroy,
    .instance_version = NULL,
    .trace = NULL,
#ifdef LS_TEST_SLOW
    .flags = LS_PLUGIN_SLOW,
#endif
};

#ifndef LS_TEST_NO_ENTRY
LEADSCORE_PLUGIN_EXPORT const struct ls_plugin* leadscore_plugin(void) {
#ifdef LS_TEST_NULL_TABLE
  (void)kPlugin;
  return NULL;
#else
  return &kPlugin;
#endif
}
#else
LEADSCORE_PLUGIN_EXPORT const struct ls_plugin* some_other_name(void) { return &kPlugin; }
#endif
