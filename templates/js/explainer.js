// {{name}}: a sluice explainer in JavaScript. Scores every numeric feature
// by its variance (normalized to sum to 1 when `normalize`). A real
// explainer would call the model: `import { predict } from
// 'sluice:plugin/model@0.1.0'`. Helpers from sluice_sdk.

const NAME = '{{name}}';
const PARAMS = [param('normalize', 'flag', true, 'scale the scores to sum to 1')];

export function describe() {
  return { name: NAME, version: '0.1.0', kind: 'explainer', doc: 'Feature variance as importance.', params: PARAMS, metrics: ['features'] };
}

export function explain(features, target, params) {
  const p = resolveParams(PARAMS, params);
  const scores = [];
  for (const col of features.columns) {
    if (col.values.tag !== 'f64s' && col.values.tag !== 'i64s') continue;
    const xs = numbers(col, NAME).filter((x, i) => !col.valid || col.valid[i]);
    const mean = xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 0;
    const v = xs.length ? xs.reduce((a, x) => a + (x - mean) ** 2, 0) / xs.length : 0;
    scores.push({ feature: col.name, score: v });
  }
  const total = scores.reduce((a, s) => a + s.score, 0);
  if (p.normalize && total > 0 && Number.isFinite(total)) for (const s of scores) s.score /= total;
  return { global: scores, metrics: [{ name: 'features', value: scores.length }] };
}
