// c-robust-scale: a sluice transform in C, scikit-learn's RobustScaler.
//
// `fit` learns, for every numeric column (f64 or i64), the median and the
// interquartile range (25th to 75th percentile, linear interpolation, nulls
// ignored; a zero range scales by 1). `apply` returns (x - median) / iqr as
// f64 for those columns and passes the others through; nulls stay nulls.
// Params: `with_centering` (flag, true), `with_scaling` (flag, true),
// `columns` (text, ""): comma-separated columns to scale, in that order
// (blank entries skipped; a name given twice is invalid params, a missing
// or non-numeric column invalid input); "" scales every numeric column.
//
// Memory: whatever an export returns must come from malloc (the bindings
// free it after the call), and every call runs in a fresh instance.

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <stdio.h>
#include "transform.h"

typedef sluice_plugin_types_column_t column_t;

static bool fail(transform_step_error_t *err, uint8_t kind, const char *message) {
  err->kind = kind;
  transform_string_dup(&err->message, message);
  return false;
}

static bool name_is(const transform_string_t *s, const char *name) {
  return s->len == strlen(name) && memcmp(s->ptr, name, s->len) == 0;
}

static bool is_numeric(const column_t *c) {
  return c->values.tag == SLUICE_PLUGIN_TYPES_VALUES_F64S || c->values.tag == SLUICE_PLUGIN_TYPES_VALUES_I64S;
}

static size_t column_len(const column_t *c) {
  switch (c->values.tag) {
    case SLUICE_PLUGIN_TYPES_VALUES_F64S: return c->values.val.f64s.len;
    case SLUICE_PLUGIN_TYPES_VALUES_I64S: return c->values.val.i64s.len;
    case SLUICE_PLUGIN_TYPES_VALUES_BOOLS: return c->values.val.bools.len;
    default: return c->values.val.strings.len;
  }
}

static double value_at(const column_t *c, size_t i) {
  if (c->valid.is_some && !c->valid.val.ptr[i]) return NAN;
  return c->values.tag == SLUICE_PLUGIN_TYPES_VALUES_F64S ? c->values.val.f64s.ptr[i]
                                                        : (double)c->values.val.i64s.ptr[i];
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static double quantile(const double *sorted, size_t n, double q) {
  double pos = q * (double)(n - 1);
  size_t lo = (size_t)floor(pos);
  size_t hi = lo + 1 < n ? lo + 1 : n - 1;
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - (double)lo);
}

static void spec(sluice_plugin_types_param_spec_t *s, const char *name, const char *doc) {
  transform_string_dup(&s->name, name);
  transform_string_dup(&s->kind, "flag");
  s->default_.is_some = true;
  s->default_.val.tag = SLUICE_PLUGIN_TYPES_PARAM_VALUE_FLAG;
  s->default_.val.val.flag = true;
  transform_string_dup(&s->doc, doc);
}

static void text_spec(sluice_plugin_types_param_spec_t *s, const char *name, const char *doc) {
  transform_string_dup(&s->name, name);
  transform_string_dup(&s->kind, "text");
  s->default_.is_some = true;
  s->default_.val.tag = SLUICE_PLUGIN_TYPES_PARAM_VALUE_TEXT;
  transform_string_dup(&s->default_.val.val.text, "");
  transform_string_dup(&s->doc, doc);
}

void exports_transform_describe(transform_plugin_info_t *ret) {
  transform_string_dup(&ret->name, "c-robust-scale");
  transform_string_dup(&ret->version, "0.1.0");
  ret->kind = SLUICE_PLUGIN_TYPES_STEP_KIND_TRANSFORM;
  transform_string_dup(&ret->doc, "Scales numeric columns by median and interquartile range (C).");
  ret->params.len = 3;
  ret->params.ptr = calloc(3, sizeof(sluice_plugin_types_param_spec_t));
  spec(&ret->params.ptr[0], "with_centering", "subtract the median");
  spec(&ret->params.ptr[1], "with_scaling", "divide by the interquartile range");
  text_spec(&ret->params.ptr[2], "columns", "comma-separated columns to scale; empty scales every numeric column");
  ret->metrics.len = 0; // a transform reports no metric
  ret->metrics.ptr = NULL;
}

// One name of the `columns` param: a slice of the param's text.
typedef struct {
  const uint8_t *ptr;
  size_t len;
} name_t;

static bool same_name(name_t a, const transform_string_t *b) {
  return a.len == b->len && memcmp(a.ptr, b->ptr, a.len) == 0;
}

