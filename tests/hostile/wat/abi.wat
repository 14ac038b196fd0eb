;; A transform component written by hand, to attack the canonical ABI where
;; no language toolchain would: `fit` reads its `attack` param (an integer)
;;   0  returns an empty state
;;   1  recurses without end (stack overflow)
;;   2  returns a list<u8> whose length is almost 4 GiB (the host must not
;;      allocate it: the lift checks it against the guest's memory first)
;;   3  returns an error whose message is not UTF-8
;; `apply` returns an empty table.
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
    (memory (export "memory") 1)
    (global $heap (mut i32) (i32.const 4096))
    (data (i32.const 0) "abi-hostile")
    (data (i32.const 16) "0.1.0")
    (data (i32.const 32) "attack")
    (data (i32.const 48) "integer")
    (data (i32.const 64) "Attacks the canonical ABI (tests only).")
    (data (i32.const 112) "\ff\fe not utf-8")

    ;; A bump allocator that grows memory as it needs.
    (func $realloc (export "realloc") (param i32 i32) (param $align i32) (param $size i32) (result i32)
      (local $p i32) (local $end i32)
      (local.set $p (i32.and (i32.add (global.get $heap) (i32.sub (local.get $align) (i32.const 1)))
                             (i32.sub (i32.const 0) (local.get $align))))
      (local.set $end (i32.add (local.get $p) (local.get $size)))
      (if (i32.gt_u (local.get $end) (i32.shl (memory.size) (i32.const 16)))
        (then (if (i32.lt_s (memory.grow (i32.add (i32.shr_u (i32.sub (local.get $end)
                                  (i32.shl (memory.size) (i32.const 16))) (i32.const 16)) (i32.const 1)))
                            (i32.const 0))
                (then unreachable))))
      (global.set $heap (local.get $end))
      (local.get $p))

    ;; plugin-info at 256: name, version, kind, doc, params, metrics (none);
    ;; the one param-spec at 512: name, kind, default (none), doc, choices
    ;; (none), range (none).
    (func (export "describe") (result i32)
      (i32.store (i32.const 256) (i32.const 0))   (i32.store (i32.const 260) (i32.const 11))
      (i32.store (i32.const 264) (i32.const 16))  (i32.store (i32.const 268) (i32.const 5))
      (i32.store8 (i32.const 272) (i32.const 1))
      (i32.store (i32.const 276) (i32.const 64))  (i32.store (i32.const 280) (i32.const 39))
      (i32.store (i32.const 284) (i32.const 512)) (i32.store (i32.const 288) (i32.const 1))
      (i32.store (i32.const 292) (i32.const 0))   (i32.store (i32.const 296) (i32.const 0))
      (i32.store (i32.const 512) (i32.const 32))  (i32.store (i32.const 516) (i32.const 6))
      (i32.store (i32.const 520) (i32.const 48))  (i32.store (i32.const 524) (i32.const 7))
      (i32.store8 (i32.const 528) (i32.const 0))
      (i32.store (i32.const 552) (i32.const 64))  (i32.store (i32.const 556) (i32.const 0))
      (i32.store (i32.const 560) (i32.const 0))   (i32.store (i32.const 564) (i32.const 0))
      (i32.store8 (i32.const 568) (i32.const 0))
      (i32.const 256))

    (func $recurse (param $n i64) (result i64)
      (i64.add (call $recurse (i64.add (local.get $n) (i64.const 1))) (local.get $n)))

    ;; fit(data, params) -> result<list<u8>, step-error>, written at 128.
    (func (export "fit") (param i32 i32) (param $params i32) (param $count i32) (result i32)
      (local $attack i64)
      ;; The first param (24 bytes: name, then the value's case at 8 and
      ;; its payload at 16), when it is an integer.
      (if (i32.and (i32.ge_u (local.get $count) (i32.const 1))
                   (i32.eq (i32.load8_u offset=8 (local.get $params)) (i32.const 1)))
        (then (local.set $attack (i64.load offset=16 (local.get $params)))))
      (i32.store8 (i32.const 128) (i32.const 0))
      (i32.store (i32.const 132) (i32.const 0))
      (i32.store (i32.const 136) (i32.const 0))
      (if (i64.eq (local.get $attack) (i64.const 1))
        (then (drop (call $recurse (i64.const 0)))))
      (if (i64.eq (local.get $attack) (i64.const 2))
        (then (i32.store (i32.const 136) (i32.const 0xfffffff0))))
      (if (i64.eq (local.get $attack) (i64.const 3))
        (then (i32.store8 (i32.const 128) (i32.const 1))
              (i32.store8 (i32.const 132) (i32.const 2))
              (i32.store (i32.const 136) (i32.const 112))
              (i32.store (i32.const 140) (i32.const 13))))
      (i32.const 128))

    ;; apply(state, data) -> result<table, step-error>: ok, no columns.
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
