//! Routes read from `infra/template.yaml`: the one source of truth for what the REST and the
//! WebSocket APIs serve.

use serde_yaml::Value;

/// The SAM template, compiled in so the gateway runs from any directory.
pub const TEMPLATE: &str = include_str!("../../infra/template.yaml");

/// One REST route of the template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// HTTP method, upper case.
    pub method: String,
    /// Path template as API Gateway has it (`/api/v1/chat/sessions/{id}`).
    pub path: String,
    /// The function's binary.
    pub binary: String,
    /// Whether the token authorizer runs first (every route but those with
    /// `Auth: Authorizer: NONE`).
    pub authorized: bool,
}

/// One route of the WebSocket API of the template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WsRoute {
    /// The route key: `$connect`, `$disconnect`, `$default` or a frame's `action`.
    pub route_key: String,
    /// The binary of the function the route's integration invokes.
    pub binary: String,
    /// Whether the function's reply goes back on the socket (the route has a
    /// `RouteResponseSelectionExpression`).
    pub two_way: bool,
}

/// Why the template cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    /// Not YAML.
    #[error("infra/template.yaml is not valid YAML: {0}")]
    Yaml(#[from] serde_yaml::Error),
    /// A function lacks something the gateway needs.
    #[error("infra/template.yaml: function {function}: {problem}")]
    Function { function: String, problem: String },
    /// A WebSocket route cannot be followed to a function's binary.
    #[error("infra/template.yaml: WebSocket route {route}: {problem}")]
    WsRoute { route: String, problem: String },
    /// The WebSocket API is not one the local gateway can serve.
    #[error("infra/template.yaml: WebSocket API: {0}")]
    WsApi(String),
}

/// CloudFormation short tags (`!Ref X`) parse as tagged values; for literals we want the value.
fn untag(value: &Value) -> &Value {
    match value {
        Value::Tagged(tagged) => &tagged.value,
        other => other,
    }
}

fn str_at<'a>(value: &'a Value, path: &[&str]) -> Option<&'a str> {
    path.iter().try_fold(value, |v, key| untag(v).get(*key)).map(untag).and_then(Value::as_str)
}

/// Every `Api` event of every `AWS::Serverless::Function`, with its binary.
pub fn routes(template: &str) -> Result<Vec<Route>, TemplateError> {
    let doc: Value = serde_yaml::from_str(template)?;
    let mut routes = Vec::new();
    let Some(resources) = doc.get("Resources").and_then(Value::as_mapping) else {
        return Ok(routes);
    };
    for (logical_id, resource) in resources {
        if str_at(resource, &["Type"]) != Some("AWS::Serverless::Function") {
            continue;
        }
        let function = logical_id.as_str().unwrap_or("?").to_owned();
        let Some(events) =
            untag(resource).get("Properties").and_then(|p| p.get("Events")).and_then(Value::as_mapping)
        else {
            continue;
        };
        for event in events.values() {
            if str_at(event, &["Type"]) != Some("Api") {
                continue;
            }
            let problem = |problem: &str| TemplateError::Function {
                function: function.clone(),
                problem: problem.into(),
            };
            let binary = str_at(resource, &["Metadata", "BuildProperties", "Binary"])
                .ok_or_else(|| problem("Metadata.BuildProperties.Binary is missing"))?;
            let path =
                str_at(event, &["Properties", "Path"]).ok_or_else(|| problem("an Api event has no Path"))?;
            let method = str_at(event, &["Properties", "Method"])
                .ok_or_else(|| problem("an Api event has no Method"))?;
            let authorized = str_at(event, &["Properties", "Auth", "Authorizer"]) != Some("NONE");
            routes.push(Route {
                method: method.to_uppercase(),
                path: path.to_owned(),
                binary: binary.to_owned(),
                authorized,
            });
        }
    }
    Ok(routes)
}

/// One `Schedule` event of a function of the template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScheduleRoute {
    /// The function's binary.
    pub binary: String,
    /// The EventBridge expression: `rate(15 minutes)`, `cron(15 0 * * ? *)`.
    pub expression: String,
}