// Split `text` at commas, trimming spaces and skipping blank entries, into
// `names` (room for text->len / 2 + 1); false (with `err` set) for a name
// given twice.
static bool parse_names(const transform_string_t *text, name_t *names, size_t *count,
                        transform_step_error_t *err) {
  size_t start = 0;
  *count = 0;
  while (start <= text->len) {
    size_t end = start;
    while (end < text->len && text->ptr[end] != ',') end++;
    size_t a = start, b = end;
    while (a < b && (text->ptr[a] == ' ' || text->ptr[a] == '\t')) a++;
    while (b > a && (text->ptr[b - 1] == ' ' || text->ptr[b - 1] == '\t')) b--;
    if (b > a) {
      name_t n = {text->ptr + a, b - a};
      for (size_t k = 0; k < *count; k++) {
        if (names[k].len == n.len && memcmp(names[k].ptr, n.ptr, n.len) == 0) {
          char msg[300];
          snprintf(msg, sizeof msg, "param 'columns' names column '%.*s' twice", (int)n.len, (const char *)n.ptr);
          return fail(err, SLUICE_PLUGIN_TYPES_ERROR_KIND_INVALID_PARAMS, msg);
        }
      }
      names[(*count)++] = n;
    }
    start = end + 1;
  }
  return true;
}

// The columns to scale, by index into `data`, in `order` (room for the
// listed names, or every column): the listed ones, or every numeric
// column when none is listed; false (with `err` set) for a listed column
// that is missing or not numeric.
static bool chosen_columns(const transform_table_t *data, const name_t *names, size_t count,
                           size_t *order, size_t *chosen, transform_step_error_t *err) {
  *chosen = 0;
  if (count == 0) {
    for (size_t c = 0; c < data->columns.len; c++)
      if (is_numeric(&data->columns.ptr[c])) order[(*chosen)++] = c;
    return true;
  }
  for (size_t k = 0; k < count; k++) {
    size_t c = 0;
    while (c < data->columns.len && !same_name(names[k], &data->columns.ptr[c].name)) c++;
    char msg[600];
    if (c == data->columns.len) {
      int at = snprintf(msg, sizeof msg, "no column '%.*s'; columns: ", (int)names[k].len, (const char *)names[k].ptr);
      for (size_t j = 0; j < data->columns.len && at > 0 && (size_t)at < sizeof msg; j++) {
        const transform_string_t *n = &data->columns.ptr[j].name;
        at += snprintf(msg + at, sizeof msg - (size_t)at, "%s%.*s", j ? ", " : "", (int)n->len, (const char *)n->ptr);
      }
      return fail(err, SLUICE_PLUGIN_TYPES_ERROR_KIND_INVALID_INPUT, msg);
    }
    if (!is_numeric(&data->columns.ptr[c])) {
      const char *kind = data->columns.ptr[c].values.tag == SLUICE_PLUGIN_TYPES_VALUES_BOOLS ? "bool" : "string";
      snprintf(msg, sizeof msg, "column '%.*s' is %s, c-robust-scale needs f64 or i64",
               (int)names[k].len, (const char *)names[k].ptr, kind);
      return fail(err, SLUICE_PLUGIN_TYPES_ERROR_KIND_INVALID_INPUT, msg);
    }
    order[(*chosen)++] = c;
  }
  return true;
}

// The state: a count, then per column its name (length, bytes), median and scale.
typedef struct {
  uint8_t *buf;
  size_t len, cap;
} writer_t;

static void put(writer_t *w, const void *p, size_t n) {
  if (w->len + n > w->cap) {
    w->cap = (w->len + n) * 2;
    w->buf = realloc(w->buf, w->cap);
  }
  memcpy(w->buf + w->len, p, n);
  w->len += n;
}

