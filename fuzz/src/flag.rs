//! `flag`: a flag body, as `POST /v1/flags` and `PUT /v1/flags/{key}` read it.
//!
//! Input: JSON bytes (or structure-aware, see `generate`). Read with the server's body parser into a `FlagSpec`, then:
//! - validation is deterministic, and a valid flag survives the trips it takes in the
//!   server: JSON (the store and the API) and the `Flag` deserializer, unchanged;
//! - inserting it into the demo catalog (`Catalog::upsert_flag`) either succeeds, leaving a
//!   catalog that reloads as valid, compiles and evaluates within the invariants, or fails
//!   with the reason `check_flag` gives (or a dependent's missing prerequisite variant);
//! - the kill switch (`with_state`) keeps the flag valid and insertable.

use rampart_model::{Flag, FlagSpec, FlagState};
use rampart_server::fuzzing::parse_json;

use crate::{fixtures, generate};

pub fn init() {
    fixtures::init();
}

/// Returns whether the input was a valid flag (so the deeper properties were checked).
pub fn run(data: &[u8]) -> bool {
    let data = generate::input(data, generate::flag);
    let Ok(spec) = parse_json::<FlagSpec>(&data) else {
        return false;
    };
    let verdict = Flag::try_new(spec.clone());
    assert_eq!(
        verdict,
        Flag::try_new(spec.clone()),
        "validation is not deterministic"
    );
    let Ok(flag) = verdict else {
        return false;
    };
    check_round_trips(&flag);
    let catalog = fixtures::demo_catalog();
    let mut updated = catalog.clone();
    match updated.upsert_flag(flag.clone()) {
        Ok(()) => {
            assert_eq!(updated.flag(flag.key()), Some(&flag));
            assert!(
                catalog.check_flag(&flag).is_ok(),
                "upsert passed, check_flag fails"
            );
            fixtures::check_catalog_reloads(&updated);
            fixtures::check_evaluation(&updated);
            // The kill switch always works on a flag that is in.
            let mut killed = updated.clone();
            let disabled = flag.clone().with_state(FlagState::Disabled);
            check_round_trips(&disabled);
            killed
                .upsert_flag(disabled)
                .expect("disabling a flag that is in the catalog must work");
            fixtures::check_evaluation(&killed);
        }
        Err(error) => {
            // Either its own references are bad, or a dependent needs a variant it dropped.
            let own = catalog.check_flag(&flag);
            let dependents = catalog.dependents_of_flag(flag.key()).count();
            assert!(
                own.as_ref().err() == Some(&error) || (own.is_ok() && dependents > 0),
                "upsert failed with `{error}` but check_flag says {own:?}"
            );
            assert_eq!(&updated, catalog, "a failed upsert changed the catalog");
        }
    }
    true
}

/// A valid flag comes back unchanged from JSON, through the server's parser and through
/// the validating `Flag` deserializer the store uses.
fn check_round_trips(flag: &Flag) {
    let json = serde_json::to_vec(flag).expect("a flag serializes");
    let spec: FlagSpec = match parse_json(&json) {
        Ok(spec) => spec,
        Err(e) => panic!("a valid flag's JSON does not parse back: {e}"),
    };
    assert_eq!(&spec, flag.spec(), "a flag changed through JSON");
    let again: Flag = match serde_json::from_slice(&json) {
        Ok(flag) => flag,
        Err(e) => panic!("a valid flag's JSON does not deserialize as a Flag: {e}"),
    };
    assert_eq!(&again, flag, "a Flag changed through JSON");
}
