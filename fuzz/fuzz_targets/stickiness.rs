#![no_main]
//! cargo-fuzz target: arbitrary bytes as an input of the stickiness kernel (see tests/rust/fuzz_inputs.rs).

#[path = "../../tests/rust/fuzz_inputs.rs"]
mod fuzz_inputs;

libfuzzer_sys::fuzz_target!(|data: &[u8]| fuzz_inputs::stickiness(data));
