/* leadscore scorer plugin ABI, version 1: the one header a plugin author needs.
 *
 * A scorer plugin is a shared module (.so) that exports one C function,
 *
 *     const struct ls_plugin* leadscore_plugin(void);
 *
 * returning a static, immutable table: the ABI version it was built for, the plugin's name and
 * version, and the functions that create an instance from its params, score a lead's features,
 * report the instance's version and destroy the instance, and optionally test the instance
 * before it serves (self_test) and explain one lead in detail (trace). Plain C types only, so
 * that a scorer can be written in any language that makes a C shared library. plugins/README.md
 * explains the ABI with a complete example (plugins/example/example_plugin.c).
 *
 * The engine dlopen()s the modules the config names (RTLD_NOW | RTLD_LOCAL), calls
 * leadscore_plugin() once per load and refuses a module that lacks the symbol, returns NULL,
 * or was built for another LEADSCORE_PLUGIN_ABI_VERSION.
 *
 * Threading: leadscore_plugin() and create() / destroy() are called from one thread at a time.
 * score() and instance_version() MAY BE CALLED CONCURRENTLY FROM SEVERAL THREADS ON THE SAME
 * INSTANCE: a plugin keeps per-thread state (or none) where it needs it. destroy() is called
 * once, after every score() call on the instance has returned.
 *
 * Errors: no C++ exception, longjmp or signal may cross this boundary. A function that fails
 * writes a NUL-terminated message of at most err_size bytes (including the NUL; truncate) into
 * the caller's `err` buffer and reports failure by its return value.
 *
 * Compatibility: version 1 tables and structs only ever grow at their end. Each carries its
 * own size (struct_size) so that both sides can tell which fields the other one knows; a field
 * past the end of the other side's struct is treated as absent (NULL or 0).
 */
#ifndef LEADSCORE_PLUGIN_H
#define LEADSCORE_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define LEADSCORE_PLUGIN_ABI_VERSION 1

/* The name of the one exported entry function. */
#define LEADSCORE_PLUGIN_ENTRY "leadscore_plugin"

/* Export marker for the entry function: modules should build with -fvisibility=hidden. */
#if defined(__GNUC__)
#define LEADSCORE_PLUGIN_EXPORT __attribute__((visibility("default")))
#else
#define LEADSCORE_PLUGIN_EXPORT
#endif

/* Lead stages, as `stage_code` carries them (`stage` carries the same as text). */
enum ls_stage {
  LS_STAGE_NEW = 0,
  LS_STAGE_CONTACTED = 1,
  LS_STAGE_QUALIFIED = 2,
  LS_STAGE_TRANSFERRED = 3,
  LS_STAGE_LOST = 4
};

/* One profile field of a lead: its name (as the REST API and CSV columns name it) and its
 * value. */
struct ls_field {
  const char* name;  /* "name", "email", "role", ...: never NULL */
  const char* value; /* NULL when the lead has none */
};

/* What a scorer sees of a lead: never its id, dates or earlier scores. Every string is UTF-8,
 * NUL-terminated, owned by the engine and valid only during the score() call. */
struct ls_features {
  size_t struct_size;          /* sizeof(struct ls_features) of the engine */
  const char* source;          /* "scanner", "partner", "manual", ...: never NULL */
  const char* stage;           /* "new" | "contacted" | "qualified" | "transferred" | "lost" */
  int32_t stage_code;          /* the same stage as an enum ls_stage */
  int64_t activity_count;      /* >= 0 */
  const char* business_domain; /* NULL when missing; may be blank (blank counts as missing) */
  /* Profile: NULL when absent. */
  const char* name;
  const char* email;
  const char* role;
  const char* company;
  const char* industry;
  const char* location;
  const char* bio;
  /* The active offer as a JSON object text, {id, name, description?, value_props,
   * ideal_use_cases}; NULL when no offer is active. The same text (and usually the same
   * pointer) on every call until the offer changes: parse it once per change. */
  const char* offer_json;
  /* Every profile field of the lead, in the engine's order, each with its value (NULL when
   * absent): the named profile members above and any field the engine adds later, so that a
   * plugin reading profile fields from here needs no change for a new one. The named members
   * stay filled for plugins that read them. (Past the end of an older engine's struct: read
   * the named members.) */
  const struct ls_field* fields;
  size_t field_count;
};

/* One rule's part of a score. */
struct ls_contribution {
  const char* rule; /* a label that says the rule and the values it looked at; never NULL */
  double points;
};

/* What score() answers. The engine checks every result and fails the run when one is
 * malformed: score finite and in [0, 1]; recommendation one of "transfer_to_sales",
 * "continue_qualification", "drop_lead"; reason non-empty; at least one contribution, and the
 * points of the contributions add up to the score within 1e-9.
 *
 * Ownership: every pointer in a result belongs to the plugin instance and must stay valid until
 * the next score() call ON THE SAME THREAD for the same instance, or until destroy(). (Per-thread
 * buffers owned by the instance satisfy this; the engine copies the result before it scores
 * again.) */
