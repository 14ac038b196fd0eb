// {{name}}: a sluice trainer in JavaScript, the mean baseline. `train`
// learns the mean of a numeric target; `predict` returns it (plus
// `offset`) for every row as `prediction`. Helpers from sluice_sdk.

const NAME = '{{name}}';
const PARAMS = [param('offset', 'number', 0.0, 'added to every prediction')];

function checkFeatures(table, names) {
  for (const n of names) {
    const col = table.columns.find((c) => c.name === n);
    if (!col) fail('invalid-input', `${NAME}: feature column '${n}' is missing`);
    numbers(col, NAME);
  }
}

export function describe() {
  return { name: NAME, version: '0.1.0', kind: 'trainer', doc: 'Predicts the mean of the target.', params: PARAMS, metrics: ['mean'] };
}

export function train(features, target, params) {
  const p = resolveParams(PARAMS, params);
  const names = features.columns.map((c) => c.name);
  checkFeatures(features, names);
  const ys = numbers(target, NAME).filter((y, i) => !target.valid || target.valid[i]);
  if (!ys.length) fail('invalid-input', `${NAME}: target '${target.name}' has no values`);
  const mean = ys.reduce((a, b) => a + b, 0) / ys.length + p.offset;
  return { model: dumpState({ features: names, mean }), metrics: [{ name: 'mean', value: mean }] };
}

export function predict(model, features) {
  const m = loadState(model, NAME);
  if (!m || typeof m.mean !== 'number') fail('invalid-input', `${NAME}: not a model of this plugin`);
  checkFeatures(features, m.features);
  const out = new Float64Array(numRows(features)).fill(m.mean);
  return { columns: [{ name: 'prediction', values: { tag: 'f64s', val: out }, valid: undefined }] };
}