bool exports_transform_fit(transform_table_t *data, transform_list_param_t *params,
                           transform_list_u8_t *ret, transform_step_error_t *err) {
  bool centering = true, scaling = true;
  const transform_string_t *columns = NULL;
  for (size_t i = 0; i < params->len; i++) {
    transform_param_t *p = &params->ptr[i];
    char msg[200];
    if (name_is(&p->name, "columns")) {
      if (p->value.tag != SLUICE_PLUGIN_TYPES_PARAM_VALUE_TEXT)
        return fail(err, SLUICE_PLUGIN_TYPES_ERROR_KIND_INVALID_PARAMS, "param 'columns' must be a text");
      columns = &p->value.val.text;
      continue;
    }
    bool *target = name_is(&p->name, "with_centering") ? &centering
                   : name_is(&p->name, "with_scaling") ? &scaling : NULL;
    if (!target) {
      snprintf(msg, sizeof msg, "unknown param '%.*s'; known: with_centering, with_scaling, columns", (int)p->name.len, p->name.ptr);
      return fail(err, SLUICE_PLUGIN_TYPES_ERROR_KIND_INVALID_PARAMS, msg);
    }
    if (p->value.tag != SLUICE_PLUGIN_TYPES_PARAM_VALUE_FLAG) {
      snprintf(msg, sizeof msg, "param '%.*s' must be a flag", (int)p->name.len, p->name.ptr);
      return fail(err, SLUICE_PLUGIN_TYPES_ERROR_KIND_INVALID_PARAMS, msg);
    }
    *target = p->value.val.flag;
  }
  size_t listed = 0;
  name_t *names = malloc(((columns ? columns->len : 0) / 2 + 1) * sizeof(name_t));
  if (columns && !parse_names(columns, names, &listed, err)) {
    free(names);
    return false;
  }
  size_t *order = malloc((listed + data->columns.len + 1) * sizeof(size_t)), count = 0;
  bool ok = chosen_columns(data, names, listed, order, &count, err);
  free(names);
  if (!ok) {
    free(order);
    return false;
  }
  writer_t w = {0};
  uint32_t count32 = (uint32_t)count;
  put(&w, &count32, sizeof count32);
  for (size_t k = 0; k < count; k++) {
    column_t *col = &data->columns.ptr[order[k]];
    size_t n = column_len(col), m = 0;
    double *xs = malloc((n ? n : 1) * sizeof(double));
    for (size_t i = 0; i < n; i++) {
      double x = value_at(col, i);
      if (!isnan(x)) xs[m++] = x;
    }
    qsort(xs, m, sizeof(double), cmp_double);
    double median = 0.0, scale = 1.0;
    if (m > 0) {
      if (centering) median = quantile(xs, m, 0.5);
      double iqr = quantile(xs, m, 0.75) - quantile(xs, m, 0.25);
      if (scaling && iqr > 0.0 && isfinite(iqr)) scale = iqr;
    }
    free(xs);
    uint32_t len = (uint32_t)col->name.len;
    put(&w, &len, sizeof len);
    put(&w, col->name.ptr, len);
    put(&w, &median, sizeof median);
    put(&w, &scale, sizeof scale);
  }
  free(order);
  ret->ptr = w.buf;
  ret->len = w.len;
  return true;
}

// Find `name` in the state; false when the state is malformed.
static bool lookup(const transform_list_u8_t *state, const transform_string_t *name, bool *found,
                   double *median, double *scale) {
  size_t at = 0;
  uint32_t count;
  *found = false;
  if (state->len < 4) return false;
  memcpy(&count, state->ptr, 4);
  at = 4;
  for (uint32_t k = 0; k < count; k++) {
    uint32_t len;
    if (at + 4 > state->len) return false;
    memcpy(&len, state->ptr + at, 4);
    at += 4;
    if (len > state->len - at || state->len - at - len < 16) return false;
    bool same = len == name->len && memcmp(state->ptr + at, name->ptr, len) == 0;
    at += len;
    if (same) {
      memcpy(median, state->ptr + at, 8);
      memcpy(scale, state->ptr + at + 8, 8);
      *found = true;
    }
    at += 16;
  }
  return at == state->len;
}

bool exports_transform_apply(transform_list_u8_t *state, transform_table_t *data,
                             transform_table_t *ret, transform_step_error_t *err) {
  for (size_t c = 0; c < data->columns.len; c++) {
    column_t *col = &data->columns.ptr[c];
    bool found;
    double median, scale;
    if (!lookup(state, &col->name, &found, &median, &scale))
      return fail(err, SLUICE_PLUGIN_TYPES_ERROR_KIND_INVALID_INPUT, "c-robust-scale: the state is not one this plugin wrote");
    if (!found) continue;
    if (!is_numeric(col)) {
      char msg[200];
      snprintf(msg, sizeof msg, "c-robust-scale: column '%.*s' was numeric at fit and is not now", (int)col->name.len, col->name.ptr);
      return fail(err, SLUICE_PLUGIN_TYPES_ERROR_KIND_INVALID_INPUT, msg);
    }
    size_t n = column_len(col);
    double *out = malloc((n ? n : 1) * sizeof(double));
    for (size_t i = 0; i < n; i++) {
      double x = value_at(col, i);
      out[i] = isnan(x) ? 0.0 : (x - median) / scale;
    }
    // The input's buffers belong to this call now; the old values are
    // replaced in place and the table handed back.
    col->values.tag = SLUICE_PLUGIN_TYPES_VALUES_F64S;
    col->values.val.f64s.ptr = out;
    col->values.val.f64s.len = n;
  }
  *ret = *data;
  return true;
}
