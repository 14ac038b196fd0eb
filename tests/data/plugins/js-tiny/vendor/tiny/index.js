// tiny: the mean and the sum of squared deviations of an array.
export function mean(xs) {
  return xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN;
}

export function sumSqDev(xs) {
  const m = mean(xs);
  return xs.reduce((a, x) => a + (x - m) * (x - m), 0);
}
