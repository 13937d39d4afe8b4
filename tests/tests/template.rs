//! `infra/template.yaml`, the function binaries and the `events/` fixtures agree with each other:
//! every function in the template is built by cargo-lambda from a binary that exists, every
//! binary is deployed, every function has an event fixture, every REST function has exactly one
//! well-formed route under `/api/v1/`, no two functions share a route, and each fixture is a
//! request for its function's route.
//!
//! The WebSocket API likewise: every `functions/realtime` binary is deployed by a function with
//! exactly one WebSocket route (as the local gateway resolves it), only `$connect` is behind the
//! authorizer, two-way routes have a route response, the API may invoke every WebSocket function,
//! every function but the authorizer knows the Management API endpoint, and the functions that
//! post to connections (and only those) may.
//!
//! The template is read as plain YAML: CloudFormation short tags (`!Ref`, `!Sub`, `!GetAtt`)
//! arrive as `serde_yaml::Value::Tagged`. The local gateway reads routes the same way, which is
//! why `Metadata.BuildProperties.Binary`, each route's `Path` and `Method` and each WebSocket
//! route's `RouteKey` must be literal strings, never intrinsics.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

use serde_json::Value as Json;
use serde_yaml::Value as Yaml;
use switchboard_local::template::{ws_routes, WsRoute};
use switchboard_shared::changes::effects;
use switchboard_shared::store::changes::ChangeKind;

const METHODS: &[&str] = &["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "ANY"];
const API_PREFIX: &str = "/api/v1/";

/// Where the WebSocket functions' binaries live.
const REALTIME_BIN_DIR: &str = "functions/realtime/src/bin";
/// The environment variable with the WebSocket API's Management API endpoint.
const WEBSOCKET_ENDPOINT: &str = "WEBSOCKET_ENDPOINT";
/// The IAM action of `PostToConnection`.
const MANAGE_CONNECTIONS: &str = "execute-api:ManageConnections";
/// The WebSocket functions that answer on their own socket only (two-way routes) and call
/// nothing: no policy at all.
const WEBSOCKET_FUNCTIONS_THAT_CALL_NOTHING: &[&str] = &["realtime-ping", "realtime-default"];
/// The REST functions that push events to connected clients; every other WebSocket function
/// does too.
const REST_FUNCTIONS_THAT_POST_TO_CONNECTIONS: &[&str] = &[
    "attachments-check",
    "chat-send-message",
    "chat-edit-message",
    "chat-delete-message",
    "chat-close-session",
    "chat-mark-read",
    "dashboard-assign-session",
    "dashboard-transfer-session",
    "chat-create-session",
    "chat-reopen-session",
    "chat-rate-session",
    "agent-set-status",
    "agent-update-settings",
    "chat-update-session",
    "routing-sweep",
    "widget-identify-user",
    // The change feed's routing and queue places post `session.updated` and `queue.updated`,
    // from the stream or from an admin's replay of a failed change.
    "changes-process",
    "dashboard-replay-failed-change",
    // A customer's reply by e-mail is a message of theirs, announced like any other.
    "email-inbound",
];

/// The CloudFront path of the chat widget's files.
const WIDGET_FILES: &str = "/widget/*";

/// The one function with many routes: it answers the CORS preflights (`OPTIONS`, public) of the
/// routes the chat widget calls, one event per path (API Gateway matches a path's own resource
/// before any greedy one, so a single `{proxy+}` route would not be reached).
const PREFLIGHT_FUNCTION: &str = "widget-answer-preflight";

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the tests package lives inside the workspace")
        .to_path_buf()
}

// ---------------------------------------------------------------------------------------------
// Reading the template
// ---------------------------------------------------------------------------------------------

/// A value with any CloudFormation short tag (`!Ref`, `!Sub`, ...) taken off.
fn untag(value: &Yaml) -> &Yaml {
    match value {
        Yaml::Tagged(tagged) => untag(&tagged.value),
        other => other,
    }
}

fn tag_name(value: &Yaml) -> Option<String> {
    match value {
        Yaml::Tagged(tagged) => Some(tagged.tag.to_string().trim_start_matches('!').to_owned()),
        _ => None,
    }
}

/// `value[key]` of a mapping (tags on either side taken off).
fn field<'a>(value: &'a Yaml, key: &str) -> Option<&'a Yaml> {
    untag(value).as_mapping()?.get(key).map(untag)
}

fn path_of<'a>(value: &'a Yaml, keys: &[&str]) -> Option<&'a Yaml> {
    keys.iter().try_fold(value, |node, key| field(node, key))
}

fn entries(value: Option<&Yaml>) -> Vec<(String, &Yaml)> {
    value
        .and_then(|value| untag(value).as_mapping())
        .map(|mapping| {
            mapping.iter().filter_map(|(key, value)| Some((key.as_str()?.to_owned(), value))).collect()
        })
        .unwrap_or_default()
}

/// `mapping[key]` as a literal string: an error names what is wrong when it is missing, not a
/// string, or an intrinsic function (which the local gateway and this test cannot evaluate).
fn literal_string(mapping: &Yaml, key: &str, what: &str) -> Result<String, String> {
    let raw = untag(mapping)
        .as_mapping()
        .and_then(|mapping| mapping.get(key))
        .ok_or_else(|| format!("{what} has no `{key}`"))?;
    if let Some(tag) = tag_name(raw) {
        return Err(format!("{what}: `{key}` is an intrinsic (!{tag}), not a literal string"));
    }
    match raw {
        Yaml::String(text) if !text.trim().is_empty() => Ok(text.clone()),
        _ => Err(format!("{what}: `{key}` is not a non-empty string")),
    }
}

/// Logical ids a value refers to through `!GetAtt X.Arn`, `!GetAtt [X, Arn]`, `Fn::GetAtt`,
/// `!Ref X`, `Ref` or `${X...}` inside a `!Sub` string.
fn referenced_ids(value: &Yaml, found: &mut BTreeSet<String>) {
    match value {
        Yaml::Tagged(tagged) => {
            let tag = tag_name(value).unwrap_or_default();
            match (tag.as_str(), &tagged.value) {
                ("GetAtt" | "Ref", Yaml::String(text)) => {
                    found.insert(text.split('.').next().unwrap_or_default().to_owned());
                }
                ("GetAtt", Yaml::Sequence(parts)) => {
                    if let Some(id) = parts.first().and_then(Yaml::as_str) {
                        found.insert(id.to_owned());
                    }
                }
                ("Sub", Yaml::String(text)) => substitutions(text, found),
                _ => {}
            }
            referenced_ids(&tagged.value, found);
        }
        Yaml::Mapping(mapping) => {
            for (key, inner) in mapping {
                match (key.as_str(), inner) {
                    (Some("Ref"), Yaml::String(id)) => {
                        found.insert(id.clone());
                    }
                    (Some("Fn::GetAtt"), Yaml::Sequence(parts)) => {
                        if let Some(id) = parts.first().and_then(Yaml::as_str) {
                            found.insert(id.to_owned());
                        }
                    }
                    (Some("Fn::Sub"), Yaml::String(text)) => substitutions(text, found),
                    _ => {}
                }
                referenced_ids(inner, found);
            }
        }
        Yaml::Sequence(items) => {
            for item in items {
                if let Yaml::String(text) = item {
                    substitutions(text, found);
                }
                referenced_ids(item, found);
            }
        }
        _ => {}
    }
}

fn substitutions(text: &str, found: &mut BTreeSet<String>) {
    for piece in text.split("${").skip(1) {
        if let Some(name) = piece.split('}').next() {
            found.insert(name.split('.').next().unwrap_or_default().to_owned());
        }
    }
}

#[derive(Debug)]
struct ApiEvent {
    name: String,
    path: Result<String, String>,
    method: Result<String, String>,
}

#[derive(Debug)]
struct Function {
    logical_id: String,
    build_method: Option<String>,
    binary: Result<String, String>,
    api_events: Vec<ApiEvent>,
    /// The expressions of its `Schedule` events (EventBridge rules).
    schedules: Vec<String>,
    /// The `Properties` of its `SQS` events (queue event sources).
    queue_events: Vec<Yaml>,
    /// The `Properties` of its `DynamoDB` events (the table's stream as event source).
    stream_events: Vec<Yaml>,
    /// How many `EventBridgeRule` events it has (a bucket's or a scanner's events).
    rule_events: usize,
    /// The `Properties` of its `SNS` events (a topic's notifications: SES's reports).
    topic_events: Vec<Yaml>,
    /// `Properties.Environment.Variables`, values with their tags.
    environment: BTreeMap<String, Yaml>,
    /// The statements of the inline policy documents of `Properties.Policies`.
    statements: Vec<Yaml>,
}

/// A function's one route, when it has exactly one well-formed `Api` event.
#[derive(Debug, Clone)]
struct Route {
    binary: String,
    method: String,
    path: String,
}

struct Template {
    /// The template as written (for `switchboard_local::template`).
    text: String,
    /// Every resource, by logical id, in template order.
    resources: Vec<(String, Yaml)>,
    functions: Vec<Function>,
    /// Logical ids of the functions that API Gateway calls as authorizers.
    authorizers: BTreeSet<String>,
    /// Logical ids of the functions an SES receipt rule invokes (its Lambda actions).
    mail_functions: BTreeSet<String>,
    /// `Globals.Function.Environment.Variables`, values with their tags.
    global_environment: BTreeMap<String, Yaml>,
    /// `Outputs`, by logical id.
    outputs: BTreeMap<String, Yaml>,
}

