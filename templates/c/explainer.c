// {{name}}: a sluice explainer in C. Scores every numeric feature by its
// variance (normalized to sum to 1 when `normalize`). A real explainer
// would call the model: sluice_plugin_model_predict(). Build with
// `sluice build .`.
#include "sluice_sdk.h"

static const size_t NPARAMS = 1;

static sluice_param_spec_t *specs(void) {
  sluice_param_spec_t *s = calloc(NPARAMS, sizeof *s);
  s[0] = sluice_spec("normalize", SLUICE_PLUGIN_TYPES_PARAM_VALUE_FLAG, 1, "scale the scores to sum to 1");
  return s;
}

void exports_explainer_describe(explainer_plugin_info_t *ret) {
  ret->name = sluice_dup("{{name}}");
  ret->version = sluice_dup("0.1.0");
  ret->kind = SLUICE_PLUGIN_TYPES_STEP_KIND_EXPLAINER;
  ret->doc = sluice_dup("Feature variance as importance.");
  ret->params.ptr = specs();
  ret->params.len = NPARAMS;
  SLUICE_METRICS(ret, "features");
}

bool exports_explainer_explain(explainer_table_t *features, explainer_column_t *maybe_target,
                               explainer_list_param_t *params, explainer_explanation_t *ret,
                               explainer_step_error_t *err) {
  double p[1];
  if (!sluice_resolve(specs(), NPARAMS, params->ptr, params->len, p, err)) return false;
  size_t n = 0;
  ret->global.ptr = calloc(features->columns.len + 1, sizeof *ret->global.ptr);
  double total = 0.0;
  for (size_t c = 0; c < features->columns.len; c++) {
    sluice_column_t *col = &features->columns.ptr[c];
    if (!sluice_is_numeric(col)) continue;
    double mean = sluice_mean(col), sum = 0.0;
    size_t m = 0, rows = sluice_column_len(col);
    for (size_t i = 0; i < rows; i++) {
      double x = sluice_value(col, i);
      if (!isnan(x)) sum += (x - mean) * (x - mean), m++;
    }
    char name[256];
    snprintf(name, sizeof name, "%.*s", (int)col->name.len, col->name.ptr);
    ret->global.ptr[n].feature = sluice_dup(name);
    ret->global.ptr[n].score = m ? sum / (double)m : 0.0;
    total += ret->global.ptr[n].score;
    n++;
  }
  if (p[0] != 0.0 && total > 0.0 && isfinite(total))
    for (size_t k = 0; k < n; k++) ret->global.ptr[k].score /= total;
  ret->global.len = n;
  ret->metrics.len = 1;
  ret->metrics.ptr = calloc(1, sizeof *ret->metrics.ptr);
  ret->metrics.ptr[0].name = sluice_dup("features");
  ret->metrics.ptr[0].value = (double)n;
  return true;
}
