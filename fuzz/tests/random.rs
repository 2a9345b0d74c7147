//! Structure-aware random inputs on stable, without the fuzzer: a fixed pseudo-random
//! stream of choices per target (see `rampart_fuzz::generate`). A cheap first line that CI
//! runs; `RAMPART_FUZZ_RANDOM=N` runs N inputs per target instead of the default.

use rampart_fuzz::generate::STRUCTURED;

fn count() -> usize {
    std::env::var("RAMPART_FUZZ_RANDOM")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(300)
}

/// xorshift64*: deterministic, so a failure reproduces from its index.
fn stream(seed: u64) -> impl FnMut() -> u8 {
    let mut state = seed | 1;
    move || {
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        (state.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 56) as u8
    }
}

fn random_inputs(target: &str) {
    let run = rampart_fuzz::target(target).expect("a known target");
    let mut next = stream(0x5eed ^ target.len() as u64);
    let total = count();
    let mut valid = 0;
    for index in 0..total {
        let len = usize::from(next()) + usize::from(next());
        let mut input = vec![STRUCTURED];
        input.extend((0..len).map(|_| next()));
        let outcome = std::panic::catch_unwind(|| run(&input));
        match outcome {
            Ok(ok) => valid += usize::from(ok),
            Err(_) => panic!(
                "target `{target}`, random input {index} fails; as hex: {}",
                input.iter().map(|b| format!("{b:02x}")).collect::<String>()
            ),
        }
    }
    eprintln!("{target}: {valid} of {total} random inputs were valid");
    assert!(
        valid > 0,
        "no random input of `{target}` got past validation"
    );
}

#[test]
fn flag() {
    random_inputs("flag");
}

#[test]
fn document() {
    random_inputs("document");
}

#[test]
fn plan() {
    random_inputs("plan");
}

#[test]
fn context_eval() {
    random_inputs("context_eval");
}