impl Template {
    fn load() -> Self {
        let file = workspace_root().join("infra").join("template.yaml");
        let text = fs::read_to_string(&file)
            .unwrap_or_else(|error| panic!("cannot read {}: {error}", file.display()));
        let document: Yaml = serde_yaml::from_str(&text)
            .unwrap_or_else(|error| panic!("{} is not valid YAML: {error}", file.display()));
        let resources = entries(field(&document, "Resources"));
        assert!(!resources.is_empty(), "the template has no Resources");

        let functions: Vec<Function> = resources
            .iter()
            .filter(|(_, resource)| {
                field(resource, "Type").and_then(Yaml::as_str) == Some("AWS::Serverless::Function")
            })
            .map(|(logical_id, resource)| Function::parse(logical_id, resource))
            .collect();
        assert!(!functions.is_empty(), "the template has no AWS::Serverless::Function");

        let function_ids: BTreeSet<&str> = functions.iter().map(|f| f.logical_id.as_str()).collect();
        let mut referenced = BTreeSet::new();
        let mut mail_functions = BTreeSet::new();
        for (_, resource) in &resources {
            let kind = field(resource, "Type").and_then(Yaml::as_str).unwrap_or_default();
            let properties = field(resource, "Properties");
            match kind {
                "AWS::Serverless::Api" | "AWS::Serverless::HttpApi" => {
                    let authorizers = properties.and_then(|p| path_of(p, &["Auth", "Authorizers"]));
                    for (_, authorizer) in entries(authorizers) {
                        if let Some(arn) = raw_field(authorizer, "FunctionArn") {
                            referenced_ids(arn, &mut referenced);
                        }
                    }
                }
                "AWS::ApiGateway::Authorizer" | "AWS::ApiGatewayV2::Authorizer" => {
                    if let Some(uri) = properties.and_then(|p| raw_field(p, "AuthorizerUri")) {
                        referenced_ids(uri, &mut referenced);
                    }
                }
                "AWS::SES::ReceiptRule" => {
                    for action in one_or_many(properties.and_then(|p| path_of(p, &["Rule", "Actions"]))) {
                        if let Some(arn) =
                            field(action, "LambdaAction").and_then(|a| raw_field(a, "FunctionArn"))
                        {
                            referenced_ids(arn, &mut mail_functions);
                        }
                    }
                }
                _ => {}
            }
        }
        let authorizers = referenced.into_iter().filter(|id| function_ids.contains(id.as_str())).collect();
        let global_environment = variables(path_of(&document, &["Globals", "Function"]));
        let outputs = entries(field(&document, "Outputs"))
            .into_iter()
            .map(|(id, output)| (id, output.clone()))
            .collect();
        let resources = resources.into_iter().map(|(id, resource)| (id, resource.clone())).collect();
        Self { text, resources, functions, authorizers, mail_functions, global_environment, outputs }
    }

    /// The resource of logical id `id`.
    fn resource(&self, id: &str) -> Option<&Yaml> {
        self.resources.iter().find(|(logical_id, _)| logical_id == id).map(|(_, resource)| resource)
    }

    /// The resources of one type, by logical id.
    fn of_type(&self, kind: &str) -> Vec<(&str, &Yaml)> {
        self.resources
            .iter()
            .filter(|(_, resource)| field(resource, "Type").and_then(Yaml::as_str) == Some(kind))
            .map(|(id, resource)| (id.as_str(), resource))
            .collect()
    }

    /// The logical id of the one WebSocket API.
    fn websocket_api(&self) -> String {
        let apis: Vec<&str> = self
            .of_type("AWS::ApiGatewayV2::Api")
            .into_iter()
            .filter(|(_, api)| {
                path_of(api, &["Properties", "ProtocolType"]).and_then(Yaml::as_str) == Some("WEBSOCKET")
            })
            .map(|(id, _)| id)
            .collect();
        match apis.as_slice() {
            [api] => (*api).to_owned(),
            _ => panic!("expected one AWS::ApiGatewayV2::Api with ProtocolType WEBSOCKET, found {apis:?}"),
        }
    }

    /// The WebSocket routes as the local gateway resolves them (route key → function binary).
    fn ws_routes(&self) -> Vec<WsRoute> {
        let routes = ws_routes(&self.text).unwrap_or_else(|error| panic!("{error}"));
        assert!(!routes.is_empty(), "the template has no WebSocket routes");
        routes
    }

    /// The `AWS::ApiGatewayV2::Route` resources.
    fn ws_route_resources(&self) -> Vec<WsRouteResource> {
        self.of_type("AWS::ApiGatewayV2::Route")
            .into_iter()
            .map(|(id, route)| {
                let properties = field(route, "Properties").cloned().unwrap_or(Yaml::Null);
                WsRouteResource {
                    logical_id: id.to_owned(),
                    route_key: literal_string(&properties, "RouteKey", &format!("route {id}")),
                    authorization_type: field(&properties, "AuthorizationType")
                        .and_then(Yaml::as_str)
                        .map(str::to_owned),
                    authorizer_id: raw_field(&properties, "AuthorizerId").map(ids_in),
                    two_way: field(&properties, "RouteResponseSelectionExpression").is_some(),
                }
            })
            .collect()
    }

    /// The WebSocket functions: those a WebSocket route invokes, with their route.
    fn websocket_functions(&self) -> Vec<(&Function, WsRoute)> {
        let routes = self.ws_routes();
        self.functions
            .iter()
            .filter_map(|function| {
                let binary = function.binary.as_ref().ok()?;
                let route = routes.iter().find(|route| &route.binary == binary)?;
                Some((function, route.clone()))
            })
            .collect()
    }

    /// A function's environment variable, from the function or from `Globals`.
    fn variable<'a>(&'a self, function: &'a Function, name: &str) -> Option<&'a Yaml> {
        function.environment.get(name).or_else(|| self.global_environment.get(name))
    }

    fn is_authorizer(&self, function: &Function) -> bool {
        self.authorizers.contains(&function.logical_id)
    }

    /// Whether SES receiving invokes the function (a receipt rule's Lambda action).
    fn is_mail_function(&self, function: &Function) -> bool {
        self.mail_functions.contains(&function.logical_id)
    }

    /// Binaries named by the template (only the well-formed ones).
    fn binaries(&self) -> BTreeSet<String> {
        self.functions.iter().filter_map(|f| f.binary.clone().ok()).collect()
    }

    /// The routes of the functions that have exactly one well-formed `Api` event.
    fn routes(&self) -> Vec<Route> {
        self.functions
            .iter()
            .filter_map(|function| match (&function.binary, function.api_events.as_slice()) {
                (Ok(binary), [event]) => match (&event.path, &event.method) {
                    (Ok(path), Ok(method)) => Some(Route {
                        binary: binary.clone(),
                        method: method.to_ascii_uppercase(),
                        path: path.clone(),
                    }),
                    _ => None,
                },
                _ => None,
            })
            .collect()
    }
}

/// A WebSocket route as written in the template.
#[derive(Debug)]
struct WsRouteResource {
    logical_id: String,
    route_key: Result<String, String>,
    authorization_type: Option<String>,
    /// The logical ids `AuthorizerId` refers to, when it is set.
    authorizer_id: Option<BTreeSet<String>>,
    two_way: bool,
}

/// The logical ids a value refers to.
fn ids_in(value: &Yaml) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    referenced_ids(value, &mut found);
    found
}

/// The text of `!Sub "..."`, `!Sub ["...", {...}]` or `Fn::Sub`.
fn sub_text(value: &Yaml) -> Option<&str> {
    let argument = match value {
        Yaml::Tagged(tagged) if tag_name(value).as_deref() == Some("Sub") => &tagged.value,
        Yaml::Mapping(mapping) => mapping.get("Fn::Sub")?,
        _ => return None,
    };
    match argument {
        Yaml::String(text) => Some(text),
        Yaml::Sequence(parts) => parts.first().and_then(Yaml::as_str),
        _ => None,
    }
}

/// A string or a list of strings (IAM `Action`, `Resource`), items with their tags.
fn one_or_many(value: Option<&Yaml>) -> Vec<&Yaml> {
    match value.map(untag) {
        Some(Yaml::Sequence(items)) => items.iter().collect(),
        Some(_) => value.into_iter().collect(),
        None => Vec::new(),
    }
}

/// `<parent>.Environment.Variables`, values with their tags.
fn variables(parent: Option<&Yaml>) -> BTreeMap<String, Yaml> {
    entries(parent.and_then(|p| path_of(p, &["Environment", "Variables"])))
        .into_iter()
        .map(|(name, value)| (name, value.clone()))
        .collect()
}

/// The statement of `!If [Condition, statement, !Ref AWS::NoValue]` (the SNS grants, present when
/// a platform application is configured), or the statement itself.
fn conditional_statement(statement: &Yaml) -> &Yaml {
    match (tag_name(statement).as_deref(), untag(statement)) {
        (Some("If"), Yaml::Sequence(branches)) if branches.len() == 3 => &branches[1],
        _ => statement,
    }
}

/// `mapping[key]` with its tag kept (for reading intrinsics).
fn raw_field<'a>(mapping: &'a Yaml, key: &str) -> Option<&'a Yaml> {
    untag(mapping).as_mapping()?.get(key)
}

impl Function {
    fn parse(logical_id: &str, resource: &Yaml) -> Self {
        let what = format!("function {logical_id}");
        let metadata = field(resource, "Metadata");
        let build_method =
            metadata.and_then(|m| field(m, "BuildMethod")).and_then(Yaml::as_str).map(str::to_owned);
        let binary = match metadata.and_then(|m| field(m, "BuildProperties")) {
            Some(properties) => {
                literal_string(properties, "Binary", &format!("{what} Metadata.BuildProperties"))
            }
            None => Err(format!("{what} has no Metadata.BuildProperties")),
        };
        let events = resource_events(resource);
        let schedules = events
            .iter()
            .filter(|(_, event)| field(event, "Type").and_then(Yaml::as_str) == Some("Schedule"))
            .map(|(_, event)| {
                field(event, "Properties")
                    .and_then(|p| field(p, "Schedule"))
                    .and_then(Yaml::as_str)
                    .unwrap_or_default()
                    .to_owned()
            })
            .collect();
        let queue_events = events
            .iter()
            .filter(|(_, event)| field(event, "Type").and_then(Yaml::as_str) == Some("SQS"))
            .filter_map(|(_, event)| field(event, "Properties").cloned())
            .collect();
        let stream_events = events
            .iter()
            .filter(|(_, event)| field(event, "Type").and_then(Yaml::as_str) == Some("DynamoDB"))
            .filter_map(|(_, event)| field(event, "Properties").cloned())
            .collect();
        let rule_events = events
            .iter()
            .filter(|(_, event)| field(event, "Type").and_then(Yaml::as_str) == Some("EventBridgeRule"))
            .count();
        let topic_events = events
            .iter()
            .filter(|(_, event)| field(event, "Type").and_then(Yaml::as_str) == Some("SNS"))
            .filter_map(|(_, event)| field(event, "Properties").cloned())
            .collect();
        let api_events = events
            .into_iter()
            .filter(|(_, event)| field(event, "Type").and_then(Yaml::as_str) == Some("Api"))
            .map(|(name, event)| {
                let where_ = format!("{what} event {name}");
                let (path, method) = match field(event, "Properties") {
                    Some(properties) => (
                        literal_string(properties, "Path", &where_),
                        literal_string(properties, "Method", &where_),
                    ),
                    None => {
                        let missing = format!("{where_} has no Properties");
                        (Err(missing.clone()), Err(missing))
                    }
                };
                ApiEvent { name, path, method }
            })
            .collect();
        let properties = field(resource, "Properties");
        let environment = variables(properties);
        let statements = one_or_many(properties.and_then(|p| field(p, "Policies")))
            .into_iter()
            .flat_map(|policy| one_or_many(field(policy, "Statement")))
            .map(conditional_statement)
            .cloned()
            .collect();
        Self {
            logical_id: logical_id.to_owned(),
            build_method,
            binary,
            api_events,
            schedules,
            queue_events,
            stream_events,
            rule_events,
            topic_events,
            environment,
            statements,
        }
    }
}

