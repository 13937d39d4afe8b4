//! Routes read from `infra/template.yaml`: the one source of truth for what the API serves.

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
            routes.push(Route {
                method: method.to_uppercase(),
                path: path.to_owned(),
                binary: binary.to_owned(),
            });
        }
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
}
