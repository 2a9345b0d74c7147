//! AFL++ target `plan`: see `rampart_fuzz::plan` for the input and the properties checked.

fn main() {
    rampart_fuzz::plan::init();
    afl::fuzz!(|data: &[u8]| {
        let _ = rampart_fuzz::plan::run(data);
    });
}