fn resource_events(resource: &Yaml) -> Vec<(String, &Yaml)> {
    entries(field(resource, "Properties").and_then(|p| field(p, "Events")))
}

// ---------------------------------------------------------------------------------------------
// The workspace: binaries and fixtures
// ---------------------------------------------------------------------------------------------

/// `functions/<area>/src/bin/<binary>.rs` (or `<binary>/main.rs`) → binary name → file.
fn binaries_on_disk() -> BTreeMap<String, PathBuf> {
    let functions_dir = workspace_root().join("functions");
    let mut found = BTreeMap::new();
    let areas = fs::read_dir(&functions_dir)
        .unwrap_or_else(|error| panic!("cannot list {}: {error}", functions_dir.display()));
    for area in areas {
        let bin_dir = area.expect("readable functions/ entry").path().join("src").join("bin");
        let Ok(files) = fs::read_dir(&bin_dir) else { continue };
        for file in files {
            let path = file.expect("readable src/bin entry").path();
            let name = if path.is_dir() && path.join("main.rs").is_file() {
                path.file_name().and_then(|n| n.to_str()).map(str::to_owned)
            } else if path.extension().and_then(|e| e.to_str()) == Some("rs") {
                path.file_stem().and_then(|n| n.to_str()).map(str::to_owned)
            } else {
                None
            };
            if let Some(name) = name {
                if let Some(previous) = found.insert(name.clone(), path.clone()) {
                    panic!("binary {name} is defined twice: {} and {}", previous.display(), path.display());
                }
            }
        }
    }
    found
}

/// `events/*.json` → (file name, stem before the first `.`).
fn event_fixtures() -> Vec<(String, String)> {
    let events_dir = workspace_root().join("events");
    let mut fixtures: Vec<(String, String)> = fs::read_dir(&events_dir)
        .unwrap_or_else(|error| panic!("cannot list {}: {error}", events_dir.display()))
        .map(|entry| entry.expect("readable events/ entry").file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".json"))
        .map(|name| {
            let stem = name.split('.').next().unwrap_or_default().to_owned();
            (name, stem)
        })
        .collect();
    fixtures.sort();
    fixtures
}

fn read_fixture(file_name: &str) -> Json {
    let file = workspace_root().join("events").join(file_name);
    let text =
        fs::read_to_string(&file).unwrap_or_else(|error| panic!("cannot read {}: {error}", file.display()));
    serde_json::from_str(&text)
        .unwrap_or_else(|error| panic!("{} is not valid JSON: {error}", file.display()))
}

/// The fixtures of one binary: `<binary>.json` and its variants `<binary>.<variant>.json`.
fn fixtures_of(binary: &str) -> Vec<String> {
    event_fixtures().into_iter().filter(|(_, stem)| stem == binary).map(|(name, _)| name).collect()
}

/// The names inside `{...}` of a route path (`{proxy+}` → `proxy`).
fn path_parameters(path: &str) -> Vec<String> {
    path.split('/')
        .filter_map(|segment| segment.strip_prefix('{')?.strip_suffix('}'))
        .map(|name| name.trim_end_matches('+').to_owned())
        .collect()
}

/// Problems with the shape of a route path; empty when it is fine.
fn path_shape_problems(path: &str) -> Vec<String> {
    let mut problems = Vec::new();
    if !path.starts_with(API_PREFIX) {
        problems.push(format!("is not under {API_PREFIX}"));
    }
    if path.ends_with('/') {
        problems.push("ends with /".to_owned());
    }
    for segment in path.split('/').skip(1) {
        if segment.is_empty() {
            problems.push("has an empty segment".to_owned());
        } else if segment.contains(['{', '}']) {
            let name = segment.strip_prefix('{').and_then(|s| s.strip_suffix('}'));
            let valid = name.is_some_and(|name| {
                let name = name.trim_end_matches('+');
                !name.is_empty()
                    && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                    && !name.starts_with(|c: char| c.is_ascii_digit())
            });
            if !valid {
                problems.push(format!("has a malformed path parameter segment `{segment}`"));
            }
        } else if !segment.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')) {
            problems.push(format!("has an unexpected character in `{segment}`"));
        }
    }
    problems
}

/// The path with every parameter name blanked: `/a/{id}/b` → `/a/{}/b` (API Gateway resources
/// are the same whatever the parameter is called).
fn resource_shape(path: &str) -> String {
    path.split('/')
        .map(|segment| if segment.starts_with('{') { "{}" } else { segment })
        .collect::<Vec<_>>()
        .join("/")
}

fn assert_no_problems(problems: &[String], what: &str) {
    assert!(problems.is_empty(), "{what}:\n  - {}", problems.join("\n  - "));
}

// ---------------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------------

#[test]
fn every_template_function_is_built_by_cargo_lambda_from_a_named_binary() {
    let template = Template::load();
    let mut problems = Vec::new();
    let mut owners: BTreeMap<String, Vec<&str>> = BTreeMap::new();
    for function in &template.functions {
        if function.build_method.as_deref() != Some("rust-cargolambda") {
            problems.push(format!(
                "function {}: Metadata.BuildMethod is {:?}, expected \"rust-cargolambda\"",
                function.logical_id, function.build_method
            ));
        }
        match &function.binary {
            Ok(binary) => owners.entry(binary.clone()).or_default().push(&function.logical_id),
            Err(problem) => problems.push(problem.clone()),
        }
    }
    for (binary, functions) in owners {
        if functions.len() > 1 {
            problems.push(format!("binary {binary} is deployed by several functions: {functions:?}"));
        }
    }
    assert_no_problems(&problems, "functions not built by cargo-lambda from one named binary");
}

#[test]
fn every_template_function_has_a_binary() {
    let template = Template::load();
    let on_disk = binaries_on_disk();
    let missing: Vec<String> = template
        .functions
        .iter()
        .filter_map(|function| {
            let binary = function.binary.as_ref().ok()?;
            (!on_disk.contains_key(binary)).then(|| {
                format!(
                    "function {} builds binary {binary}, but there is no functions/*/src/bin/{binary}.rs",
                    function.logical_id
                )
            })
        })
        .collect();
    assert_no_problems(&missing, "template functions without a binary");
}

#[test]
fn every_binary_is_in_the_template() {
    let deployed = Template::load().binaries();
    let missing: Vec<String> = binaries_on_disk()
        .into_iter()
        .filter(|(binary, _)| !deployed.contains(binary))
        .map(|(binary, file)| {
            format!(
                "binary {binary} ({}) is not the Metadata.BuildProperties.Binary of any function in infra/template.yaml",
                file.strip_prefix(workspace_root()).unwrap_or(&file).display()
            )
        })
        .collect();
    assert_no_problems(&missing, "binaries that are not deployed");
}

#[test]
fn every_binary_has_an_event_fixture() {
    let mut binaries = Template::load().binaries();
    binaries.extend(binaries_on_disk().into_keys());
    let events_dir = workspace_root().join("events");
    let missing: Vec<String> = binaries
        .into_iter()
        .filter(|binary| !events_dir.join(format!("{binary}.json")).is_file())
        .map(|binary| format!("binary {binary} has no events/{binary}.json"))
        .collect();
    assert_no_problems(&missing, "binaries without an event fixture");
}

#[test]
fn every_event_fixture_names_a_binary() {
    let mut binaries = Template::load().binaries();
    binaries.extend(binaries_on_disk().into_keys());
    let strays: Vec<String> = event_fixtures()
        .into_iter()
        .filter(|(_, stem)| !binaries.contains(stem))
        .map(|(name, stem)| format!("events/{name}: no binary or template function is called {stem}"))
        .collect();
    assert_no_problems(&strays, "event fixtures that name no binary");
}

#[test]
fn every_route_function_has_exactly_one_api_event_under_api_v1() {
    let template = Template::load();
    assert!(!template.authorizers.is_empty(), "no function of the template is used as an API authorizer");
    let websocket: BTreeSet<&str> =
        template.websocket_functions().into_iter().map(|(f, _)| f.logical_id.as_str()).collect();
    let mut problems = Vec::new();
    for function in &template.functions {
        let id = &function.logical_id;
        if template.is_authorizer(function)
            || websocket.contains(id.as_str())
            || !function.schedules.is_empty()
            || !function.queue_events.is_empty()
            || !function.stream_events.is_empty()
            || function.rule_events > 0
            || !function.topic_events.is_empty()
            || template.is_mail_function(function)
        {
            if !function.api_events.is_empty() {
                let kind = if websocket.contains(id.as_str()) {
                    "WebSocket function"
                } else if !function.queue_events.is_empty() || !function.stream_events.is_empty() {
                    "queue function"
                } else if function.rule_events > 0 {
                    "event rule function"
                } else if !function.topic_events.is_empty() {
                    "topic function"
                } else if template.is_mail_function(function) {
                    "mail function"
                } else if function.schedules.is_empty() {
                    "authorizer"
                } else {
                    "scheduled function"
                };
                problems.push(format!("{kind} {id} also has Api events"));
            }
            continue;
        }
        let answers_preflights = function.binary.as_deref().is_ok_and(|b| b == PREFLIGHT_FUNCTION)
            && !function.api_events.is_empty()
            && function
                .api_events
                .iter()
                .all(|event| event.method.as_deref().is_ok_and(|m| m.eq_ignore_ascii_case("OPTIONS")));
        if function.api_events.len() != 1 && !answers_preflights {
            let names: Vec<&str> = function.api_events.iter().map(|e| e.name.as_str()).collect();
            problems.push(format!(
                "function {id} has {} Api events {names:?}, expected exactly one",
                function.api_events.len()
            ));
        }
        for event in &function.api_events {
            match &event.path {
                Ok(path) => problems.extend(
                    path_shape_problems(path)
                        .into_iter()
                        .map(|problem| format!("function {id} event {}: path {path} {problem}", event.name)),
                ),
                Err(problem) => problems.push(problem.clone()),
            }
            match &event.method {
                Ok(method) if METHODS.contains(&method.to_ascii_uppercase().as_str()) => {}
                Ok(method) => problems.push(format!(
                    "function {id} event {}: method {method} is not one of {METHODS:?}",
                    event.name
                )),
                Err(problem) => problems.push(problem.clone()),
            }
        }
    }
    assert_no_problems(&problems, "route functions without exactly one well-formed route");
}