/// Every `Schedule` event of every `AWS::Serverless::Function`, with its binary.
pub fn schedules(template: &str) -> Result<Vec<ScheduleRoute>, TemplateError> {
    let doc: Value = serde_yaml::from_str(template)?;
    let mut schedules = Vec::new();
    let Some(resources) = doc.get("Resources").and_then(Value::as_mapping) else {
        return Ok(schedules);
    };
    for (logical_id, resource) in resources {
        if str_at(resource, &["Type"]) != Some(FUNCTION) {
            continue;
        }
        let events =
            untag(resource).get("Properties").and_then(|p| p.get("Events")).and_then(Value::as_mapping);
        for event in events.into_iter().flat_map(|events| events.values()) {
            if str_at(event, &["Type"]) != Some("Schedule") {
                continue;
            }
            let problem = |problem: &str| TemplateError::Function {
                function: logical_id.as_str().unwrap_or("?").to_owned(),
                problem: problem.into(),
            };
            let binary = str_at(resource, &["Metadata", "BuildProperties", "Binary"])
                .ok_or_else(|| problem("Metadata.BuildProperties.Binary is missing"))?;
            let expression = str_at(event, &["Properties", "Schedule"])
                .ok_or_else(|| problem("a Schedule event has no Schedule expression"))?;
            schedules.push(ScheduleRoute { binary: binary.to_owned(), expression: expression.to_owned() });
        }
    }
    Ok(schedules)
}

const WS_API: &str = "AWS::ApiGatewayV2::Api";
const WS_ROUTE: &str = "AWS::ApiGatewayV2::Route";
const WS_INTEGRATION: &str = "AWS::ApiGatewayV2::Integration";
pub(crate) const FUNCTION: &str = "AWS::Serverless::Function";

/// A plain string: `None` for anything else, intrinsics (`!Sub "..."`) included.
pub(crate) fn literal(value: Option<&Value>) -> Option<&str> {
    match value {
        Some(Value::String(text)) => Some(text),
        _ => None,
    }
}

/// An intrinsic function, short (`!Join [...]`) or long (`Fn::Join: [...]`, `Ref: X`) form: its
/// name (`Join`, `Ref`, ...) and its argument.
pub(crate) fn intrinsic(value: &Value) -> Option<(String, &Value)> {
    match value {
        Value::Tagged(tagged) => {
            Some((tagged.tag.to_string().trim_start_matches('!').to_owned(), &tagged.value))
        }
        Value::Mapping(mapping) if mapping.len() == 1 => {
            let (key, argument) = mapping.iter().next()?;
            let key = key.as_str()?;
            let name = if key == "Ref" { key } else { key.strip_prefix("Fn::")? };
            Some((name.to_owned(), argument))
        }
        _ => None,
    }
}

/// The logical id of `!Ref X`.
fn ref_id(value: &Value) -> Option<&str> {
    match intrinsic(value)? {
        (name, Value::String(id)) if name == "Ref" => Some(id),
        _ => None,
    }
}

/// The string of `!Sub "..."` or `!Sub ["...", {variables}]`.
fn sub_text(value: &Value) -> Option<&str> {
    match intrinsic(value)? {
        (name, Value::String(text)) if name == "Sub" => Some(text),
        (name, Value::Sequence(arguments)) if name == "Sub" => literal(arguments.first()),
        _ => None,
    }
}

/// The `${...}` references of a `!Sub` string (`${!Literal}` escapes excluded).
fn sub_references(text: &str) -> Vec<&str> {
    text.split("${")
        .skip(1)
        .filter_map(|piece| piece.split_once('}').map(|(name, _)| name))
        .filter(|name| !name.starts_with('!'))
        .collect()
}

/// The integration a route's `Target` names: `!Join ["/", ["integrations", !Ref X]]` or
/// `!Sub "integrations/${X}"`.
fn target_integration(target: &Value) -> Option<&str> {
    if let Some(text) = sub_text(target) {
        let id = text.strip_prefix("integrations/${")?.strip_suffix('}')?;
        return (!id.contains(['$', '{', '}', '.', '/'])).then_some(id);
    }
    let (name, argument) = intrinsic(target)?;
    let [separator, Value::Sequence(parts)] = argument.as_sequence()?.as_slice() else {
        return None;
    };
    match (name.as_str(), literal(Some(separator)), parts.as_slice()) {
        ("Join", Some("/"), [prefix, integration]) if literal(Some(prefix)) == Some("integrations") => {
            ref_id(integration)
        }
        _ => None,
    }
}

