#![no_main]
//! cargo-fuzz target: arbitrary bytes as an input of the lifecycle kernel (see tests/rust/fuzz_inputs.rs).

#[path = "../../tests/rust/fuzz_inputs.rs"]
mod fuzz_inputs;

libfuzzer_sys::fuzz_target!(|data: &[u8]| fuzz_inputs::lifecycle(data));