#[test]
fn every_scheduled_function_runs_on_one_schedule_the_local_gateway_can_run() {
    let template = Template::load();
    let mut problems = Vec::new();
    let mut scheduled = 0;
    for function in template.functions.iter().filter(|f| !f.schedules.is_empty()) {
        scheduled += 1;
        if function.schedules.len() != 1 {
            problems.push(format!(
                "{} has {} Schedule events",
                function.logical_id,
                function.schedules.len()
            ));
        }
        for expression in &function.schedules {
            if let Err(problem) = switchboard_local::scheduler::Schedule::parse(expression) {
                problems.push(format!("{}: {problem}", function.logical_id));
            }
        }
    }
    assert!(scheduled > 0, "no function of the template is scheduled");
    assert_no_problems(&problems, "scheduled functions");
}

#[test]
fn the_change_feed_function_reads_the_tables_stream_reporting_failures_bisecting_with_an_on_failure_queue() {
    let template = Template::load();
    let table = template.of_type("AWS::DynamoDB::Table").into_iter().find(|(id, _)| *id == "Table");
    let view = table.and_then(|(_, t)| path_of(t, &["Properties", "StreamSpecification", "StreamViewType"]));
    assert_eq!(view.and_then(Yaml::as_str), Some("NEW_AND_OLD_IMAGES"), "the table's stream");
    let queues: BTreeMap<&str, &Yaml> = template.of_type("AWS::SQS::Queue").into_iter().collect();
    let consumers: Vec<&Function> =
        template.functions.iter().filter(|f| !f.stream_events.is_empty()).collect();
    assert_eq!(
        consumers.iter().map(|f| f.binary.clone().unwrap_or_default()).collect::<Vec<_>>(),
        ["changes-process"]
    );
    let mut problems = Vec::new();
    for event in &consumers[0].stream_events {
        let responses: Vec<&str> =
            one_or_many(field(event, "FunctionResponseTypes")).into_iter().filter_map(Yaml::as_str).collect();
        if !responses.contains(&"ReportBatchItemFailures") {
            problems.push("does not report batch item failures".to_owned());
        }
        if field(event, "BisectBatchOnFunctionError").and_then(Yaml::as_bool) != Some(true) {
            problems.push("does not bisect a failing batch".to_owned());
        }
        if field(event, "MaximumRetryAttempts").and_then(Yaml::as_i64).is_none_or(|n| n < 0) {
            problems.push("retries forever".to_owned());
        }
        if !raw_field(event, "Stream").map(ids_in).unwrap_or_default().contains("Table") {
            problems.push("reads another stream than the table's".to_owned());
        }
        let destination = path_of(event, &["DestinationConfig", "OnFailure"]);
        let target = destination.and_then(|d| raw_field(d, "Destination")).map(ids_in).unwrap_or_default();
        if !target.iter().any(|id| queues.contains_key(id.as_str())) {
            problems.push("has no on-failure queue of the template".to_owned());
        }
    }
    assert_no_problems(&problems, "changes-process's stream event");
}

/// Whether one of the stream event's filter patterns (`eventName` and key matchers: exact
/// strings and `prefix`, the only forms the template uses) accepts a record.
fn filter_accepts(patterns: &[Json], pk: &str, sk: &str, kind: ChangeKind) -> bool {
    let key_matches = |matchers: &Json, value: &str| {
        matchers.as_array().is_some_and(|matchers| {
            matchers.iter().any(|m| match (m.as_str(), m["prefix"].as_str()) {
                (Some(exact), _) => exact == value,
                (None, Some(prefix)) => value.starts_with(prefix),
                (None, None) => panic!("a key matcher of another form: {m}"),
            })
        })
    };
    patterns.iter().any(|pattern| {
        let kinds = pattern["eventName"].as_array().cloned().unwrap_or_default();
        kinds.iter().any(|k| k.as_str() == Some(kind.as_str()))
            && key_matches(&pattern["dynamodb"]["Keys"]["pk"]["S"], pk)
            && key_matches(&pattern["dynamodb"]["Keys"]["sk"]["S"], sk)
    })
}

#[test]
fn the_change_feeds_filter_lets_through_exactly_the_records_a_reaction_follows() {
    let template = Template::load();
    let consumer =
        template.functions.iter().find(|f| !f.stream_events.is_empty()).expect("the feed's function");
    let patterns: Vec<Json> = consumer
        .stream_events
        .iter()
        .flat_map(|event| one_or_many(path_of(event, &["FilterCriteria", "Filters"])))
        .filter_map(|filter| field(filter, "Pattern").and_then(Yaml::as_str))
        .map(|text| serde_json::from_str(text).expect("a filter pattern is JSON"))
        .collect();
    assert!(!patterns.is_empty(), "the stream event has no filter");
    let session = "SESSION#01JD0000000000000000000002";
    let pks = [
        session,
        "SESSION",
        "SESSIONS#x",
        "AGENT#agent-bob",
        "CONN#abc=",
        "STATS#DAY",
        "USER#cust-ada",
        "COUNTED#x",
    ];
    let sks = [
        "META",
        "MSG#01JD0000000000000000000005",
        "EVENT#01JD00000000000000000009",
        "STATE",
        "SUB#x",
        "2026-12-06#local",
        "CLIENT#x",
        "FACTS",
    ];
    let mut problems = Vec::new();
    for pk in pks {
        for sk in sks {
            for kind in [ChangeKind::Insert, ChangeKind::Modify, ChangeKind::Remove] {
                let accepted = filter_accepts(&patterns, pk, sk, kind);
                let follows = effects::followed(pk, sk, kind).is_some();
                if accepted != follows {
                    problems.push(format!(
                        "{} {pk} / {sk}: the filter {accepted}, the reactions {follows}",
                        kind.as_str()
                    ));
                }
            }
        }
    }
    assert_no_problems(&problems, "the change feed's filter");
}

#[test]
fn every_queue_function_reports_batch_item_failures_from_a_queue_with_a_dead_letter_queue() {
    let template = Template::load();
    let queues: BTreeMap<&str, &Yaml> = template.of_type("AWS::SQS::Queue").into_iter().collect();
    let mut problems = Vec::new();
    let mut consumers = 0;
    for function in template.functions.iter().filter(|f| !f.queue_events.is_empty()) {
        consumers += 1;
        let id = &function.logical_id;
        for event in &function.queue_events {
            let responses: Vec<&str> = one_or_many(field(event, "FunctionResponseTypes"))
                .into_iter()
                .filter_map(Yaml::as_str)
                .collect();
            if !responses.contains(&"ReportBatchItemFailures") {
                problems.push(format!("{id}: its SQS event does not report batch item failures"));
            }
            let queue = raw_field(event, "Queue").map(ids_in).unwrap_or_default();
            let Some(queue) = queue.iter().find_map(|q| queues.get_key_value(q.as_str())) else {
                problems.push(format!("{id}: its SQS event names no queue of the template"));
                continue;
            };
            let redrive = field(queue.1, "Properties").and_then(|p| field(p, "RedrivePolicy"));
            let dead_letter = redrive.and_then(|r| raw_field(r, "deadLetterTargetArn")).map(ids_in);
            if !dead_letter
                .is_some_and(|ids| ids.iter().any(|q| queues.contains_key(q.as_str()) && q != queue.0))
            {
                problems.push(format!("{id}: queue {} has no dead-letter queue of the template", queue.0));
            }
        }
    }
    assert!(consumers > 0, "no function of the template reads a queue");
    assert_no_problems(&problems, "queue functions");
}

#[test]
fn ses_reports_reach_their_function_through_an_encrypted_topic_only_the_configuration_set_may_publish_to() {
    let template = Template::load();
    let policies = template.of_type("AWS::SNS::TopicPolicy");
    let mut problems = Vec::new();
    let mut subscribers = 0;
    for function in template.functions.iter().filter(|f| !f.topic_events.is_empty()) {
        subscribers += 1;
        let id = &function.logical_id;
        for event in &function.topic_events {
            let topics = raw_field(event, "Topic").map(ids_in).unwrap_or_default();
            let Some(topic) = topics.first() else {
                problems.push(format!("{id}: its SNS event names no topic of the template"));
                continue;
            };
            let guarded = policies.iter().any(|(_, policy)| {
                let properties = field(policy, "Properties");
                let covers = properties
                    .and_then(|p| raw_field(p, "Topics"))
                    .map(ids_in)
                    .is_some_and(|ids| ids.contains(topic));
                let text = format!("{:?}", properties.and_then(|p| field(p, "PolicyDocument")));
                covers
                    && text.contains("ses.amazonaws.com")
                    && text.contains("AWS:SourceAccount")
                    && text.contains("configuration-set/")
            });
            if !guarded {
                problems.push(format!(
                    "{id}: topic {topic} has no policy letting only SES, for this account's configuration set, publish"
                ));
            }
            // Encrypted under a key of the template that lets SES (the publisher) use it.
            let key = template
                .resource(topic)
                .and_then(|resource| field(resource, "Properties"))
                .and_then(|properties| raw_field(properties, "KmsMasterKeyId"))
                .map(ids_in)
                .unwrap_or_default();
            let lets_ses = key.iter().filter_map(|key| template.resource(key)).any(|key| {
                let policy = format!("{:?}", field(key, "Properties").and_then(|p| field(p, "KeyPolicy")));
                policy.contains("ses.amazonaws.com")
                    && policy.contains("kms:GenerateDataKey*")
                    && policy.contains("kms:Decrypt")
            });
            if !lets_ses {
                problems.push(format!(
                    "{id}: topic {topic} is not encrypted under a key of the template SES may use"
                ));
            }
        }
    }
    assert!(subscribers > 0, "no function of the template takes a topic's notifications");
    assert_no_problems(&problems, "topic functions");
}

