;; A transform with one function whose body is generated when the test
;; runs (the `;; generated` line below is replaced by straight-line code of
;; the size the corpus case names), so the corpus needs no multi-megabyte
;; binary. Cranelift's time and memory grow faster than linearly with such a
;; function: loading must refuse it before or while compiling, naming the
;; file and the limit, and a small one must still load.
(component
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

  (core module $m
    ;; First, so it is function body 0 of core module 0 in messages.
    (func $huge (export "huge") (result i32)
      ;; generated
    )
    (memory (export "memory") 1)
    (data (i32.const 0) "huge-function")
    (data (i32.const 16) "0.1.0")
    (func $realloc (export "realloc") (param i32 i32 i32 i32) (result i32) (i32.const 1024))
    ;; plugin-info { name, version, kind: transform, doc: "", params: [], metrics: [] }
    (func (export "describe") (result i32)
      (i32.store (i32.const 256) (i32.const 0))   (i32.store (i32.const 260) (i32.const 13))
      (i32.store (i32.const 264) (i32.const 16))  (i32.store (i32.const 268) (i32.const 5))
      (i32.store8 (i32.const 272) (i32.const 1))
      (i32.store (i32.const 276) (i32.const 0))   (i32.store (i32.const 280) (i32.const 0))
      (i32.store (i32.const 284) (i32.const 0))   (i32.store (i32.const 288) (i32.const 0))
      (i32.store (i32.const 292) (i32.const 0))   (i32.store (i32.const 296) (i32.const 0))
      (i32.const 256))
    ;; ok(empty state), ok(empty table)
    (func (export "fit") (param i32 i32 i32 i32) (result i32)
      (i32.store8 (i32.const 128) (i32.const 0))
      (i32.store (i32.const 132) (i32.const 0))
      (i32.store (i32.const 136) (i32.const 0))
      (i32.const 128))
    (func (export "apply") (param i32 i32 i32 i32) (result i32)
      (i32.store8 (i32.const 192) (i32.const 0))
      (i32.store (i32.const 196) (i32.const 0))
      (i32.store (i32.const 200) (i32.const 0))
      (i32.const 192)))

  (core instance $i (instantiate $m))
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
