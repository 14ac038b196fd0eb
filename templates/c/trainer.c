// {{name}}: a sluice trainer in C, the mean baseline. `train` learns the
// mean of a numeric target; `predict` returns it (plus `offset`) for every
// row as `prediction`. Model: the mean (f64), then the feature names.
// Build with `sluice build .`.
#include "sluice_sdk.h"

static const size_t NPARAMS = 1;

static sluice_param_spec_t *specs(void) {
  sluice_param_spec_t *s = calloc(NPARAMS, sizeof *s);
  s[0] = sluice_spec("offset", SLUICE_PLUGIN_TYPES_PARAM_VALUE_NUMBER, 0.0, "added to every prediction");
  return s;
}

void exports_trainer_describe(trainer_plugin_info_t *ret) {
  ret->name = sluice_dup("{{name}}");
  ret->version = sluice_dup("0.1.0");
  ret->kind = SLUICE_PLUGIN_TYPES_STEP_KIND_TRAINER;
  ret->doc = sluice_dup("Predicts the mean of the target.");
  ret->params.ptr = specs();
  ret->params.len = NPARAMS;
  SLUICE_METRICS(ret, "mean");
}

bool exports_trainer_train(trainer_table_t *features, trainer_column_t *target, trainer_list_param_t *params,
                           trainer_trained_t *ret, trainer_step_error_t *err) {
  double p[1];
  if (!sluice_resolve(specs(), NPARAMS, params->ptr, params->len, p, err)) return false;
  for (size_t c = 0; c < features->columns.len; c++)
    if (!sluice_is_numeric(&features->columns.ptr[c]))
      return sluice_fail(err, SLUICE_PLUGIN_TYPES_ERROR_KIND_INVALID_INPUT, "{{name}}: feature '%.*s' must be numeric",
                         (int)features->columns.ptr[c].name.len, features->columns.ptr[c].name.ptr);
  if (!sluice_is_numeric(target) || sluice_column_len(target) == 0)
    return sluice_fail(err, SLUICE_PLUGIN_TYPES_ERROR_KIND_INVALID_INPUT, "{{name}}: the target must be numeric with rows");
  double mean = sluice_mean(target) + p[0];
  sluice_bytes_t b = {0};
  sluice_put(&b, &mean, 8);
  for (size_t c = 0; c < features->columns.len; c++) sluice_put_name(&b, &features->columns.ptr[c].name);
  ret->model.ptr = b.ptr;
  ret->model.len = b.len;
  ret->metrics.len = 1;
  ret->metrics.ptr = calloc(1, sizeof *ret->metrics.ptr);
  ret->metrics.ptr[0].name = sluice_dup("mean");
  ret->metrics.ptr[0].value = mean;
  return true;
}

bool exports_trainer_predict(trainer_list_u8_t *model, trainer_table_t *features, trainer_table_t *ret,
                             trainer_step_error_t *err) {
  double mean;
  size_t at = 0;
  if (!sluice_get(model->ptr, model->len, &at, &mean, 8))
    return sluice_fail(err, SLUICE_PLUGIN_TYPES_ERROR_KIND_INVALID_INPUT, "{{name}}: not a model of this plugin");
  while (at < model->len) {
    uint32_t n;
    if (!sluice_get(model->ptr, model->len, &at, &n, 4) || n > model->len - at)
      return sluice_fail(err, SLUICE_PLUGIN_TYPES_ERROR_KIND_INVALID_INPUT, "{{name}}: not a model of this plugin");
    size_t c = 0;
    while (c < features->columns.len &&
           !(features->columns.ptr[c].name.len == n && memcmp(features->columns.ptr[c].name.ptr, model->ptr + at, n) == 0))
      c++;
    if (c == features->columns.len || !sluice_is_numeric(&features->columns.ptr[c]))
      return sluice_fail(err, SLUICE_PLUGIN_TYPES_ERROR_KIND_INVALID_INPUT, "{{name}}: feature '%.*s' is missing or not numeric",
                         (int)n, model->ptr + at);
    at += n;
  }
  size_t rows = sluice_num_rows(features);
  double *out = malloc((rows ? rows : 1) * sizeof(double));
  for (size_t i = 0; i < rows; i++) out[i] = mean;
  ret->columns.len = 1;
  ret->columns.ptr = calloc(1, sizeof(sluice_column_t));
  ret->columns.ptr[0].name = sluice_dup("prediction");
  ret->columns.ptr[0].values.tag = SLUICE_PLUGIN_TYPES_VALUES_F64S;
  ret->columns.ptr[0].values.val.f64s.ptr = out;
  ret->columns.ptr[0].values.val.f64s.len = rows;
  return true;
}