#[test]
fn only_the_bulk_send_function_may_send_to_the_bulk_send_queue() {
    let template = Template::load();
    let senders: Vec<&str> = template
        .functions
        .iter()
        .filter(|function| {
            function.statements.iter().any(|statement| {
                one_or_many(field(statement, "Action"))
                    .into_iter()
                    .filter_map(Yaml::as_str)
                    .any(|action| action == "sqs:SendMessage" || action.starts_with("sqs:*"))
            })
        })
        .filter_map(|function| function.binary.as_deref().ok())
        .collect();
    assert_eq!(senders, ["notifications-bulk-send"]);
}

#[test]
fn no_two_functions_share_a_route() {
    let routes = Template::load().routes();
    let mut by_route: BTreeMap<(String, String), Vec<&str>> = BTreeMap::new();
    for route in &routes {
        by_route.entry((route.method.clone(), resource_shape(&route.path))).or_default().push(&route.binary);
    }
    let mut problems: Vec<String> = by_route
        .iter()
        .filter(|(_, binaries)| binaries.len() > 1)
        .map(|((method, path), binaries)| format!("{method} {path} is routed to {binaries:?}"))
        .collect();
    // ANY on a resource takes every method of it.
    for ((method, path), binaries) in &by_route {
        if method == "ANY" {
            for ((other_method, other_path), others) in &by_route {
                if other_path == path && other_method != "ANY" {
                    problems.push(format!(
                        "ANY {path} ({binaries:?}) overlaps {other_method} {path} ({others:?})"
                    ));
                }
            }
        }
    }
    assert_no_problems(&problems, "routes served by more than one function");
}

#[test]
fn path_parameters_at_the_same_place_have_one_name() {
    // API Gateway has one resource per path segment: `/sessions/{id}` and `/sessions/{sid}/x`
    // cannot both exist, the deployment would fail.
    let routes = Template::load().routes();
    let mut names: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for route in &routes {
        let segments: Vec<&str> = route.path.split('/').collect();
        for (index, segment) in segments.iter().enumerate() {
            if let Some(name) = segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                let parent = resource_shape(&segments[..index].join("/"));
                names.entry(parent).or_default().insert(name.to_owned());
            }
        }
    }
    let problems: Vec<String> = names
        .into_iter()
        .filter(|(_, names)| names.len() > 1)
        .map(|(parent, names)| format!("{parent}/{{..}} is called {names:?}; use one name"))
        .collect();
    assert_no_problems(&problems, "path parameters with several names at one place");
}

#[test]
fn every_route_path_parameter_is_in_its_event_fixture() {
    let mut problems = Vec::new();
    for route in Template::load().routes() {
        let wanted: BTreeSet<String> = path_parameters(&route.path).into_iter().collect();
        for fixture in fixtures_of(&route.binary) {
            let event = read_fixture(&fixture);
            let given: BTreeMap<String, Json> = match event.get("pathParameters") {
                Some(Json::Object(map)) => map.clone().into_iter().collect(),
                Some(Json::Null) | None => BTreeMap::new(),
                Some(other) => {
                    problems.push(format!("events/{fixture}: pathParameters is {other}, not an object"));
                    continue;
                }
            };
            for name in &wanted {
                match given.get(name) {
                    Some(Json::String(value)) if !value.is_empty() => {}
                    Some(other) => problems.push(format!(
                        "events/{fixture}: pathParameters.{name} is {other}, expected a non-empty string"
                    )),
                    None => problems.push(format!(
                        "events/{fixture}: pathParameters has no `{name}` (route {} {})",
                        route.method, route.path
                    )),
                }
            }
            for name in given.keys().filter(|name| !wanted.contains(*name)) {
                problems.push(format!(
                    "events/{fixture}: pathParameters.{name} is not a parameter of {}",
                    route.path
                ));
            }
        }
    }
    assert_no_problems(&problems, "event fixtures whose path parameters do not fit their route");
}

#[test]
fn every_event_fixture_is_a_request_for_its_route() {
    let mut problems = Vec::new();
    for route in Template::load().routes() {
        for fixture in fixtures_of(&route.binary) {
            let event = read_fixture(&fixture);
            let text = |key: &str| event.get(key).and_then(Json::as_str).unwrap_or_default().to_owned();
            if text("resource") != route.path {
                problems.push(format!(
                    "events/{fixture}: resource is {:?}, the route is {}",
                    text("resource"),
                    route.path
                ));
            }
            if route.method != "ANY" && text("httpMethod") != route.method {
                problems.push(format!(
                    "events/{fixture}: httpMethod is {:?}, the route's is {}",
                    text("httpMethod"),
                    route.method
                ));
            }
            let mut expected_path = route.path.clone();
            if let Some(Json::Object(parameters)) = event.get("pathParameters") {
                for (name, value) in parameters {
                    if let Some(value) = value.as_str() {
                        expected_path = expected_path
                            .replace(&format!("{{{name}}}"), value)
                            .replace(&format!("{{{name}+}}"), value);
                    }
                }
            }
            if text("path") != expected_path {
                problems.push(format!(
                    "events/{fixture}: path is {:?}, expected {expected_path:?} from its route and pathParameters",
                    text("path")
                ));
            }
        }
    }
    assert_no_problems(&problems, "event fixtures that are not requests for their route");
}

// ---------------------------------------------------------------------------------------------
// The WebSocket API
// ---------------------------------------------------------------------------------------------

/// `events/<binary>.json` is checked for every function, WebSocket ones included, by
/// `every_binary_has_an_event_fixture`.
#[test]
fn every_realtime_binary_is_deployed_with_exactly_one_websocket_route() {
    let template = Template::load();
    let realtime_dir = workspace_root().join(REALTIME_BIN_DIR);
    let on_disk = binaries_on_disk();
    let realtime: BTreeSet<&str> = on_disk
        .iter()
        .filter(|(_, file)| file.starts_with(&realtime_dir))
        .map(|(binary, _)| binary.as_str())
        .collect();
    assert!(!realtime.is_empty(), "{REALTIME_BIN_DIR} has no binaries");
    let routes = template.ws_routes();
    let mut problems = Vec::new();
    for binary in &realtime {
        let routed: Vec<&str> =
            routes.iter().filter(|r| r.binary == *binary).map(|r| r.route_key.as_str()).collect();
        if !template.binaries().contains(*binary) {
            problems.push(format!("{REALTIME_BIN_DIR}/{binary}.rs is not deployed by any function"));
        } else if routed.len() != 1 {
            problems.push(format!("binary {binary} has WebSocket routes {routed:?}, expected exactly one"));
        }
    }
    for route in &routes {
        if !realtime.contains(route.binary.as_str()) {
            let file = on_disk.get(&route.binary).map_or("no binary".to_owned(), |f| f.display().to_string());
            problems.push(format!(
                "WebSocket route {} invokes {} ({file}), not a binary of {REALTIME_BIN_DIR}",
                route.route_key, route.binary
            ));
        }
    }
    // A realtime function the template deploys without a route would never be invoked.
    for function in &template.functions {
        if let Ok(binary) = &function.binary {
            if binary.starts_with("realtime-") && !routes.iter().any(|r| &r.binary == binary) {
                problems.push(format!("function {} ({binary}) has no WebSocket route", function.logical_id));
            }
        }
    }
    assert_no_problems(&problems, "realtime binaries, functions and WebSocket routes that do not match");
}

#[test]
fn every_websocket_route_is_well_formed() {
    let template = Template::load();
    let api = template.websocket_api();
    let resources = template.ws_route_resources();
    let mut problems = Vec::new();
    let mut keys = BTreeSet::new();
    for route in &resources {
        match &route.route_key {
            Ok(key)
                if key.starts_with('$')
                    && !["$connect", "$disconnect", "$default"].contains(&key.as_str()) =>
            {
                problems.push(format!("route {}: {key} is not a predefined route key", route.logical_id))
            }
            Ok(key)
                if !key.starts_with('$')
                    && !key.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_') =>
            {
                problems.push(format!("route {}: action {key} is not snake_case", route.logical_id))
            }
            Ok(key) => {
                if !keys.insert(key.clone()) {
                    problems.push(format!("route key {key} is declared twice"));
                }
            }
            Err(problem) => problems.push(problem.clone()),
        }
    }
    for required in ["$connect", "$disconnect", "$default"] {
        if !keys.contains(required) {
            problems.push(format!("the WebSocket API has no {required} route"));
        }
    }
    let expression = path_of(
        template.resources.iter().find(|(id, _)| *id == api).map(|(_, r)| r).expect("the WebSocket API"),
        &["Properties", "RouteSelectionExpression"],
    )
    .and_then(Yaml::as_str);
    if expression != Some("$request.body.action") {
        problems.push(format!(
            "{api}: RouteSelectionExpression is {expression:?}; frames select their route by `action`"
        ));
    }
    assert_no_problems(&problems, "malformed WebSocket routes");
}

