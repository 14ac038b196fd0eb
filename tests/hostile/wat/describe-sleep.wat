;; A transform whose describe() waits in a host call: it subscribes to the
;; monotonic clock u64::MAX nanoseconds from now and blocks on the
;; pollable. No epoch check runs while it waits, yet loading must still
;; fail at describe's time limit, naming the file, not hang the host.
(component $C
  ;; The contract's types (wit/sluice.wit), exported so the functions can
  ;; name them; the host checks them structurally.
  (type $values' (variant (case "f64s" (list float64)) (case "i64s" (list s64))
                          (case "bools" (list bool)) (case "strings" (list string))))
  (export $values "values" (type $values'))
  (type $column' (record (field "name" string) (field "values" $values)
                         (field "valid" (option (list bool)))))
  (export $column "column" (type $column'))
  (type $table' (record (field "columns" (list $column))))
  (export $table "table" (type $table'))
  (type $param-value' (variant (case "number" float64) (case "integer" s64) (case "flag" bool)
                               (case "text" string) (case "numbers" (list float64))))
  (export $param-value "param-value" (type $param-value'))
  (type $param' (record (field "name" string) (field "value" $param-value)))
  (export $param "param" (type $param'))
  (type $number-range' (record (field "min" (option float64)) (field "max" (option float64))
                               (field "min-inclusive" bool) (field "max-inclusive" bool)))
  (export $number-range "number-range" (type $number-range'))
  (type $param-spec' (record (field "name" string) (field "kind" string)
                             (field "default" (option $param-value)) (field "doc" string)
                             (field "choices" (list string)) (field "range" (option $number-range))))
  (export $param-spec "param-spec" (type $param-spec'))
  (type $step-kind' (enum "validator" "transform" "trainer" "explainer"))
  (export $step-kind "step-kind" (type $step-kind'))
  (type $plugin-info' (record (field "name" string) (field "version" string) (field "kind" $step-kind)
                              (field "doc" string) (field "params" (list $param-spec))
                              (field "metrics" (list string))))
  (export $plugin-info "plugin-info" (type $plugin-info'))
  (type $error-kind' (enum "invalid-params" "invalid-input" "internal"))
  (export $error-kind "error-kind" (type $error-kind'))
  (type $step-error' (record (field "kind" $error-kind) (field "message" string)))
  (export $step-error "step-error" (type $step-error'))

  ;; wasi:io/poll's pollable, and the monotonic clock's subscribe.
  (import "wasi:io/poll@0.2.0" (instance $poll
    (export "pollable" (type (sub resource)))
    (export "[method]pollable.block" (func (param "self" (borrow 0))))))
  (alias export $poll "pollable" (type $pollable))
  (import "wasi:clocks/monotonic-clock@0.2.0" (instance $clock
    (alias outer $C $pollable (type $p))
    (export "pollable" (type (eq $p)))
    (export "subscribe-duration" (func (param "when" u64) (result (own 1))))))
  (core func $subscribe (canon lower (func $clock "subscribe-duration")))
  (core func $block (canon lower (func $poll "[method]pollable.block")))

  (core module $m
    (import "clock" "subscribe-duration" (func $subscribe (param i64) (result i32)))
    (import "poll" "block" (func $block (param i32)))
    (memory (export "memory") 1)
    (func $realloc (export "realloc") (param i32 i32 i32 i32) (result i32) (i32.const 1024))
    (func (export "describe") (result i32)
      (call $block (call $subscribe (i64.const -1)))
      unreachable)
    (func (export "fit") (param i32 i32 i32 i32) (result i32) unreachable)
    (func (export "apply") (param i32 i32 i32 i32) (result i32) unreachable))

  (core instance $i (instantiate $m
    (with "clock" (instance (export "subscribe-duration" (func $subscribe))))
    (with "poll" (instance (export "block" (func $block))))))
  (alias core export $i "memory" (core memory $mem))
  (alias core export $i "realloc" (core func $realloc))

  (func (export "describe") (result $plugin-info)
    (canon lift (core func $i "describe") (memory $mem) (realloc $realloc)))
  (func (export "fit") (param "data" $table) (param "params" (list $param))
    (result (result (list u8) (error $step-error)))
    (canon lift (core func $i "fit") (memory $mem) (realloc $realloc)))
  (func (export "apply") (param "state" (list u8)) (param "data" $table)
    (result (result $table (error $step-error)))
    (canon lift (core func $i "apply") (memory $mem) (realloc $realloc))))
