//! AFL++ target `document`: see `rampart_fuzz::document` for the input and the properties checked.

fn main() {
    rampart_fuzz::document::init();
    afl::fuzz!(|data: &[u8]| {
        let _ = rampart_fuzz::document::run(data);
    });
}