/// The one function whose `${X.Arn}` an integration's `IntegrationUri` (`!Sub "arn:...:lambda:
/// path/2015-03-31/functions/${X.Arn}/invocations"`) invokes.
fn integration_function(uri: &Value) -> Option<&str> {
    let text = sub_text(uri)?;
    if !text.ends_with("/invocations") {
        return None;
    }
    let functions: Vec<&str> =
        sub_references(text).into_iter().filter_map(|name| name.strip_suffix(".Arn")).collect();
    match functions.as_slice() {
        [function] => Some(function),
        _ => None,
    }
}

/// The logical id and resource of the template's one WebSocket API, if it has one.
fn websocket_api(resources: &serde_yaml::Mapping) -> Result<Option<(&str, &Value)>, TemplateError> {
    let apis: Vec<(&str, &Value)> = resources
        .iter()
        .filter(|(_, resource)| {
            literal(resource.get("Type")) == Some(WS_API)
                && literal(resource.get("Properties").and_then(|p| p.get("ProtocolType")))
                    == Some("WEBSOCKET")
        })
        .map(|(id, resource)| (id.as_str().unwrap_or("?"), resource))
        .collect();
    match apis.as_slice() {
        [] => Ok(None),
        [api] => Ok(Some(*api)),
        several => {
            let ids: Vec<&str> = several.iter().map(|(id, _)| *id).collect();
            Err(TemplateError::WsApi(format!(
                "there are several ({}); the local gateway serves one",
                ids.join(", ")
            )))
        }
    }
}

/// The `RouteSelectionExpression` of the template's WebSocket API (`$request.body.action`);
/// `None` when the template has no WebSocket API.
pub fn route_selection_expression(template: &str) -> Result<Option<String>, TemplateError> {
    let doc: Value = serde_yaml::from_str(template)?;
    let Some(resources) = doc.get("Resources").and_then(Value::as_mapping) else {
        return Ok(None);
    };
    let Some((id, api)) = websocket_api(resources)? else {
        return Ok(None);
    };
    literal(api.get("Properties").and_then(|p| p.get("RouteSelectionExpression")))
        .map(|expression| Some(expression.to_owned()))
        .ok_or_else(|| TemplateError::WsApi(format!("{id} has no literal RouteSelectionExpression")))
}

/// Every `AWS::ApiGatewayV2::Route` of the WebSocket API, followed through its `Target`
/// integration's `IntegrationUri` (`${X.Arn}`) to function `X`'s binary.
pub fn ws_routes(template: &str) -> Result<Vec<WsRoute>, TemplateError> {
    let doc: Value = serde_yaml::from_str(template)?;
    let Some(resources) = doc.get("Resources").and_then(Value::as_mapping) else {
        return Ok(Vec::new());
    };
    let Some((api_id, _)) = websocket_api(resources)? else {
        return Ok(Vec::new());
    };
    let resource_of = |id: &str, kind: &str| {
        resources.get(id).filter(|resource| literal(resource.get("Type")) == Some(kind))
    };
    let mut routes: Vec<WsRoute> = Vec::new();
    for (logical_id, resource) in resources {
        if literal(resource.get("Type")) != Some(WS_ROUTE) {
            continue;
        }
        let route = logical_id.as_str().unwrap_or("?");
        let problem = |problem: String| TemplateError::WsRoute { route: route.to_owned(), problem };
        let properties = resource.get("Properties").unwrap_or(&Value::Null);
        match properties.get("ApiId").and_then(ref_id) {
            Some(id) if id == api_id => {}
            // A route of another (HTTP) API of the template.
            Some(id) if resource_of(id, WS_API).is_some() => continue,
            _ => return Err(problem(format!("ApiId is not !Ref {api_id}"))),
        }
        let route_key = literal(properties.get("RouteKey"))
            .ok_or_else(|| problem("RouteKey is not a literal string".into()))?;
        let integration = properties.get("Target").and_then(target_integration).ok_or_else(|| {
            problem("Target is not !Join [\"/\", [\"integrations\", !Ref <Integration>]]".into())
        })?;
        let uri = resource_of(integration, WS_INTEGRATION)
            .ok_or_else(|| problem(format!("Target {integration} is not an {WS_INTEGRATION}")))?
            .get("Properties")
            .and_then(|p| p.get("IntegrationUri"))
            .ok_or_else(|| problem(format!("integration {integration} has no IntegrationUri")))?;
        let function = integration_function(uri).ok_or_else(|| {
            problem(format!(
                "the IntegrationUri of {integration} is not a !Sub \".../functions/${{<Function>.Arn}}/invocations\""
            ))
        })?;
        let binary = resource_of(function, FUNCTION)
            .ok_or_else(|| problem(format!("{function} (invoked by {integration}) is not an {FUNCTION}")))?
            .get("Metadata")
            .and_then(|m| m.get("BuildProperties"))
            .and_then(|b| literal(b.get("Binary")))
            .ok_or_else(|| {
                problem(format!("function {function} has no literal Metadata.BuildProperties.Binary"))
            })?;
        if routes.iter().any(|r| r.route_key == route_key) {
            return Err(problem(format!("route key {route_key} is declared twice")));
        }
        routes.push(WsRoute {
            route_key: route_key.to_owned(),
            binary: binary.to_owned(),
            two_way: literal(properties.get("RouteResponseSelectionExpression")).is_some(),
        });
    }
    Ok(routes)
}

