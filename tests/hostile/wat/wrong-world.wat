;; A valid component that implements no sluice world: it exports `run`.
(component
  (core module $m
    (func (export "run") (result i32) (i32.const 7)))
  (core instance $i (instantiate $m))
  (func (export "run") (result u32) (canon lift (core func $i "run"))))
