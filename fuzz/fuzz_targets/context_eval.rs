//! AFL++ target `context_eval`: see `rampart_fuzz::context_eval` for the input and the properties checked.

fn main() {
    rampart_fuzz::context_eval::init();
    afl::fuzz!(|data: &[u8]| {
        let _ = rampart_fuzz::context_eval::run(data);
    });
}