/// Matches a request path against a route's path template; returns the path parameters.
pub fn match_path(template: &str, path: &str) -> Option<Vec<(String, String)>> {
    let mut params = Vec::new();
    let mut wanted = template.trim_end_matches('/').split('/');
    let mut given = path.trim_end_matches('/').split('/');
    loop {
        match (wanted.next(), given.next()) {
            (None, None) => return Some(params),
            (Some(w), Some(g)) if w.starts_with('{') && w.ends_with('}') && !g.is_empty() => {
                let value = percent_decode(g)?;
                params.push((w[1..w.len() - 1].to_owned(), value));
            }
            (Some(w), Some(g)) if w == g => {}
            _ => return None,
        }
    }
}

/// Decodes `%XX` escapes of a path segment, as API Gateway does for path parameters.
fn percent_decode(segment: &str) -> Option<String> {
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = segment.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_template_declares_routes() {
        let routes = routes(TEMPLATE).unwrap();
        assert!(routes.iter().any(|r| r.method == "POST" && r.path == "/api/v1/chat/sessions"));
    }

    #[test]
    fn path_templates_capture_their_parameters() {
        let params =
            match_path("/api/v1/chat/messages/{session_id}/{message_id}", "/api/v1/chat/messages/A/B%2DC");
        assert_eq!(
            params,
            Some(vec![("session_id".into(), "A".into()), ("message_id".into(), "B-C".into())])
        );
        assert_eq!(match_path("/api/v1/chat/sessions/{id}", "/api/v1/chat/sessions"), None);
        assert_eq!(match_path("/api/v1/chat/sessions/{id}", "/api/v1/chat/sessions//"), None);
        assert_eq!(match_path("/api/v1/chat/rooms", "/api/v1/chat/rooms/x"), None);
    }

    #[test]
    fn the_template_declares_the_websocket_routes() {
        let mut routes = ws_routes(TEMPLATE).unwrap();
        routes.sort_by(|a, b| a.route_key.cmp(&b.route_key));
        let expected = [
            ("$connect", "realtime-connect", false),
            ("$default", "realtime-default", true),
            ("$disconnect", "realtime-disconnect", false),
            ("mark_read", "realtime-mark-read", true),
            ("ping", "realtime-ping", true),
            ("send_message", "realtime-send-message", true),
            ("subscribe", "realtime-subscribe", true),
            ("subscribe_dashboard", "realtime-subscribe-dashboard", true),
            ("typing", "realtime-typing", true),
        ]
        .map(|(route_key, binary, two_way)| WsRoute {
            route_key: route_key.into(),
            binary: binary.into(),
            two_way,
        });
        assert_eq!(routes, expected);
        assert_eq!(route_selection_expression(TEMPLATE).unwrap().as_deref(), Some("$request.body.action"));
    }

    /// A WebSocket API with one route, `ping`, in the template's style.
    const WS: &str = r#"
Resources:
  Ws:
    Type: AWS::ApiGatewayV2::Api
    Properties:
      ProtocolType: WEBSOCKET
      RouteSelectionExpression: "$request.body.action"
  PingFunction:
    Type: AWS::Serverless::Function
    Metadata:
      BuildProperties:
        Binary: realtime-ping
  PingIntegration:
    Type: AWS::ApiGatewayV2::Integration
    Properties:
      ApiId: !Ref Ws
      IntegrationUri: !Sub "arn:aws:apigateway:${AWS::Region}:lambda:path/2015-03-31/functions/${PingFunction.Arn}/invocations"
  PingRoute:
    Type: AWS::ApiGatewayV2::Route
    Properties:
      ApiId: !Ref Ws
      RouteKey: ping
      Target: !Join ["/", ["integrations", !Ref PingIntegration]]
"#;

    fn ping(two_way: bool) -> Vec<WsRoute> {
        vec![WsRoute { route_key: "ping".into(), binary: "realtime-ping".into(), two_way }]
    }

    fn replaced(from: &str, to: &str) -> String {
        assert!(WS.contains(from), "{from:?} is not in the test template");
        WS.replace(from, to)
    }

    #[test]
    fn a_websocket_route_resolves_through_its_integration_to_its_binary() {
        assert_eq!(ws_routes(WS).unwrap(), ping(false));
        let two_way = replaced(
            "      RouteKey: ping\n",
            "      RouteKey: ping\n      RouteResponseSelectionExpression: $default\n",
        );
        assert_eq!(ws_routes(&two_way).unwrap(), ping(true));
        let long_form = replaced(
            r#"!Join ["/", ["integrations", !Ref PingIntegration]]"#,
            r#"{"Fn::Join": ["/", ["integrations", {"Ref": PingIntegration}]]}"#,
        );
        assert_eq!(ws_routes(&long_form).unwrap(), ping(false));
        let sub_target = replaced(
            r#"!Join ["/", ["integrations", !Ref PingIntegration]]"#,
            r#"!Sub "integrations/${PingIntegration}""#,
        );
        assert_eq!(ws_routes(&sub_target).unwrap(), ping(false));
    }

    #[test]
    fn a_broken_websocket_route_chain_is_an_error_naming_the_route() {
        let join = r#"!Join ["/", ["integrations", !Ref PingIntegration]]"#;
        let uri = r#"!Sub "arn:aws:apigateway:${AWS::Region}:lambda:path/2015-03-31/functions/${PingFunction.Arn}/invocations""#;
        let broken = [
            replaced("!Ref PingIntegration]]", "!Ref NoSuchIntegration]]"),
            replaced("!Ref PingIntegration]]", "!Ref PingFunction]]"),
            replaced(join, "integrations/abc123"),
            replaced(r#"["integrations", !Ref"#, r#"["routes", !Ref"#),
            replaced("${PingFunction.Arn}", "${NoSuchFunction.Arn}"),
            replaced("${PingFunction.Arn}", "${PingFunction}"),
            replaced(uri, "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/fn/invocations"),
            replaced("        Binary: realtime-ping\n", ""),
            replaced("Binary: realtime-ping", "Binary: !Ref BinaryName"),
            replaced("RouteKey: ping", "RouteKey: !Sub ping"),
            replaced("      ApiId: !Ref Ws\n      RouteKey", "      ApiId: !Ref Elsewhere\n      RouteKey"),
        ];
        for template in &broken {
            match ws_routes(template) {
                Err(TemplateError::WsRoute { route, .. }) => assert_eq!(route, "PingRoute"),
                other => panic!("expected an error about PingRoute, got {other:?} for\n{template}"),
            }
        }
        let twice = format!(
            "{WS}  PingAgainRoute:\n    Type: AWS::ApiGatewayV2::Route\n    Properties:\n      \
             ApiId: !Ref Ws\n      RouteKey: ping\n      Target: {join}\n"
        );
        match ws_routes(&twice) {
            Err(TemplateError::WsRoute { route, .. }) => assert_eq!(route, "PingAgainRoute"),
            other => panic!("expected an error about PingAgainRoute, got {other:?}"),
        }
    }

    #[test]
    fn websocket_routes_need_one_websocket_api() {
        let none = "Resources:\n  Table:\n    Type: AWS::DynamoDB::Table\n";
        assert_eq!(ws_routes(none).unwrap(), vec![]);
        assert_eq!(route_selection_expression(none).unwrap(), None);
        let http = replaced("ProtocolType: WEBSOCKET", "ProtocolType: HTTP");
        assert_eq!(ws_routes(&http).unwrap(), vec![], "routes of an HTTP API are not WebSocket routes");
        let two = format!(
            "{WS}  Ws2:\n    Type: AWS::ApiGatewayV2::Api\n    Properties:\n      ProtocolType: WEBSOCKET\n"
        );
        assert!(matches!(ws_routes(&two), Err(TemplateError::WsApi(_))));
        assert!(matches!(route_selection_expression(&two), Err(TemplateError::WsApi(_))));
        let no_expression = replaced("      RouteSelectionExpression: \"$request.body.action\"\n", "");
        assert!(matches!(route_selection_expression(&no_expression), Err(TemplateError::WsApi(_))));
    }
}
