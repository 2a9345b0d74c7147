//! AFL++ target `ledger_canonical`: see `rampart_fuzz::ledger_canonical` for the input and the properties checked.

fn main() {
    rampart_fuzz::ledger_canonical::init();
    afl::fuzz!(|data: &[u8]| {
        let _ = rampart_fuzz::ledger_canonical::run(data);
    });
}
