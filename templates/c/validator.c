// {{name}}: a sluice validator in C. Checks the table has at least
// `min_rows` rows; metric `rows`. Build with `sluice build .`.
#include "sluice_sdk.h"

static const size_t NPARAMS = 1;

static sluice_param_spec_t *specs(void) {
  sluice_param_spec_t *s = calloc(NPARAMS, sizeof *s);
  s[0] = sluice_spec("min_rows", SLUICE_PLUGIN_TYPES_PARAM_VALUE_INTEGER, 1, "fewest rows allowed");
  sluice_spec_range(&s[0], 0, NAN);
  return s;
}

void exports_validator_describe(validator_plugin_info_t *ret) {
  ret->name = sluice_dup("{{name}}");
  ret->version = sluice_dup("0.1.0");
  ret->kind = SLUICE_PLUGIN_TYPES_STEP_KIND_VALIDATOR;
  ret->doc = sluice_dup("Checks the row count.");
  ret->params.ptr = specs();
  ret->params.len = NPARAMS;
  SLUICE_METRICS(ret, "rows");
}

bool exports_validator_validate(validator_table_t *data, validator_table_t *maybe_reference,
                                validator_list_param_t *params, validator_validation_report_t *ret,
                                validator_step_error_t *err) {
  double p[1];
  if (!sluice_resolve(specs(), NPARAMS, params->ptr, params->len, p, err)) return false;
  size_t rows = sluice_num_rows(data);
  char detail[100];
  snprintf(detail, sizeof detail, "%zu rows, need %.0f", rows, p[0]);
  ret->checks.len = 1;
  ret->checks.ptr = calloc(1, sizeof *ret->checks.ptr);
  ret->checks.ptr[0].name = sluice_dup("rows");
  ret->checks.ptr[0].passed = (double)rows >= p[0];
  ret->checks.ptr[0].detail = sluice_dup(detail);
  ret->metrics.len = 1;
  ret->metrics.ptr = calloc(1, sizeof *ret->metrics.ptr);
  ret->metrics.ptr[0].name = sluice_dup("rows");
  ret->metrics.ptr[0].value = (double)rows;
  return true;
}