#[test]
fn only_connect_is_behind_the_authorizer() {
    let template = Template::load();
    let api = template.websocket_api();
    let authorizers = template.of_type("AWS::ApiGatewayV2::Authorizer");
    let mut problems = Vec::new();
    let mut connect_seen = false;
    for route in template.ws_route_resources() {
        let id = &route.logical_id;
        let authorization = route.authorization_type.as_deref().unwrap_or("NONE");
        if route.route_key.as_deref() == Ok("$connect") {
            connect_seen = true;
            if authorization != "CUSTOM" {
                problems
                    .push(format!("route {id} ($connect): AuthorizationType is {authorization}, not CUSTOM"));
            }
            let refers_to_authorizer = route
                .authorizer_id
                .as_ref()
                .is_some_and(|ids| authorizers.iter().any(|(authorizer, _)| ids.contains(*authorizer)));
            if !refers_to_authorizer {
                problems.push(format!(
                    "route {id} ($connect): AuthorizerId {:?} is not !Ref an AWS::ApiGatewayV2::Authorizer",
                    route.authorizer_id
                ));
            }
        } else if authorization != "NONE" || route.authorizer_id.is_some() {
            problems.push(format!(
                "route {id} ({:?}) has AuthorizationType {authorization} / AuthorizerId {:?}: only $connect is \
                 authorized, the other routes run on its connection",
                route.route_key, route.authorizer_id
            ));
        }
    }
    if !connect_seen {
        problems.push("the WebSocket API has no $connect route".to_owned());
    }
    if authorizers.is_empty() {
        problems.push("the template has no AWS::ApiGatewayV2::Authorizer".to_owned());
    }
    for (id, authorizer) in &authorizers {
        let properties = field(authorizer, "Properties");
        let invokes = properties.and_then(|p| raw_field(p, "AuthorizerUri")).map(ids_in).unwrap_or_default();
        if !invokes.iter().any(|function| template.authorizers.contains(function)) {
            problems
                .push(format!("authorizer {id}: AuthorizerUri invokes none of {:?}", template.authorizers));
        }
        let identity: Vec<&str> = one_or_many(properties.and_then(|p| field(p, "IdentitySource")))
            .into_iter()
            .filter_map(Yaml::as_str)
            .collect();
        if identity != ["route.request.querystring.token"] {
            problems.push(format!(
                "authorizer {id}: IdentitySource is {identity:?}; the token comes as ?token= (browsers cannot set \
                 headers on a WebSocket)"
            ));
        }
        let invocable = template.of_type("AWS::Lambda::Permission").into_iter().any(|(_, permission)| {
            let properties = field(permission, "Properties");
            let function =
                properties.and_then(|p| raw_field(p, "FunctionName")).map(ids_in).unwrap_or_default();
            let source = properties.and_then(|p| raw_field(p, "SourceArn")).map(ids_in).unwrap_or_default();
            invokes.iter().any(|f| function.contains(f)) && source.contains(&api)
        });
        if !invocable {
            problems.push(format!(
                "no AWS::Lambda::Permission lets {api} invoke the function of authorizer {id}"
            ));
        }
    }
    assert_no_problems(&problems, "WebSocket authorization that is not exactly on $connect");
}

#[test]
fn two_way_routes_have_a_default_route_response() {
    let template = Template::load();
    let responses: Vec<(BTreeSet<String>, Option<String>)> = template
        .of_type("AWS::ApiGatewayV2::RouteResponse")
        .into_iter()
        .map(|(_, response)| {
            let properties = field(response, "Properties");
            let route = properties.and_then(|p| raw_field(p, "RouteId")).map(ids_in).unwrap_or_default();
            let key = properties.and_then(|p| field(p, "RouteResponseKey")).and_then(Yaml::as_str);
            (route, key.map(str::to_owned))
        })
        .collect();
    let mut problems = Vec::new();
    let mut two_way = 0;
    for route in template.ws_route_resources() {
        let id = &route.logical_id;
        let keys: Vec<Option<&str>> = responses
            .iter()
            .filter(|(routes, _)| routes.contains(id))
            .map(|(_, key)| key.as_deref())
            .collect();
        let one_way_only = matches!(route.route_key.as_deref(), Ok("$connect" | "$disconnect"));
        match (route.two_way, keys.as_slice()) {
            (true, _) if one_way_only => problems.push(format!(
                "route {id} ({:?}) has a RouteResponseSelectionExpression, but nothing is sent back on it",
                route.route_key
            )),
            (true, [Some("$default")]) => two_way += 1,
            (true, _) => problems.push(format!(
                "two-way route {id} has route responses {keys:?}, expected one with RouteResponseKey $default"
            )),
            (false, []) => {}
            (false, _) => problems.push(format!(
                "route {id} has route responses {keys:?} but no RouteResponseSelectionExpression"
            )),
        }
    }
    assert!(two_way > 0, "no WebSocket route is two-way");
    assert_no_problems(&problems, "two-way WebSocket routes without exactly their $default route response");
}

#[test]
fn the_websocket_api_may_invoke_every_websocket_function() {
    let template = Template::load();
    let api = template.websocket_api();
    let permissions: Vec<(BTreeSet<String>, BTreeSet<String>, Option<String>)> = template
        .of_type("AWS::Lambda::Permission")
        .into_iter()
        .map(|(_, permission)| {
            let properties = field(permission, "Properties");
            let function =
                properties.and_then(|p| raw_field(p, "FunctionName")).map(ids_in).unwrap_or_default();
            let source = properties.and_then(|p| raw_field(p, "SourceArn")).map(ids_in).unwrap_or_default();
            let principal = properties.and_then(|p| field(p, "Principal")).and_then(Yaml::as_str);
            (function, source, principal.map(str::to_owned))
        })
        .collect();
    let websocket_functions = template.websocket_functions();
    assert!(!websocket_functions.is_empty(), "no function has a WebSocket route");
    let missing: Vec<String> = websocket_functions
        .iter()
        .filter(|(function, _)| {
            !permissions.iter().any(|(functions, source, principal)| {
                functions.contains(&function.logical_id)
                    && source.contains(&api)
                    && principal.as_deref() == Some("apigateway.amazonaws.com")
            })
        })
        .map(|(function, route)| {
            format!(
                "no AWS::Lambda::Permission lets apigateway.amazonaws.com invoke {} (route {}) with a SourceArn \
                 on {api}",
                function.logical_id, route.route_key
            )
        })
        .collect();
    assert_no_problems(&missing, "WebSocket functions the WebSocket API may not invoke");
}

/// The `!Sub` text the WebSocket API's Management API endpoint is written as.
fn management_endpoint(api: &str) -> String {
    format!("https://${{{api}}}.execute-api.${{AWS::Region}}.amazonaws.com/${{StageName}}")
}

#[test]
fn every_function_but_the_authorizer_knows_the_management_endpoint() {
    let template = Template::load();
    let api = template.websocket_api();
    let expected = management_endpoint(&api);
    let mut problems = Vec::new();
    for function in template.functions.iter().filter(|f| !template.is_authorizer(f)) {
        match template.variable(function, WEBSOCKET_ENDPOINT) {
            Some(value) if sub_text(value) == Some(expected.as_str()) => {}
            Some(value) => problems.push(format!(
                "function {}: {WEBSOCKET_ENDPOINT} is {value:?}, expected !Sub {expected:?}",
                function.logical_id
            )),
            None => problems.push(format!("function {} has no {WEBSOCKET_ENDPOINT}", function.logical_id)),
        }
    }
    // The stage the endpoint names is the WebSocket API's stage.
    let stages: Vec<(&str, &Yaml)> = template
        .of_type("AWS::ApiGatewayV2::Stage")
        .into_iter()
        .filter(|(_, stage)| {
            field(stage, "Properties")
                .and_then(|p| raw_field(p, "ApiId"))
                .is_some_and(|id| ids_in(id).contains(&api))
        })
        .collect();
    match stages.as_slice() {
        [(id, stage)] => {
            let name = field(stage, "Properties").and_then(|p| raw_field(p, "StageName"));
            let is_the_parameter = name.is_some_and(|name| {
                tag_name(name).as_deref() == Some("Ref") && untag(name).as_str() == Some("StageName")
            });
            if !is_the_parameter {
                problems.push(format!("stage {id}: StageName is {name:?}, not !Ref StageName"));
            }
        }
        _ => problems.push(format!("{api} has {} stages, expected one", stages.len())),
    }
    match template.outputs.get("WebSocketManagementEndpoint").and_then(|o| raw_field(o, "Value")) {
        Some(value) if sub_text(value) == Some(expected.as_str()) => {}
        other => problems
            .push(format!("output WebSocketManagementEndpoint is {other:?}, expected !Sub {expected:?}")),
    }
    assert_no_problems(&problems, "functions that cannot reach the WebSocket Management API");
}

/// Whether a statement allows `execute-api:ManageConnections` on POST @connections of the
/// WebSocket API's stage.
fn allows_posting_to_connections(statement: &Yaml, api: &str) -> bool {
    let effect = field(statement, "Effect").and_then(Yaml::as_str);
    let actions: Vec<&str> =
        one_or_many(field(statement, "Action")).into_iter().filter_map(Yaml::as_str).collect();
    let resource_suffix = format!(":${{{api}}}/${{StageName}}/POST/@connections/*");
    let resources = one_or_many(raw_field(statement, "Resource"));
    effect == Some("Allow")
        && actions.contains(&MANAGE_CONNECTIONS)
        && resources.into_iter().filter_map(sub_text).any(|arn| {
            arn.starts_with("arn:") && arn.contains(":execute-api:") && arn.ends_with(&resource_suffix)
        })
}

#[test]
fn the_functions_that_post_to_connections_and_only_they_may() {
    let template = Template::load();
    let api = template.websocket_api();
    let websocket: BTreeSet<String> = template
        .websocket_functions()
        .into_iter()
        .filter_map(|(function, _)| function.binary.clone().ok())
        .filter(|binary| !WEBSOCKET_FUNCTIONS_THAT_CALL_NOTHING.contains(&binary.as_str()))
        .collect();
    let mut posters: BTreeSet<String> = websocket.clone();
    posters.extend(REST_FUNCTIONS_THAT_POST_TO_CONNECTIONS.iter().map(|b| (*b).to_owned()));
    let deployed = template.binaries();
    let mut problems: Vec<String> = REST_FUNCTIONS_THAT_POST_TO_CONNECTIONS
        .iter()
        .filter(|binary| !deployed.contains(**binary))
        .map(|binary| format!("{binary} (which posts to connections) is not in the template"))
        .collect();
    for function in &template.functions {
        let Ok(binary) = &function.binary else { continue };
        let allowed = function.statements.iter().any(|s| allows_posting_to_connections(s, &api));
        let mentions_action = function.statements.iter().any(|statement| {
            one_or_many(field(statement, "Action"))
                .into_iter()
                .filter_map(Yaml::as_str)
                .any(|action| action == MANAGE_CONNECTIONS || action.starts_with("execute-api:*"))
        });
        match (posters.contains(binary), allowed) {
            (true, false) => problems.push(format!(
                "function {} ({binary}) posts to connections but no policy statement allows {MANAGE_CONNECTIONS} \
                 on arn:...:execute-api:...:${{{api}}}/${{StageName}}/POST/@connections/*",
                function.logical_id
            )),
            (false, _) if mentions_action => problems.push(format!(
                "function {} ({binary}) posts to no connection but may {MANAGE_CONNECTIONS}",
                function.logical_id
            )),
            _ => {}
        }
    }
    assert_no_problems(&problems, "ManageConnections not granted to exactly the functions that post");
}

