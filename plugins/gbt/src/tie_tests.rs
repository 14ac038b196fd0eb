//! Exactly tied gains follow the documented rule (first feature, then
//! lowest bin; equal-gain leaves in creation order), whatever order the
//! gradients happen to be summed in. Each case's float sums, in the order
//! the histograms add them, differ in the last bit and favoured the other
//! choice before the sums were exact.

use super::*;

fn tie_opts() -> BoostOptions {
    BoostOptions {
        min_samples_leaf: 1,
        ..BoostOptions::default()
    }
}

/// Feature 1 leaves rows 0-2 on the left as feature 0 does, but its bins
/// add their gradients in another order (0.7 + 0.3 + 0.1 instead of
/// 0.1 + 0.7 + 0.3): in plain floats its gain was 1.215 and feature 0's
/// 1.2149999999999996.
#[test]
fn tied_features_go_to_the_first() {
    let bins = vec![vec![0u8, 0, 0, 1, 1, 1], vec![2u8, 0, 1, 3, 4, 5]];
    let grad = [0.1, 0.7, 0.3, -0.7, -0.7, -0.2];
    let hess = [1.0; 6];
    let rows: Vec<usize> = (0..6).collect();
    let split = boost::best_split(&bins, &[2, 6], &grad, &hess, &rows, &tie_opts()).unwrap();
    assert_eq!((split.feature, split.bin), (0, 0));
    // The same partition the other way round: still the first feature.
    let swapped = vec![bins[1].clone(), bins[0].clone()];
    let split = boost::best_split(&swapped, &[6, 2], &grad, &hess, &rows, &tie_opts()).unwrap();
    assert_eq!((split.feature, split.bin), (0, 2));
}

/// Splitting after bin 0 (row 0 alone) and after bin 2 (row 3 alone)
/// mirror each other (rows 0 and 3 both have gradient 0.3); the lowest bin
/// wins. In plain floats bin 2's gain was 0.007500000000000007 and bin
/// 0's 0.007499999999999951.
#[test]
fn tied_bins_go_to_the_lowest() {
    let bins = vec![vec![0u8, 1, 2, 3]];
    let grad = [0.3, 0.1, 0.2, 0.3];
    let hess = [1.0; 4];
    let split = boost::best_split(&bins, &[4], &grad, &hess, &[0, 1, 2, 3], &tie_opts()).unwrap();
    assert_eq!((split.feature, split.bin), (0, 0));
}

/// The root splits on feature 0 into two leaves whose rows are mirror
/// images (the right's gradients are the left's negated, in reverse order
/// with reversed bins), so their best splits have equal gains; with room
/// for one more leaf, the left one (created first) splits. In plain floats
/// the right leaf's gain was 0.4800000000000002 and the left's 0.48.
#[test]
fn tied_leaves_split_in_creation_order() {
    let bins = vec![
        vec![0u8, 0, 0, 0, 1, 1, 1, 1],
        vec![0u8, 1, 2, 3, 3, 2, 1, 0],
    ];
    let thresholds = vec![vec![0.5], vec![0.5, 1.5, 2.5]];
    let grad = [1.3, 0.7, 0.6, 0.2, -0.2, -0.6, -0.7, -1.3];
    let hess = [1.0; 8];
    let opts = BoostOptions {
        max_leaf_nodes: 3,
        ..tie_opts()
    };
    let tree = boost::grow_tree(&bins, &thresholds, &grad, &hess, &opts);
    assert_eq!(tree.feature[0], Some(0));
    assert_eq!(tree.leaves(), 3);
    assert_eq!(
        (tree.feature[1], tree.feature[2]),
        (Some(1), None),
        "the left leaf splits: {tree:?}"
    );
    assert_eq!(tree.threshold[1], 0.5);
}
