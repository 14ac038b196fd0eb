//! Unit tests of the identity plugin, run natively (`cargo test -p identity`).

use super::*;
use sluice_sdk::Column;
use sluice_sdk::testing;

#[test]
fn apply_returns_input() {
    let params = testing::params(&Identity::describe(), &[]);
    let state = Identity::fit(Table::new(), params).unwrap();
    assert!(state.is_empty());
    let t = Table::new()
        .with(Column::f64("x", vec![1.0, 2.0]).with_nulls(&[0]))
        .with(Column::strings("s", ["a", "b"]));
    assert_eq!(Identity::apply(state, t.clone()).unwrap(), t);
}
