//! A small deterministic generator: SplitMix64 to derive seeds, xoshiro256** for the
//! streams, Box–Muller for normals. Every request consumes the same number of draws whatever
//! the scenario's parameters, so runs with the same seed share their random numbers (common
//! random numbers across scenarios and across the judge and its comparators).

/// One SplitMix64 step: a bijective mixer, used to derive independent seeds.
pub fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The seed of run `run` of stream `stream` (one stream per mode) under base seed `base`:
/// `mix(base ⊕ mix(stream·2^32 + run))`.
pub fn run_seed(base: u64, stream: u64, run: u64) -> u64 {
    mix(base ^ mix((stream << 32).wrapping_add(run)))
}

/// xoshiro256** with a cached Box–Muller spare.
#[derive(Debug, Clone)]
pub struct Rng {
    state: [u64; 4],
    spare_normal: Option<f64>,
}

impl Rng {
    pub fn new(seed: u64) -> Rng {
        // Fill the state with SplitMix64 outputs: never all zero.
        let mut z = seed;
        let mut state = [0_u64; 4];
        for slot in &mut state {
            z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
            *slot = mix(z);
        }
        Rng {
            state,
            spare_normal: None,
        }
    }

    pub fn next_u64(&mut self) -> u64 {
        let [s0, s1, s2, s3] = self.state;
        let result = s1.wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = s1 << 17;
        let s2 = s2 ^ s0;
        let s3 = s3 ^ s1;
        let s1 = s1 ^ s2;
        let s0 = s0 ^ s3;
        let s2 = s2 ^ t;
        let s3 = s3.rotate_left(45);
        self.state = [s0, s1, s2, s3];
        result
    }

    /// Uniform in [0, 1), 53 bits.
    pub fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1_u64 << 53) as f64)
    }

    /// Standard normal by Box–Muller; the second value of each pair is kept for the next call.
    pub fn normal(&mut self) -> f64 {
        if let Some(value) = self.spare_normal.take() {
            return value;
        }
        // 1 − U is in (0, 1], so the logarithm is finite.
        let radius = (-2.0 * (1.0 - self.uniform()).ln()).sqrt();
        let angle = std::f64::consts::TAU * self.uniform();
        let (sin, cos) = angle.sin_cos();
        self.spare_normal = Some(radius * sin);
        radius * cos
    }
}
