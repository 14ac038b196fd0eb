// {{name}}: a sluice transform in C. `fit` learns the mean of every numeric
// column; `apply` returns (x - mean) * scale for those columns and passes
// the others through. State: scale (f64), then per column its name and
// mean. Build with `sluice build .`.
#include "sluice_sdk.h"

static const size_t NPARAMS = 1;

static sluice_param_spec_t *specs(void) {
  sluice_param_spec_t *s = calloc(NPARAMS, sizeof *s);
  s[0] = sluice_spec("scale", SLUICE_PLUGIN_TYPES_PARAM_VALUE_NUMBER, 1.0, "factor applied after centering");
  return s;
}

void exports_transform_describe(transform_plugin_info_t *ret) {
  ret->name = sluice_dup("{{name}}");
  ret->version = sluice_dup("0.1.0");
  ret->kind = SLUICE_PLUGIN_TYPES_STEP_KIND_TRANSFORM;
  ret->doc = sluice_dup("Centers numeric columns on their mean.");
  ret->params.ptr = specs();
  ret->params.len = NPARAMS;
  ret->metrics.len = 0; // a transform reports no metric
  ret->metrics.ptr = NULL;
}

bool exports_transform_fit(transform_table_t *data, transform_list_param_t *params, transform_list_u8_t *ret,
                           transform_step_error_t *err) {
  double p[1];
  if (!sluice_resolve(specs(), NPARAMS, params->ptr, params->len, p, err)) return false;
  sluice_bytes_t b = {0};
  sluice_put(&b, &p[0], 8);
  for (size_t c = 0; c < data->columns.len; c++) {
    sluice_column_t *col = &data->columns.ptr[c];
    if (!sluice_is_numeric(col)) continue;
    double m = sluice_mean(col);
    sluice_put_name(&b, &col->name);
    sluice_put(&b, &m, 8);
  }
  ret->ptr = b.ptr;
  ret->len = b.len;
  return true;
}

bool exports_transform_apply(transform_list_u8_t *state, transform_table_t *data, transform_table_t *ret,
                             transform_step_error_t *err) {
  double scale;
  size_t start = 0;
  if (!sluice_get(state->ptr, state->len, &start, &scale, 8))
    return sluice_fail(err, SLUICE_PLUGIN_TYPES_ERROR_KIND_INVALID_INPUT, "{{name}}: the state is too short");
  for (size_t c = 0; c < data->columns.len; c++) {
    sluice_column_t *col = &data->columns.ptr[c];
    size_t at = start;
    bool found = false;
    double mean = 0.0;
    while (at < state->len && !found) {
      uint32_t n;
      if (!sluice_get(state->ptr, state->len, &at, &n, 4) || n > state->len - at || state->len - at - n < 8)
        return sluice_fail(err, SLUICE_PLUGIN_TYPES_ERROR_KIND_INVALID_INPUT, "{{name}}: the state is not one this plugin wrote");
      found = n == col->name.len && memcmp(state->ptr + at, col->name.ptr, n) == 0;
      at += n;
      sluice_get(state->ptr, state->len, &at, &mean, 8);
    }
    if (!found) continue;
    if (!sluice_is_numeric(col))
      return sluice_fail(err, SLUICE_PLUGIN_TYPES_ERROR_KIND_INVALID_INPUT, "{{name}}: column '%.*s' must be numeric",
                         (int)col->name.len, col->name.ptr);
    size_t rows = sluice_column_len(col);
    double *out = malloc((rows ? rows : 1) * sizeof(double));
    for (size_t i = 0; i < rows; i++) {
      double x = sluice_value(col, i);
      out[i] = isnan(x) ? 0.0 : (x - mean) * scale;
    }
    col->values.tag = SLUICE_PLUGIN_TYPES_VALUES_F64S;
    col->values.val.f64s.ptr = out;
    col->values.val.f64s.len = rows;
  }
  *ret = *data;
  return true;
}
