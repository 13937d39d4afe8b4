//! `docs/openapi.json` is the document the code generates: a change to a handler's annotations
//! or a request type that is not written back fails here.

#[test]
fn docs_openapi_json_matches_the_generated_document() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/openapi.json");
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    let generated = switchboard_local::openapi::json();
    assert!(
        committed == generated,
        "docs/openapi.json is stale; regenerate it with\n  cargo run -p switchboard-local -- openapi > docs/openapi.json"
    );
}

#[test]
fn the_document_is_openapi_3_1_and_lists_every_route_of_the_template() {
    let document: serde_json::Value =
        serde_json::from_str(&switchboard_local::openapi::json()).expect("the document is JSON");
    assert!(document["openapi"].as_str().is_some_and(|v| v.starts_with("3.1")));
    let routes =
        switchboard_local::template::routes(switchboard_local::template::TEMPLATE).expect("template routes");
    // CORS preflights (`OPTIONS`, answered for the chat widget) are not operations of the API.
    for route in routes.into_iter().filter(|route| route.method != "OPTIONS") {
        let path = route.path.trim_start_matches("/api/v1");
        let operation = &document["paths"][path][route.method.to_lowercase()];
        assert!(
            operation.is_object(),
            "{} {} is missing from the OpenAPI document",
            route.method,
            route.path
        );
    }
}
