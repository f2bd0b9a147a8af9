//! Every sample event is an API Gateway REST proxy event that lambda_http accepts.

use aws_lambda_events::event::apigw::ApiGatewayProxyRequest;

#[test]
fn every_sample_event_parses_as_an_api_gateway_proxy_request() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../events/snapshot-admin");
    let mut seen = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.ends_with("expected.json") {
            continue; // what each event's answer must hold (make invoke-all)
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let event: ApiGatewayProxyRequest =
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert!(event.path.as_deref().is_some_and(|p| p.starts_with("/admin/")), "{}", path.display());
        assert_eq!(event.request_context.stage.as_deref(), Some("Prod"));
        let request = lambda_http::request::from_str(&text).unwrap();
        assert!(request.uri().path().starts_with("/admin/"), "stage stripped: {}", request.uri());
        seen += 1;
    }
    assert_eq!(seen, 15);
}
