//! Which coalitions (feature subsets) Kernel SHAP evaluates and their
//! kernel weights, chosen as SHAP's `KernelExplainer` does: whole subset
//! sizes while the budget allows, then a seeded sample. Not for running
//! the model or solving for the values: [`crate::kernel_shap`] and
//! [`crate::solve`].

use std::collections::HashMap;

use crate::SplitMix64;

/// The binomial coefficient as f64.
pub fn binom(n: usize, k: usize) -> f64 {
    (0..k).fold(1.0, |acc, i| acc * (n - i) as f64 / (i + 1) as f64)
}

/// The coalitions to evaluate (masks over the `m` features) and their
/// kernel weights, chosen as SHAP's `KernelExplainer` does.
#[derive(Debug, Clone, PartialEq)]
pub struct Coalitions {
    pub masks: Vec<Vec<bool>>,
    pub weights: Vec<f64>,
}

/// SHAP's coalition plan for `m >= 2` features and a budget of `nsamples`
/// coalitions (clipped to `2^m - 2`).
pub fn coalitions(m: usize, nsamples: usize, rng: &mut SplitMix64) -> Coalitions {
    let max_samples = if m <= 30 { (1usize << m) - 2 } else { 1 << 30 };
    let nsamples = nsamples.min(max_samples);
    // ceil((m - 1) / 2) sizes, the first floor((m - 1) / 2) paired with
    // their complements.
    let num_subset_sizes = (m - 1).div_ceil(2);
    let num_paired = (m - 1) / 2;
    let mut weight_vector: Vec<f64> = (1..=num_subset_sizes)
        .map(|i| (m as f64 - 1.0) / (i as f64 * (m - i) as f64))
        .collect();
    for w in weight_vector.iter_mut().take(num_paired) {
        *w *= 2.0;
    }
    let total: f64 = weight_vector.iter().sum();
    weight_vector.iter_mut().for_each(|w| *w /= total);

    let mut plan = Coalitions {
        masks: Vec::new(),
        weights: Vec::new(),
    };
    let mut num_full = 0;
    let mut samples_left = nsamples as f64;
    let mut remaining = weight_vector.clone();
    for size in 1..=num_subset_sizes {
        let paired = size <= num_paired;
        let mut nsubsets = binom(m, size);
        if paired {
            nsubsets *= 2.0;
        }
        if samples_left * remaining[size - 1] / nsubsets < 1.0 - 1e-8 {
            break;
        }
        num_full += 1;
        samples_left -= nsubsets;
        if remaining[size - 1] < 1.0 {
            let scale = 1.0 - remaining[size - 1];
            remaining.iter_mut().for_each(|w| *w /= scale);
        }
        let mut w = weight_vector[size - 1] / binom(m, size);
        if paired {
            w /= 2.0;
        }
        for_each_combination(m, size, |inds| {
            let mut mask = vec![false; m];
            inds.iter().for_each(|&i| mask[i] = true);
            let complement: Vec<bool> = mask.iter().map(|b| !b).collect();
            plan.masks.push(mask);
            plan.weights.push(w);
            if paired {
                plan.masks.push(complement);
                plan.weights.push(w);
            }
        });
    }

    let nfixed = plan.masks.len();
    let mut left = nsamples.saturating_sub(nfixed);
    if num_full != num_subset_sizes && left > 0 {
        let mut rest = weight_vector.clone();
        for w in rest.iter_mut().take(num_paired) {
            *w /= 2.0;
        }
        let rest = &rest[num_full..];
        let rest_total: f64 = rest.iter().sum();
        let mut used: HashMap<Vec<bool>, usize> = HashMap::new();
        let mut draws = 4 * left;
        while left > 0 && draws > 0 {
            draws -= 1;
            let mut u = rng.next_f64() * rest_total;
            let mut ind = rest.len() - 1;
            for (i, &w) in rest.iter().enumerate() {
                if u < w {
                    ind = i;
                    break;
                }
                u -= w;
            }
            let size = ind + num_full + 1;
            let mut mask = vec![false; m];
            rng.sample(m, size).into_iter().for_each(|i| mask[i] = true);
            let paired = size <= num_paired;
            match used.get(&mask) {
                None => {
                    used.insert(mask.clone(), plan.masks.len());
                    left -= 1;
                    let complement: Vec<bool> = mask.iter().map(|b| !b).collect();
                    plan.masks.push(mask);
                    plan.weights.push(1.0);
                    if left > 0 && paired {
                        left -= 1;
                        plan.masks.push(complement);
                        plan.weights.push(1.0);
                    }
                }
                Some(&at) => {
                    plan.weights[at] += 1.0;
                    if left > 0 && paired && at + 1 < plan.weights.len() {
                        plan.weights[at + 1] += 1.0;
                    }
                }
            }
        }
        let weight_left: f64 = weight_vector[num_full..].iter().sum();
        let sampled: f64 = plan.weights[nfixed..].iter().sum();
        if sampled > 0.0 {
            plan.weights[nfixed..]
                .iter_mut()
                .for_each(|w| *w *= weight_left / sampled);
        }
    }
    plan
}

/// Calls `f` with every `k`-subset of `0..n`, in lexicographic order.
fn for_each_combination(n: usize, k: usize, mut f: impl FnMut(&[usize])) {
    let mut inds: Vec<usize> = (0..k).collect();
    if k > n {
        return;
    }
    loop {
        f(&inds);
        let Some(i) = (0..k).rev().find(|&i| inds[i] != i + n - k) else {
            return;
        };
        inds[i] += 1;
        for j in i + 1..k {
            inds[j] = inds[j - 1] + 1;
        }
    }
}
