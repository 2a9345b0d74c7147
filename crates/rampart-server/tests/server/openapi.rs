//! The OpenAPI document: served at `/openapi.json`, a valid OpenAPI 3.1 document, and in
//! step with the routes the server really serves.

#[test]
fn dump() {
    let doc = rampart_server::openapi_document();
    std::fs::write(
        "/tmp/oa/doc.json",
        serde_json::to_string_pretty(&doc).unwrap(),
    )
    .unwrap();
}
