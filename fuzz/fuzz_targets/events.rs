//! AFL++ target `events`: see `rampart_fuzz::events` for the input and the properties checked.

fn main() {
    rampart_fuzz::events::init();
    afl::fuzz!(|data: &[u8]| {
        let _ = rampart_fuzz::events::run(data);
    });
}
