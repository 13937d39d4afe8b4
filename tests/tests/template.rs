//! `infra/template.yaml`, the function binaries and the `events/` fixtures agree with each other:
//! every function in the template is built by cargo-lambda from a binary that exists, every
//! binary is deployed, every function has an event fixture, every route function has exactly one
//! well-formed route under `/api/v1/`, no two functions share a route, and each fixture is a
//! request for its function's route.
//!
//! The template is read as plain YAML: CloudFormation short tags (`!Ref`, `!Sub`, `!GetAtt`)
//! arrive as `serde_yaml::Value::Tagged`. The local gateway reads routes the same way, which is
//! why `Metadata.BuildProperties.Binary` and each route's `Path` and `Method` must be literal
//! strings, never intrinsics.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

use serde_json::Value as Json;
use serde_yaml::Value as Yaml;

const METHODS: &[&str] = &["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "ANY"];
const API_PREFIX: &str = "/api/v1/";

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
}

/// A function's one route, when it has exactly one well-formed `Api` event.
#[derive(Debug, Clone)]
struct Route {
    binary: String,
    method: String,
    path: String,
}

struct Template {
    functions: Vec<Function>,
    /// Logical ids of the functions that API Gateway calls as authorizers.
    authorizers: BTreeSet<String>,
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
                _ => {}
            }
        }
        let authorizers = referenced.into_iter().filter(|id| function_ids.contains(id.as_str())).collect();
        Self { functions, authorizers }
    }

    fn is_authorizer(&self, function: &Function) -> bool {
        self.authorizers.contains(&function.logical_id)
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
        Self { logical_id: logical_id.to_owned(), build_method, binary, api_events }
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
    let mut problems = Vec::new();
    for function in &template.functions {
        let id = &function.logical_id;
        if template.is_authorizer(function) {
            if !function.api_events.is_empty() {
                problems.push(format!("authorizer {id} also has Api events"));
            }
            continue;
        }
        if function.api_events.len() != 1 {
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