struct ls_result {
  size_t struct_size; /* set by the engine before the call: sizeof(struct ls_result) */
  double score;       /* 0..1 */
  const char* recommendation;
  const char* reason; /* one or more sentences for people */
  const struct ls_contribution* contributions;
  size_t contribution_count;
  const char* intent; /* optional ("High", "Medium", "Low", ...); NULL when none */
  /* Optional: a JSON object text kept with the analysis for audit, NULL when none. The LLM
   * plugin gives {"prompt_version", "model", "tokens_in", "tokens_out", "tries", "latency_ms",
   * "raw"} (raw: the first 4 KiB of the upstream's answer). Read after LS_OK and also after
   * LS_ERROR (a failed run is kept with its audit too). At most 16 KiB; a text that is longer
   * or not a JSON object is replaced by {"invalid_audit": "<why>"}. It must never hold a secret
   * (an API key): it is stored and shown to every reader of the lead's history. */
  const char* audit_json;
};

/* An instance of a plugin: one configured scorer. Opaque to the engine. */
typedef struct ls_instance ls_instance;

/* Flags of a plugin (ls_plugin.flags). */
/* A run may wait on the network for seconds (an LLM): the engine runs this plugin's score() on
 * a bounded pool of its own, apart from the threads that serve requests, and a full pool fails
 * the run at once (the scorer's fallback answers). */
#define LS_PLUGIN_SLOW 1u

/* Return values of score(), self_test() and trace(). */
#define LS_OK 0
#define LS_ERROR 1

struct ls_plugin {
  uint32_t abi_version; /* LEADSCORE_PLUGIN_ABI_VERSION the module was built with */
  uint32_t reserved;    /* 0 */
  size_t struct_size;   /* sizeof(struct ls_plugin) of the module */
  const char* name;     /* the plugin's name, e.g. "heuristic" */
  const char* version;  /* the plugin's code version, e.g. "1.0" */

  /* Makes one instance from the scorer's `params` of the config, given as a JSON object text
   * ("{}" when the config gives none). config_dir is the absolute directory of the config file:
   * resolve relative paths in params against it. Returns NULL on failure, with the message in
   * err.
   *
   * Positioned messages: the engine reports a create() failure at the scorer's `params` in the
   * config file. When the message has several lines, each is one problem. A line that starts
   * with "LINE:COLUMN: " (1-based, a position in the params_json text) is reported at the
   * config line of the JSON value or key found there; the engine writes params_json with every
   * key and every scalar on a line of its own, so a parser that reports positions can point at
   * the exact line of the YAML file. */
  ls_instance* (*create)(const char* params_json, const char* config_dir, char* err,
                         size_t err_size);

  /* Scores one lead. Returns LS_OK with *out filled, or LS_ERROR with the message in err (the
   * run fails; the scorer's fallback, if any, answers). May run concurrently on one instance
   * (see Threading above). */
  int (*score)(ls_instance* instance, const struct ls_features* features, struct ls_result* out,
               char* err, size_t err_size);

  /* Frees the instance. */
  void (*destroy)(ls_instance* instance);

  /* The version stored with every analysis of this instance, valid until destroy(): for
   * example the plugin version plus a hash of its params or rule files, so that a change of
   * weights or rules shows in the history. May be NULL (the table's `version` is used). */
  const char* (*instance_version)(const ls_instance* instance);

  /* Optional (NULL when the plugin has none; the engine then has nothing to run, which is
   * neither a pass nor a failure): tests the instance with the plugin's own tests before it
   * serves, through the very code that will score (the Lua plugin runs the rule tests of the
   * instance's configured script). A reload swaps the new scorers in only when every instance
   * that has a self_test passed it.
   *
   * Returns LS_OK when every test passed, LS_ERROR when one failed or could not run. Either
   * way *report is set to a JSON object text, or to NULL with a message in err when no report
   * could be made. The report belongs to the instance and stays valid until the next
   * self_test() or trace() call on it, or destroy(). Its members:
   *   "passed":   true or false, as the return value says
   *   "problems": a list of {"file": text, "line": integer (0: unknown), "message": text},
   *               one for each test that failed or could not run; the engine reports each at
   *               its file and line (a problem without a file at the scorer's params)
   * and any others the plugin gives (the Lua plugin: every case and its outcome).
   *
   * Called from one thread at a time, never concurrently with trace() or destroy(); score()
   * may run on other threads meanwhile. */
  int (*self_test)(ls_instance* instance, const char** report, char* err, size_t err_size);

  /* Optional (NULL when the plugin has none): scores one lead and explains how, for people
   * (`leadscore rules trace`). Returns LS_OK with *report set to a JSON object text of the
   * plugin's own shape, or LS_ERROR with a message in err. Ownership and threading as for
   * self_test(). */
  int (*trace)(ls_instance* instance, const struct ls_features* features, const char** report,
               char* err, size_t err_size);

  /* LS_PLUGIN_* flags, 0 for none. */
  uint32_t flags;
};

/* The one exported symbol. Returns the same static table on every call. */
typedef const struct ls_plugin* (*ls_plugin_entry)(void);
LEADSCORE_PLUGIN_EXPORT const struct ls_plugin* leadscore_plugin(void);

#ifdef __cplusplus
}
#endif

#endif /* LEADSCORE_PLUGIN_H */