#[test]
fn every_websocket_event_fixture_is_an_event_for_its_route() {
    let template = Template::load();
    let mut problems = Vec::new();
    for (_, route) in template.websocket_functions() {
        let event_type = match route.route_key.as_str() {
            "$connect" => "CONNECT",
            "$disconnect" => "DISCONNECT",
            _ => "MESSAGE",
        };
        for fixture in fixtures_of(&route.binary) {
            let event = read_fixture(&fixture);
            let context = |key: &str| event.pointer(&format!("/requestContext/{key}")).and_then(Json::as_str);
            if context("routeKey") != Some(route.route_key.as_str()) {
                problems.push(format!(
                    "events/{fixture}: requestContext.routeKey is {:?}, the route is {}",
                    context("routeKey"),
                    route.route_key
                ));
            }
            if context("eventType") != Some(event_type) {
                problems.push(format!(
                    "events/{fixture}: requestContext.eventType is {:?}, expected {event_type}",
                    context("eventType")
                ));
            }
            if context("connectionId").is_none_or(str::is_empty) {
                problems.push(format!("events/{fixture}: requestContext.connectionId is missing"));
            }
        }
    }
    assert_no_problems(&problems, "WebSocket event fixtures that are not events of their route");
}

/// The SNS actions each function that talks to SNS needs, and no other function gets any.
const SNS_ACTIONS: &[(&str, &[&str])] = &[
    (
        "notifications-register-device",
        &["sns:CreatePlatformEndpoint", "sns:GetEndpointAttributes", "sns:SetEndpointAttributes"],
    ),
    ("notifications-unregister-device", &["sns:DeleteEndpoint"]),
    ("notifications-send", &["sns:Publish"]),
    ("notifications-bulk-worker", &["sns:Publish"]),
    // Pushes to participants who are not connected (a message's, a session assigned, transferred
    // or closed) go from the change feed only; no session or routing function publishes.
    ("changes-process", &["sns:Publish"]),
    ("dashboard-replay-failed-change", &["sns:Publish"]),
];

#[test]
fn sns_calls_are_granted_only_to_the_functions_that_make_them() {
    let template = Template::load();
    let mut problems = Vec::new();
    for function in &template.functions {
        let Ok(binary) = &function.binary else { continue };
        let granted: BTreeSet<&str> = function
            .statements
            .iter()
            .flat_map(|statement| {
                one_or_many(field(statement, "Action")).into_iter().filter_map(Yaml::as_str)
            })
            .filter(|action| action.starts_with("sns:"))
            .collect();
        let wanted: BTreeSet<&str> = SNS_ACTIONS
            .iter()
            .find(|(b, _)| b == binary)
            .map(|(_, a)| a.iter().copied().collect())
            .unwrap_or_default();
        if granted != wanted {
            problems.push(format!("{binary}: SNS actions {granted:?}, expected {wanted:?}"));
        }
    }
    assert_no_problems(&problems, "SNS actions not granted exactly as needed");
}

#[test]
fn the_websocket_functions_that_call_nothing_may_do_nothing() {
    let template = Template::load();
    let mut problems = Vec::new();
    for binary in WEBSOCKET_FUNCTIONS_THAT_CALL_NOTHING {
        match template.functions.iter().find(|f| f.binary.as_deref() == Ok(*binary)) {
            None => problems.push(format!("{binary} is not in the template")),
            Some(function) if !function.statements.is_empty() => problems.push(format!(
                "{binary} answers on its own socket and calls nothing, yet its policy has {} statement(s)",
                function.statements.len()
            )),
            Some(_) => {}
        }
    }
    assert_no_problems(&problems, "WebSocket functions granted what they never call");
}

/// The response headers policy every behaviour of the dashboard's distribution answers with.
fn dashboard_headers_policy(template: &Template) -> Result<&Yaml, Vec<String>> {
    let (_, distribution) = template
        .of_type("AWS::CloudFront::Distribution")
        .into_iter()
        .next()
        .ok_or_else(|| vec!["the template has no CloudFront distribution".to_owned()])?;
    let config = path_of(distribution, &["Properties", "DistributionConfig"]);
    let mut behaviours: Vec<&Yaml> =
        config.and_then(|c| field(c, "DefaultCacheBehavior")).into_iter().collect();
    behaviours.extend(one_or_many(config.and_then(|c| field(c, "CacheBehaviors"))));
    let mut problems = Vec::new();
    let mut policies = BTreeSet::new();
    for behaviour in behaviours {
        let pattern =
            field(behaviour, "PathPattern").and_then(Yaml::as_str).unwrap_or("the default").to_owned();
        // The widget's files are loaded by other websites' pages: their own policy (see
        // `the_widget_files_may_be_loaded_by_any_page_and_only_read`).
        if pattern == WIDGET_FILES {
            continue;
        }
        match raw_field(behaviour, "ResponseHeadersPolicyId").map(ids_in) {
            Some(ids) if ids.len() == 1 => policies.extend(ids),
            _ => problems.push(format!("behaviour {pattern} has no ResponseHeadersPolicyId: !Ref <policy>")),
        }
    }
    match (problems.is_empty(), policies.len()) {
        (true, 1) => {
            let id = policies.into_iter().next().unwrap_or_default();
            template
                .of_type("AWS::CloudFront::ResponseHeadersPolicy")
                .into_iter()
                .find(|(logical_id, _)| *logical_id == id)
                .map(|(_, policy)| policy)
                .ok_or_else(|| vec![format!("{id} is not an AWS::CloudFront::ResponseHeadersPolicy")])
        }
        (true, _) => Err(vec![format!("the behaviours answer with different policies: {policies:?}")]),
        (false, _) => Err(problems),
    }
}

#[test]
fn the_dashboard_answers_with_hsts_a_strict_csp_and_no_framing() {
    let template = Template::load();
    let policy = dashboard_headers_policy(&template).unwrap_or_else(|problems| {
        panic!("the dashboard's security headers:\n  - {}", problems.join("\n  - "))
    });
    let headers = path_of(policy, &["Properties", "ResponseHeadersPolicyConfig", "SecurityHeadersConfig"]);
    let header = |path: &[&str]| headers.and_then(|h| path_of(h, path));
    let text = |path: &[&str]| header(path).and_then(Yaml::as_str).unwrap_or_default().to_owned();
    let csp = header(&["ContentSecurityPolicy", "ContentSecurityPolicy"])
        .and_then(|value| sub_text(value).or_else(|| value.as_str()))
        .unwrap_or_default()
        .to_owned();
    let directive = |name: &str| {
        csp.split(';')
            .map(str::trim)
            .find(|d| d.split_whitespace().next() == Some(name))
            .unwrap_or_default()
            .to_owned()
    };
    let mut problems = Vec::new();
    let max_age = header(&["StrictTransportSecurity", "AccessControlMaxAgeSec"]).and_then(Yaml::as_u64);
    if max_age.is_none_or(|age| age < 31_536_000) {
        problems.push(format!("HSTS max-age is {max_age:?}, at least a year (31536000) is wanted"));
    }
    if header(&["StrictTransportSecurity", "IncludeSubdomains"]).and_then(Yaml::as_bool) != Some(true) {
        problems.push("HSTS does not include subdomains".to_owned());
    }
    if header(&["ContentTypeOptions", "Override"]).is_none() {
        problems.push("no X-Content-Type-Options: nosniff".to_owned());
    }
    if text(&["FrameOptions", "FrameOption"]) != "DENY" {
        problems.push("X-Frame-Options is not DENY".to_owned());
    }
    if text(&["ReferrerPolicy", "ReferrerPolicy"]).is_empty() {
        problems.push("no Referrer-Policy".to_owned());
    }
    for (name, wanted) in [
        ("default-src", "default-src 'self'"),
        ("script-src", "script-src 'self'"),
        ("style-src", "style-src 'self'"),
        ("object-src", "object-src 'none'"),
        ("frame-ancestors", "frame-ancestors 'none'"),
    ] {
        if directive(name) != wanted {
            problems.push(format!("the CSP's {name} is {:?}, expected {wanted:?}", directive(name)));
        }
    }
    let connect = directive("connect-src");
    for source in ["'self'", "wss://${WebSocketApi}.execute-api.", "https://${Api}.execute-api."] {
        if !connect.contains(source) {
            problems.push(format!("the CSP's connect-src ({connect:?}) does not allow {source}"));
        }
    }
    assert_no_problems(&problems, "the dashboard's security headers");
}

#[test]
fn the_authorizer_reads_its_secret_from_ssm_with_access_to_that_parameter_only() {
    let template = Template::load();
    let authorizers: Vec<&Function> =
        template.functions.iter().filter(|f| template.is_authorizer(f)).collect();
    assert!(!authorizers.is_empty(), "no authorizer function");
    let mut problems = Vec::new();
    for function in authorizers {
        let id = &function.logical_id;
        if template.variable(function, "JWT_SECRET").is_some() {
            problems.push(format!("{id}: the secret is in plain text in its environment (JWT_SECRET)"));
        }
        if template.variable(function, "JWT_SECRET_PARAMETER").is_none() {
            problems.push(format!("{id}: no JWT_SECRET_PARAMETER"));
        }
        for statement in &function.statements {
            let actions: Vec<&str> =
                one_or_many(field(statement, "Action")).into_iter().filter_map(Yaml::as_str).collect();
            let resources: Vec<&str> =
                one_or_many(field(statement, "Resource")).into_iter().filter_map(Yaml::as_str).collect();
            let scoped = match actions.as_slice() {
                // Its own secret, and the widget token secret (widget tokens are accepted
                // whatever verifies the identity provider's).
                ["ssm:GetParameter"] => resources.iter().all(|r| {
                    r.ends_with(":parameter${JwtSecretParameterName}")
                        || r.ends_with(":parameter${WidgetTokenSecretParameterName}")
                }),
                ["kms:Decrypt"] => field(statement, "Condition")
                    .and_then(|c| field(c, "StringEquals"))
                    .and_then(|c| field(c, "kms:EncryptionContext:PARAMETER_ARN"))
                    .and_then(Yaml::as_str)
                    .is_some_and(|arn| {
                        arn.ends_with(":parameter${JwtSecretParameterName}")
                            || arn.ends_with(":parameter${WidgetTokenSecretParameterName}")
                    }),
                _ => false,
            };
            if !scoped || resources.is_empty() {
                problems.push(format!(
                    "{id}: {actions:?} on {resources:?} is more than reading the secret parameter"
                ));
            }
        }
    }
    assert_no_problems(&problems, "the authorizer's secret is not read as agreed");
}

