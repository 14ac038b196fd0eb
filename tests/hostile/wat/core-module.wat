;; A core Wasm module, not a component: it has a `describe` but no world.
(module
  (memory (export "memory") 1)
  (func (export "describe") (result i32) (i32.const 0)))
