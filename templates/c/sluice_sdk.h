// sluice_sdk.h: helpers for sluice plugins written in C. `sluice build`
// writes this file and `sluice_world.h` (which includes the bindings of
// the plugin's world and names its string type) next to the generated
// bindings. Every string a plugin returns must come from malloc: use
// sluice_dup; the bindings free returned values after each call.
#ifndef SLUICE_SDK_H
#define SLUICE_SDK_H

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "sluice_world.h"

typedef sluice_plugin_types_column_t sluice_column_t;
typedef sluice_plugin_types_table_t sluice_table_t;
typedef sluice_plugin_types_param_t sluice_param_t;
typedef sluice_plugin_types_param_spec_t sluice_param_spec_t;
typedef sluice_plugin_types_step_error_t sluice_error_t;

static inline sluice_string_t sluice_dup(const char *s) {
  sluice_string_t out;
  SLUICE_STRING_DUP(&out, s);
  return out;
}

// Fill `err` with a formatted message and return false.
static inline bool sluice_fail(sluice_error_t *err, uint8_t kind, const char *fmt, ...) {
  char msg[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  err->kind = kind;
  err->message = sluice_dup(msg);
  return false;
}

static inline bool sluice_name_is(const sluice_string_t *s, const char *name) {
  return s->len == strlen(name) && memcmp(s->ptr, name, s->len) == 0;
}

// A param spec with a default of its kind (number, integer or flag).
static inline sluice_param_spec_t sluice_spec(const char *name, uint8_t tag, double value, const char *doc) {
  static const char *kinds[] = {"number", "integer", "flag", "text", "numbers"};
  sluice_param_spec_t s;
  memset(&s, 0, sizeof s);
  s.name = sluice_dup(name);
  s.kind = sluice_dup(kinds[tag]);
  s.doc = sluice_dup(doc);
  s.default_.is_some = true;
  s.default_.val.tag = tag;
  if (tag == SLUICE_PLUGIN_TYPES_PARAM_VALUE_NUMBER) s.default_.val.val.number = value;
  if (tag == SLUICE_PLUGIN_TYPES_PARAM_VALUE_INTEGER) s.default_.val.val.integer = (int64_t)value;
  if (tag == SLUICE_PLUGIN_TYPES_PARAM_VALUE_FLAG) s.default_.val.val.flag = value != 0.0;
  return s;
}

// Allow only values from `min` to `max`, both included (NAN: no bound on
// that side). The host checks pipelines against it before they run, and
// sluice_resolve checks it again.
static inline void sluice_spec_range(sluice_param_spec_t *s, double min, double max) {
  s->range.is_some = true;
  s->range.val.min.is_some = !isnan(min);
  s->range.val.min.val = min;
  s->range.val.max.is_some = !isnan(max);
  s->range.val.max.val = max;
  s->range.val.min_inclusive = true;
  s->range.val.max_inclusive = true;
}

// Declare the metrics a plugin reports in its describe(), e.g.
// SLUICE_METRICS(ret, "rows", "columns"); without it, set
// ret->metrics.len = 0 (the host then cannot check gates against them).
#define SLUICE_METRICS(info, ...)                                                \
  do {                                                                           \
    const char *names_[] = {__VA_ARGS__};                                        \
    size_t n_ = sizeof names_ / sizeof *names_;                                  \
    (info)->metrics.len = n_;                                                    \
    (info)->metrics.ptr = calloc(n_, sizeof *(info)->metrics.ptr);               \
    for (size_t i_ = 0; i_ < n_; i_++) (info)->metrics.ptr[i_] = sluice_dup(names_[i_]); \
  } while (0)

// Resolve number, integer and flag params against `specs` into `values`
// (defaults first); unknown names, wrong kinds and numbers outside a
// spec's range are invalid-params.
static inline bool sluice_resolve(const sluice_param_spec_t *specs, size_t n, const sluice_param_t *params,
                                  size_t len, double *values, sluice_error_t *err) {
  for (size_t k = 0; k < n; k++) {
    const sluice_plugin_types_param_value_t *d = &specs[k].default_.val;
    values[k] = d->tag == SLUICE_PLUGIN_TYPES_PARAM_VALUE_NUMBER    ? d->val.number
                : d->tag == SLUICE_PLUGIN_TYPES_PARAM_VALUE_INTEGER ? (double)d->val.integer
                                                                     : (double)d->val.flag;
  }
  for (size_t i = 0; i < len; i++) {
    const sluice_param_t *p = &params[i];
    size_t k = 0;
    while (k < n && !(p->name.len == specs[k].name.len && memcmp(p->name.ptr, specs[k].name.ptr, p->name.len) == 0))
      k++;
    if (k == n)
      return sluice_fail(err, SLUICE_PLUGIN_TYPES_ERROR_KIND_INVALID_PARAMS, "unknown param '%.*s'",
                         (int)p->name.len, p->name.ptr);
    if (p->value.tag != specs[k].default_.val.tag)
      return sluice_fail(err, SLUICE_PLUGIN_TYPES_ERROR_KIND_INVALID_PARAMS, "param '%.*s' must be a %.*s",
                         (int)p->name.len, p->name.ptr, (int)specs[k].kind.len, specs[k].kind.ptr);
    values[k] = p->value.tag == SLUICE_PLUGIN_TYPES_PARAM_VALUE_NUMBER    ? p->value.val.number
                : p->value.tag == SLUICE_PLUGIN_TYPES_PARAM_VALUE_INTEGER ? (double)p->value.val.integer
                                                                           : (double)p->value.val.flag;
    const sluice_plugin_types_number_range_t *r = &specs[k].range.val;
    double x = values[k];
    if (specs[k].range.is_some &&
        (isnan(x) || (r->min.is_some && (r->min_inclusive ? x < r->min.val : x <= r->min.val)) ||
         (r->max.is_some && (r->max_inclusive ? x > r->max.val : x >= r->max.val))))
      return sluice_fail(err, SLUICE_PLUGIN_TYPES_ERROR_KIND_INVALID_PARAMS, "param '%.*s' is %g, outside its range",
                         (int)p->name.len, p->name.ptr, x);
  }
  return true;
}

static inline bool sluice_is_numeric(const sluice_column_t *c) {
  return c->values.tag == SLUICE_PLUGIN_TYPES_VALUES_F64S || c->values.tag == SLUICE_PLUGIN_TYPES_VALUES_I64S;
}

static inline size_t sluice_column_len(const sluice_column_t *c) {
  switch (c->values.tag) {
    case SLUICE_PLUGIN_TYPES_VALUES_F64S: return c->values.val.f64s.len;
    case SLUICE_PLUGIN_TYPES_VALUES_I64S: return c->values.val.i64s.len;
    case SLUICE_PLUGIN_TYPES_VALUES_BOOLS: return c->values.val.bools.len;
    default: return c->values.val.strings.len;
  }
}

static inline size_t sluice_num_rows(const sluice_table_t *t) {
  return t->columns.len ? sluice_column_len(&t->columns.ptr[0]) : 0;
}

// Row i of a numeric column as a double; NAN when null.
static inline double sluice_value(const sluice_column_t *c, size_t i) {
  if (c->valid.is_some && !c->valid.val.ptr[i]) return NAN;
  return c->values.tag == SLUICE_PLUGIN_TYPES_VALUES_F64S ? c->values.val.f64s.ptr[i]
                                                        : (double)c->values.val.i64s.ptr[i];
}

// The mean of the non-null values of a numeric column (0 when none).
static inline double sluice_mean(const sluice_column_t *c) {
  double sum = 0.0;
  size_t m = 0, n = sluice_column_len(c);
  for (size_t i = 0; i < n; i++) {
    double x = sluice_value(c, i);
    if (!isnan(x)) sum += x, m++;
  }
  return m ? sum / (double)m : 0.0;
}

// A growable byte buffer for fitted states and models.
typedef struct {
  uint8_t *ptr;
  size_t len, cap;
} sluice_bytes_t;

static inline void sluice_put(sluice_bytes_t *b, const void *p, size_t n) {
  if (b->len + n > b->cap) {
    b->cap = (b->len + n) * 2;
    b->ptr = realloc(b->ptr, b->cap);
  }
  memcpy(b->ptr + b->len, p, n);
  b->len += n;
}

// Write a name as a u32 length and its bytes.
static inline void sluice_put_name(sluice_bytes_t *b, const sluice_string_t *s) {
  uint32_t n = (uint32_t)s->len;
  sluice_put(b, &n, 4);
  sluice_put(b, s->ptr, n);
}

// Read `n` bytes at *at; false when the buffer is too short.
static inline bool sluice_get(const uint8_t *buf, size_t len, size_t *at, void *out, size_t n) {
  if (n > len - *at) return false;
  memcpy(out, buf + *at, n);
  *at += n;
  return true;
}

#endif