#[test]
fn the_widget_files_may_be_loaded_by_any_page_and_only_read() {
    let template = Template::load();
    let distribution = template.of_type("AWS::CloudFront::Distribution").into_iter().next().map(|(_, d)| d);
    let behaviours = one_or_many(
        distribution.and_then(|d| path_of(d, &["Properties", "DistributionConfig", "CacheBehaviors"])),
    );
    let widget = behaviours
        .into_iter()
        .find(|b| field(b, "PathPattern").and_then(Yaml::as_str) == Some(WIDGET_FILES))
        .expect("a cache behaviour for the widget's files");
    assert!(field(widget, "FunctionAssociations").is_none(), "no SPA rewrite: a missing file is a 404");
    let policy_id = raw_field(widget, "ResponseHeadersPolicyId").map(ids_in).unwrap_or_default();
    let policy = template
        .of_type("AWS::CloudFront::ResponseHeadersPolicy")
        .into_iter()
        .find(|(id, _)| policy_id.contains(*id))
        .map(|(_, p)| p)
        .expect("the widget behaviour's response headers policy");
    let cors =
        path_of(policy, &["Properties", "ResponseHeadersPolicyConfig", "CorsConfig"]).expect("CorsConfig");
    let items = |key: &str| -> Vec<String> {
        one_or_many(field(cors, key).and_then(|c| field(c, "Items")))
            .into_iter()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect()
    };
    assert_eq!(items("AccessControlAllowOrigins"), ["*"]);
    assert_eq!(items("AccessControlAllowMethods"), ["GET", "HEAD"]);
    assert_eq!(field(cors, "AccessControlAllowCredentials").and_then(Yaml::as_bool), Some(false));
}

/// The `StringEquals` condition keys of a policy statement, lowercased (IAM reads them so).
fn string_equals_keys(statement: &Yaml) -> BTreeSet<String> {
    entries(path_of(statement, &["Condition", "StringEquals"]))
        .into_iter()
        .map(|(key, _)| key.to_lowercase())
        .collect()
}

/// Whether `resources` hold `!GetAtt <bucket>.Arn`.
fn names_bucket_arn(resources: Option<&Yaml>, bucket: &str) -> bool {
    one_or_many(resources).into_iter().any(|resource| {
        tag_name(resource).as_deref() == Some("GetAtt")
            && untag(resource).as_str() == Some(&format!("{bucket}.Arn"))
    })
}

/// Whether `resources` (literal or `!Sub`) hold `${<bucket>.Arn}/<prefix>*`.
fn names_prefix_of(resources: Option<&Yaml>, bucket: &str, prefix: &str) -> bool {
    let wanted = format!("${{{bucket}.Arn}}/{prefix}*");
    one_or_many(resources).into_iter().filter_map(sub_text).any(|arn| arn == wanted)
}

#[test]
fn ses_receiving_stores_each_mail_before_it_invokes_a_function_that_reads_it_and_only_ses_may() {
    let template = Template::load();
    let rules = template.of_type("AWS::SES::ReceiptRule");
    assert!(!rules.is_empty(), "the template has no SES receipt rule");
    let mut problems = Vec::new();
    for (id, rule) in rules {
        let depends_on: BTreeSet<&str> =
            one_or_many(field(rule, "DependsOn")).into_iter().filter_map(Yaml::as_str).collect();
        let settings = path_of(rule, &["Properties", "Rule"]).cloned().unwrap_or(Yaml::Null);
        if field(&settings, "ScanEnabled").and_then(Yaml::as_bool) != Some(true) {
            problems.push(format!("rule {id}: ScanEnabled is not true (no spam or virus verdicts)"));
        }
        if field(&settings, "TlsPolicy").and_then(Yaml::as_str) != Some("Require") {
            problems.push(format!("rule {id}: TlsPolicy is not Require"));
        }
        let actions = one_or_many(field(&settings, "Actions"));
        let kinds: Vec<&str> =
            actions.iter().filter_map(|action| untag(action).as_mapping()?.keys().next()?.as_str()).collect();
        if kinds != ["S3Action", "LambdaAction"] {
            problems.push(format!(
                "rule {id}: actions {kinds:?}, expected the mail stored, then the function invoked"
            ));
            continue;
        }
        let (store, invoke) = (untag(actions[0]), untag(actions[1]));
        let bucket =
            field(store, "S3Action").and_then(|a| raw_field(a, "BucketName")).map(ids_in).unwrap_or_default();
        let prefix = field(store, "S3Action")
            .and_then(|a| field(a, "ObjectKeyPrefix"))
            .and_then(Yaml::as_str)
            .unwrap_or_default();
        let functions = field(invoke, "LambdaAction")
            .and_then(|a| raw_field(a, "FunctionArn"))
            .map(ids_in)
            .unwrap_or_default();
        if field(invoke, "LambdaAction").and_then(|a| field(a, "InvocationType")).and_then(Yaml::as_str)
            != Some("Event")
        {
            problems.push(format!(
                "rule {id}: the function is not invoked asynchronously (InvocationType Event)"
            ));
        }
        let (Some(bucket), Some(function_id)) = (bucket.first(), functions.first()) else {
            problems.push(format!("rule {id}: the bucket or the function is not a resource of the template"));
            continue;
        };
        if !prefix.ends_with('/') {
            problems.push(format!("rule {id}: ObjectKeyPrefix {prefix:?} is not a folder"));
        }
        // SES may put the mail there (this account's rules only), and checks so when the rule is made.
        let policies: Vec<(&str, &Yaml)> = template
            .of_type("AWS::S3::BucketPolicy")
            .into_iter()
            .filter(|(_, policy)| {
                path_of(policy, &["Properties"])
                    .and_then(|p| raw_field(p, "Bucket"))
                    .is_some_and(|b| ids_in(b).contains(bucket))
            })
            .collect();
        let ses_puts = policies.iter().any(|(policy_id, policy)| {
            depends_on.contains(policy_id)
                && one_or_many(path_of(policy, &["Properties", "PolicyDocument", "Statement"]))
                    .into_iter()
                    .any(|statement| {
                        field(statement, "Effect").and_then(Yaml::as_str) == Some("Allow")
                            && path_of(statement, &["Principal", "Service"]).and_then(Yaml::as_str)
                                == Some("ses.amazonaws.com")
                            && one_or_many(field(statement, "Action"))
                                .into_iter()
                                .filter_map(Yaml::as_str)
                                .eq(["s3:PutObject"])
                            && names_prefix_of(raw_field(statement, "Resource"), bucket, prefix)
                            && string_equals_keys(statement).is_superset(&BTreeSet::from([
                                "aws:sourceaccount".to_owned(),
                                "aws:sourcearn".to_owned(),
                            ]))
                    })
        });
        if !ses_puts {
            problems.push(format!(
                "rule {id}: no policy of {bucket} it depends on lets ses.amazonaws.com s3:PutObject under {prefix} for this account's rule (aws:SourceAccount, aws:SourceArn)"
            ));
        }
        // SES alone may invoke the function, for this account.
        let invocable =
            template.of_type("AWS::Lambda::Permission").into_iter().any(|(permission_id, permission)| {
                let properties = field(permission, "Properties").cloned().unwrap_or(Yaml::Null);
                depends_on.contains(permission_id)
                    && raw_field(&properties, "FunctionName").is_some_and(|f| ids_in(f).contains(function_id))
                    && field(&properties, "Principal").and_then(Yaml::as_str) == Some("ses.amazonaws.com")
                    && field(&properties, "SourceAccount").is_some()
                    && field(&properties, "SourceArn").is_some()
            });
        if !invocable {
            problems.push(format!(
                "rule {id}: no permission it depends on lets ses.amazonaws.com invoke {function_id} for this account's rule"
            ));
        }
        // The function reads the stored mail, and nothing else of the bucket.
        let Some(function) = template.functions.iter().find(|f| &f.logical_id == function_id) else {
            problems.push(format!("rule {id}: {function_id} is not a function of the template"));
            continue;
        };
        if !function.environment.values().any(|value| ids_in(value).contains(bucket)) {
            problems.push(format!("{function_id}: no environment variable names {bucket}"));
        }
        let reads: Vec<&Yaml> = function
            .statements
            .iter()
            .filter(|statement| {
                one_or_many(raw_field(statement, "Resource")).into_iter().any(|r| ids_in(r).contains(bucket))
            })
            .collect();
        // GetObject of the stored mail; ListBucket on the bucket only so that a missing mail is a
        // 404, not a 403.
        let grants: BTreeSet<(&str, bool)> = reads
            .iter()
            .flat_map(|statement| {
                let resources = raw_field(statement, "Resource");
                let on_mail = one_or_many(resources).len() == 1 && names_prefix_of(resources, bucket, prefix);
                let on_bucket = one_or_many(resources).len() == 1 && names_bucket_arn(resources, bucket);
                one_or_many(field(statement, "Action")).into_iter().filter_map(Yaml::as_str).map(
                    move |action| {
                        (
                            action,
                            (action == "s3:GetObject" && on_mail) || (action == "s3:ListBucket" && on_bucket),
                        )
                    },
                )
            })
            .collect();
        if !grants.contains(&("s3:GetObject", true)) || grants.iter().any(|(_, fits)| !fits) {
            problems.push(format!(
                "{function_id}: its policy does not grant s3:GetObject on {bucket} under {prefix} (and s3:ListBucket on the bucket), and nothing else of it: {grants:?}"
            ));
        }
    }
    assert_no_problems(&problems, "SES receiving not wired as stored, then invoked, by SES only");
}
