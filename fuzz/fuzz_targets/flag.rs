//! AFL++ target `flag`: see `rampart_fuzz::flag` for the input and the properties checked.

fn main() {
    rampart_fuzz::flag::init();
    afl::fuzz!(|data: &[u8]| {
        let _ = rampart_fuzz::flag::run(data);
    });
}
