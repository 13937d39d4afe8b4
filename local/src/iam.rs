//! Least privilege, checked: the AWS calls each function made while the tests ran, compared with
//! what its policy in `infra/template.yaml` grants.
//!
//! The tests record every call a function makes through its ports as an [`Access`]: the IAM
//! action AWS authorizes the call by and the resource it names as the port knows it (the table,
//! an index, a platform application, ...). [`Deployment`] evaluates the template in a sample
//! deployment (sample account, region and parameters; `!Ref`, `!GetAtt`, `!Sub`, `!Join`,
//! `!Select`, `!Split`, `!If` and conditions resolved as CloudFormation resolves them), gives
//! each access the ARN it would name there (from the function's own environment: `TABLE_NAME`,
//! `REPORTS_BUCKET`, `EMAIL_INBOUND_BUCKET`, `ATTACHMENTS_BUCKET`, `WEBSOCKET_ENDPOINT`,
//! `EMAIL_FROM`, the platform applications), and [`compare`] matches it against the function's
//! `Allow` statements with IAM's wildcards, both ways.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::{Deserialize, Serialize};
use serde_yaml::{Mapping, Value};
use switchboard_email::inbound::EMAIL_INBOUND_BUCKET;
use switchboard_shared::attachments::store::ATTACHMENTS_BUCKET;
use switchboard_shared::mail::ses::EMAIL_CONFIGURATION_SET;
use switchboard_shared::ops::email::EMAIL_FROM;
use switchboard_shared::push::sns::{
    SNS_PLATFORM_APPLICATION_ANDROID, SNS_PLATFORM_APPLICATION_IOS, SNS_PLATFORM_APPLICATION_WEB,
};
use switchboard_shared::realtime::apigw::WEBSOCKET_ENDPOINT;

use crate::template::{intrinsic, literal, FUNCTION};

/// What a call names, as the function's port knows it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Resource {
    /// The table.
    Table,
    /// A secondary index of the table, by name.
    Index(String),
    /// The SNS platform application of a platform (`android`, `ios`, `web`).
    PlatformApplication(String),
    /// A platform endpoint: any device's, so one under every platform application.
    PlatformEndpoint,
    /// The reports bucket, listed under `prefix`; without one, the bucket a read of a missing
    /// object needs `s3:ListBucket` on (S3 answers such a read 404 only to a caller that may list).
    ReportBucket {
        /// The listing's prefix.
        prefix: Option<String>,
    },
    /// An object of the reports bucket, by key.
    ReportObject(String),
    /// A connection of the WebSocket API (its Management API's `@connections`).
    Connection,
    /// An object of the inbound e-mail bucket (`EMAIL_INBOUND_BUCKET`), by key.
    InboundMail(String),
    /// The inbound e-mail bucket itself: a read of a missing object needs `s3:ListBucket` on it
    /// (S3 answers such a read 404 only to a caller that may list, 403 otherwise).
    InboundMailBucket,
    /// An object of the attachments bucket (`ATTACHMENTS_BUCKET`), by key.
    AttachmentObject(String),
    /// The attachments bucket itself (a read of a missing object needs `s3:ListBucket` on it).
    AttachmentsBucket,
    /// The SES identity e-mail is sent from: the domain of the function's sender (`EMAIL_FROM`).
    /// SES v2 authorizes `SendEmail` on it, and on the configuration set it names.
    EmailIdentity,
    /// The SES configuration set e-mail is sent with (`EMAIL_CONFIGURATION_SET`).
    EmailConfigurationSet,
}

/// One kind of call a function made: the IAM action that authorizes it and what it named.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Access {
    /// The function's binary (its Lambda name).
    pub function: String,
    /// The IAM action (`dynamodb:Query`, `sns:Publish`, ...).
    pub action: String,
    /// What the call named.
    pub resource: Resource,
}

impl Access {
    /// An access of `function`.
    pub fn new(function: &str, action: &str, resource: Resource) -> Self {
        Self { function: function.to_owned(), action: action.to_owned(), resource }
    }
}

/// One line of the comparison: a function, an action and a resource (an ARN, or a grant's
/// pattern).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Finding {
    /// The function's binary.
    pub function: String,
    /// The IAM action.
    pub action: String,
    /// The resource's ARN in the sample deployment (or the grant's pattern).
    pub resource: String,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} {}", self.function, self.action, self.resource)
    }
}

/// The result of [`compare`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Comparison {
    /// Performed but not granted: in AWS these calls are denied (the build fails on them).
    pub not_granted: Vec<Finding>,
    /// Granted but performed by no test: more privilege than the tests show a need for.
    pub not_performed: Vec<Finding>,
}

/// Compares what the functions did with what the template grants them.
pub fn compare(template: &str, accesses: &BTreeSet<Access>) -> Result<Comparison, String> {
    let deployment = Deployment::of(template)?;
    let mut comparison = Comparison::default();
    let mut used: BTreeSet<(String, usize)> = BTreeSet::new();
    for access in accesses {
        let Some(function) = deployment.functions.get(&access.function) else {
            comparison.not_granted.push(Finding {
                function: access.function.clone(),
                action: access.action.clone(),
                resource: "(the function is not in the template)".into(),
            });
            continue;
        };
        let prefix = match &access.resource {
            Resource::ReportBucket { prefix } => prefix.as_deref(),
            _ => None,
        };
        for arn in deployment.arns(function, &access.resource)? {
            let granting: Vec<usize> = function
                .grants
                .iter()
                .enumerate()
                .filter(|(_, grant)| grant.allows(&access.action, &arn, prefix))
                .map(|(index, _)| index)
                .collect();
            if granting.is_empty() {
                comparison.not_granted.push(Finding {
                    function: access.function.clone(),
                    action: access.action.clone(),
                    resource: arn,
                });
            }
            used.extend(granting.into_iter().map(|index| (access.function.clone(), index)));
        }
    }
    for (name, function) in &deployment.functions {
        for (index, grant) in function.grants.iter().enumerate() {
            if !used.contains(&(name.clone(), index)) {
                comparison.not_performed.push(Finding {
                    function: name.clone(),
                    action: grant.action.clone(),
                    resource: grant.describe(),
                });
            }
        }
    }
    comparison.not_granted.sort();
    comparison.not_granted.dedup();
    Ok(comparison)
}

/// One action on one resource pattern an `Allow` statement grants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    /// The action, maybe with wildcards.
    pub action: String,
    /// The resource ARN, maybe with wildcards.
    pub resource: String,
    /// The statement's condition on `s3:prefix`: the patterns one of which the listing's
    /// prefix must match.
    pub prefix: Option<Vec<String>>,
}

impl Grant {
    fn allows(&self, action: &str, arn: &str, prefix: Option<&str>) -> bool {
        let prefix_allowed = match (&self.prefix, prefix) {
            (None, _) => true,
            (Some(patterns), Some(prefix)) => patterns.iter().any(|pattern| glob(pattern, prefix)),
            // IAM: a condition on a key the request does not carry does not hold.
            (Some(_), None) => false,
        };
        glob(&self.action.to_ascii_lowercase(), &action.to_ascii_lowercase())
            && glob(&self.resource, arn)
            && prefix_allowed
    }

    fn describe(&self) -> String {
        match &self.prefix {
            Some(patterns) => format!("{} (s3:prefix {})", self.resource, patterns.join(" or ")),
            None => self.resource.clone(),
        }
    }
}

/// IAM's wildcard match: `*` any run of characters, `?` any one.
fn glob(pattern: &str, text: &str) -> bool {
    let (pattern, text): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    let (mut p, mut t) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        match pattern.get(p) {
            Some('*') => {
                star = Some((p, t));
                p += 1;
            }
            Some(&c) if c == '?' || c == text[t] => {
                p += 1;
                t += 1;
            }
            _ => match star {
                Some((star_p, star_t)) => {
                    p = star_p + 1;
                    t = star_t + 1;
                    star = Some((star_p, star_t + 1));
                }
                None => return false,
            },
        }
    }
    pattern[p..].iter().all(|c| *c == '*')
}

/// Sample deployment: the account, region and partition the template is evaluated in.
const PARTITION: &str = "aws";
const REGION: &str = "us-east-1";
const ACCOUNT: &str = "123456789012";
const STACK: &str = "switchboard";
/// The id part of the evaluated stack's `AWS::StackId` (the attachments bucket's name uses it).
const STACK_UUID: &str = "51af3dc0-da77-11e4-872e-1234567db123";

/// The sample platform application of each platform's environment variable.
const SAMPLE_APPLICATIONS: [(&str, &str, &str); 3] = [
    ("android", SNS_PLATFORM_APPLICATION_ANDROID, "app/GCM/switchboard-android"),
    ("ios", SNS_PLATFORM_APPLICATION_IOS, "app/APNS/switchboard-ios"),
    ("web", SNS_PLATFORM_APPLICATION_WEB, "app/GCM/switchboard-web"),
];

/// The sample deployment's sender (`EMAIL_FROM`).
const SAMPLE_EMAIL_FROM: &str = "support@mail.example.com";
/// The SES domain identity the sample deployment's sender sends as.
const SAMPLE_EMAIL_DOMAIN: &str = "mail.example.com";

/// A function of the sample deployment: its environment and its grants.
#[derive(Debug, Clone)]
pub struct DeployedFunction {
    /// Its environment variables (the template's globals and its own), resolved.
    pub environment: BTreeMap<String, String>,
    /// What its `Allow` statements grant.
    pub grants: Vec<Grant>,
}

/// The template evaluated in a sample deployment.
#[derive(Debug, Clone)]
pub struct Deployment {
    /// Every function with a binary, by binary.
    pub functions: BTreeMap<String, DeployedFunction>,
    /// The platform application ARN of each platform (`android`, `ios`, `web`).
    pub applications: BTreeMap<String, String>,
}

impl Deployment {
    /// Evaluates the template: every function's environment and policy statements.
    pub fn of(template: &str) -> Result<Self, String> {
        let doc: Value = serde_yaml::from_str(template).map_err(|e| format!("the template: {e}"))?;
        let resources = doc.get("Resources").and_then(Value::as_mapping).cloned().unwrap_or_default();
        let globals = doc
            .get("Globals")
            .and_then(|g| g.get("Function"))
            .and_then(|f| f.get("Environment"))
            .and_then(|e| e.get("Variables"))
            .and_then(Value::as_mapping)
            .cloned()
            .unwrap_or_default();
        let evaluator = Evaluator {
            parameters: parameters(&doc, &resources),
            resources: resources.clone(),
            conditions: doc.get("Conditions").and_then(Value::as_mapping).cloned().unwrap_or_default(),
        };
        let mut functions = BTreeMap::new();
        for (id, resource) in &resources {
            if literal(resource.get("Type")) != Some(FUNCTION) {
                continue;
            }
            let id = id.as_str().unwrap_or("?");
            let Some(binary) = literal(
                resource.get("Metadata").and_then(|m| m.get("BuildProperties")).and_then(|b| b.get("Binary")),
            ) else {
                continue;
            };
            let properties = resource.get("Properties");
            let mut environment = BTreeMap::new();
            let own = properties
                .and_then(|p| p.get("Environment"))
                .and_then(|e| e.get("Variables"))
                .and_then(Value::as_mapping);
            for (name, value) in globals.iter().chain(own.into_iter().flatten()) {
                let name = name.as_str().unwrap_or("?").to_owned();
                match evaluator.resolve(value).map_err(|e| format!("{id}: environment {name}: {e}"))? {
                    Some(value) => {
                        environment.insert(name, text(&value)?);
                    }
                    None => {
                        environment.remove(&name);
                    }
                }
            }
            let policies = match properties.and_then(|p| p.get("Policies")) {
                Some(policies) => evaluator.resolve(policies).map_err(|e| format!("{id}: Policies: {e}"))?,
                None => None,
            };
            let grants = grants(policies.as_ref()).map_err(|e| format!("{id}: {e}"))?;
            functions.insert(binary.to_owned(), DeployedFunction { environment, grants });
        }
        let applications = SAMPLE_APPLICATIONS
            .iter()
            .map(|(platform, _, path)| {
                ((*platform).to_owned(), format!("arn:{PARTITION}:sns:{REGION}:{ACCOUNT}:{path}"))
            })
            .collect();
        Ok(Self { functions, applications })
    }

    /// The ARNs a call naming `resource` names in this deployment, from the function's
    /// environment (a platform endpoint: one under every platform application).
    fn arns(&self, function: &DeployedFunction, resource: &Resource) -> Result<Vec<String>, String> {
        let variable = |name: &str| {
            function.environment.get(name).cloned().ok_or_else(|| format!("the function has no {name}"))
        };
        let table = || {
            variable("TABLE_NAME")
                .map(|table| format!("arn:{PARTITION}:dynamodb:{REGION}:{ACCOUNT}:table/{table}"))
        };
        let bucket = || variable("REPORTS_BUCKET").map(|bucket| format!("arn:{PARTITION}:s3:::{bucket}"));
        let inbound_bucket =
            || variable(EMAIL_INBOUND_BUCKET).map(|bucket| format!("arn:{PARTITION}:s3:::{bucket}"));
        let attachments_bucket =
            || variable(ATTACHMENTS_BUCKET).map(|bucket| format!("arn:{PARTITION}:s3:::{bucket}"));
        Ok(match resource {
            Resource::Table => vec![table()?],
            Resource::Index(name) => vec![format!("{}/index/{name}", table()?)],
            Resource::PlatformApplication(platform) => vec![self
                .applications
                .get(platform)
                .cloned()
                .ok_or_else(|| format!("no platform application for {platform}"))?],
            Resource::PlatformEndpoint => self
                .applications
                .values()
                .map(|application| {
                    format!(
                        "{}/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0",
                        application.replacen(":app/", ":endpoint/", 1)
                    )
                })
                .collect(),
            Resource::ReportBucket { .. } => vec![bucket()?],
            Resource::ReportObject(key) => vec![format!("{}/{key}", bucket()?)],
            Resource::InboundMail(key) => vec![format!("{}/{key}", inbound_bucket()?)],
            Resource::InboundMailBucket => vec![inbound_bucket()?],
            Resource::AttachmentObject(key) => vec![format!("{}/{key}", attachments_bucket()?)],
            Resource::AttachmentsBucket => vec![attachments_bucket()?],
            Resource::Connection => {
                let endpoint = variable(WEBSOCKET_ENDPOINT)?;
                let (api, stage) = endpoint
                    .strip_prefix("https://")
                    .and_then(|rest| rest.split_once('/'))
                    .and_then(|(host, stage)| Some((host.split_once('.')?.0, stage)))
                    .ok_or_else(|| {
                        format!("{WEBSOCKET_ENDPOINT} {endpoint} is not https://<api>.<host>/<stage>")
                    })?;
                vec![format!("arn:{PARTITION}:execute-api:{REGION}:{ACCOUNT}:{api}/{stage}/POST/@connections/Ab0Cd1Ef2Gh=")]
            }
            Resource::EmailIdentity => {
                // The sender's domain is the verified identity: SES authorizes on the address's
                // own identity only where that is verified instead, which the template does not do.
                let from = variable(EMAIL_FROM)?;
                let domain = from
                    .rsplit_once('@')
                    .map(|(_, domain)| domain)
                    .filter(|domain| !domain.is_empty())
                    .ok_or_else(|| format!("{EMAIL_FROM} {from} is not an e-mail address"))?;
                vec![format!("arn:{PARTITION}:ses:{REGION}:{ACCOUNT}:identity/{domain}")]
            }
            Resource::EmailConfigurationSet => {
                let name = variable(EMAIL_CONFIGURATION_SET)?;
                vec![format!("arn:{PARTITION}:ses:{REGION}:{ACCOUNT}:configuration-set/{name}")]
            }
        })
    }
}

/// Every parameter's value in the sample deployment: its default, or a sample platform
/// application for those a function's `SNS_PLATFORM_APPLICATION_*` refers to, the sample sender
/// for the one its `EMAIL_FROM` refers to and the sender's domain for those its policy names an
/// SES identity by (`…:identity/${EmailDomain}`), or a placeholder.
fn parameters(doc: &Value, resources: &Mapping) -> BTreeMap<String, String> {
    let mut values: BTreeMap<String, String> = doc
        .get("Parameters")
        .and_then(Value::as_mapping)
        .into_iter()
        .flatten()
        .filter_map(|(name, parameter)| {
            let name = name.as_str()?.to_owned();
            let default = match parameter.get("Default") {
                Some(Value::String(text)) => text.clone(),
                Some(Value::Number(number)) => number.to_string(),
                _ => format!("sample-{}", name.to_ascii_lowercase()),
            };
            Some((name, default))
        })
        .collect();
    for resource in resources.values() {
        let variables = resource
            .get("Properties")
            .and_then(|p| p.get("Environment"))
            .and_then(|e| e.get("Variables"))
            .and_then(Value::as_mapping);
        for (_, variable, path) in SAMPLE_APPLICATIONS {
            if let Some(parameter) = variables.and_then(|v| v.get(variable)).and_then(referenced) {
                values.insert(parameter, format!("arn:{PARTITION}:sns:{REGION}:{ACCOUNT}:{path}"));
            }
        }
        // Parameters left empty by default (no sender, no e-mail function): the sample
        // deployment sends, from one address of the one domain its policy grants.
        if let Some(parameter) = variables.and_then(|v| v.get(EMAIL_FROM)).and_then(referenced) {
            values.insert(parameter, SAMPLE_EMAIL_FROM.into());
        }
        if let Some(policies) = resource.get("Properties").and_then(|p| p.get("Policies")) {
            for parameter in ses_identity_parameters(policies) {
                values.insert(parameter, SAMPLE_EMAIL_DOMAIN.into());
            }
        }
    }
    values
}

/// The parameter of `!Ref X`.
fn referenced(value: &Value) -> Option<String> {
    match intrinsic(value) {
        Some((name, Value::String(id))) if name == "Ref" => Some(id.clone()),
        _ => None,
    }
}

/// The parameters SES identity ARNs in `value` end in: `X` of `arn:…:ses:…:identity/${X}`.
fn ses_identity_parameters(value: &Value) -> Vec<String> {
    match value {
        Value::String(text) if text.contains(":ses:") => text
            .split(":identity/${")
            .skip(1)
            .filter_map(|rest| rest.split_once('}').map(|(name, _)| name))
            .filter(|name| !name.contains(['.', '!', ':']))
            .map(str::to_owned)
            .collect(),
        Value::Sequence(items) => items.iter().flat_map(ses_identity_parameters).collect(),
        Value::Mapping(mapping) => mapping.values().flat_map(ses_identity_parameters).collect(),
        Value::Tagged(tagged) => ses_identity_parameters(&tagged.value),
        _ => Vec::new(),
    }
}

/// The grants of a function's resolved `Policies`: inline policy documents only.
fn grants(policies: Option<&Value>) -> Result<Vec<Grant>, String> {
    let mut grants = Vec::new();
    for policy in policies.map(one_or_many).unwrap_or_default() {
        let statements = policy.get("Statement").ok_or_else(|| {
            format!("policy {policy:?} is not an inline policy document; only those are checked")
        })?;
        for statement in one_or_many(statements) {
            for key in ["NotAction", "NotResource"] {
                if statement.get(key).is_some() {
                    return Err(format!("a statement with {key} is not evaluated"));
                }
            }
            if literal(statement.get("Effect")) != Some("Allow") {
                return Err("only Allow statements are evaluated".into());
            }
            let prefix = match statement.get("Condition") {
                None => None,
                // A condition on what the records do not carry (a KMS encryption context, the
                // calling service) can only narrow its statement: taking no grant from it keeps
                // the check from passing a call AWS might deny.
                Some(condition) if !names_prefix(condition) => continue,
                Some(condition) => Some(prefix_condition(condition)?),
            };
            let actions = statement.get("Action").map(one_or_many).unwrap_or_default();
            let resources = statement.get("Resource").map(one_or_many).unwrap_or_default();
            for action in &actions {
                for resource in &resources {
                    grants.push(Grant {
                        action: text(action)?,
                        resource: text(resource)?,
                        prefix: prefix.clone(),
                    });
                }
            }
        }
    }
    Ok(grants)
}

/// Whether a statement condition tests `s3:prefix`, under any operator.
fn names_prefix(condition: &Value) -> bool {
    condition
        .as_mapping()
        .is_some_and(|operators| operators.values().any(|keys| keys.get("s3:prefix").is_some()))
}

/// The patterns of a statement condition on `s3:prefix` (`StringLike` or `StringEquals`), the
/// one condition the template's policies use.
fn prefix_condition(condition: &Value) -> Result<Vec<String>, String> {
    let unsupported =
        || format!("condition {condition:?}: only StringLike/StringEquals on s3:prefix is evaluated");
    let mapping = condition.as_mapping().filter(|m| m.len() == 1).ok_or_else(unsupported)?;
    let (operator, keys) = mapping.iter().next().ok_or_else(unsupported)?;
    let keys = keys.as_mapping().filter(|k| k.len() == 1).ok_or_else(unsupported)?;
    let values = keys.get("s3:prefix").ok_or_else(unsupported)?;
    let values = one_or_many(values).iter().map(text).collect::<Result<Vec<_>, _>>()?;
    match operator.as_str() {
        Some("StringLike") => Ok(values),
        // Equality is a pattern without wildcards (the template's prefixes have none).
        Some("StringEquals") if values.iter().all(|v| !v.contains(['*', '?'])) => Ok(values),
        _ => Err(unsupported()),
    }
}

fn one_or_many(value: &Value) -> Vec<Value> {
    match value {
        Value::Sequence(items) => items.clone(),
        other => vec![other.clone()],
    }
}

fn text(value: &Value) -> Result<String, String> {
    match value {
        Value::String(text) => Ok(text.clone()),
        Value::Number(number) => Ok(number.to_string()),
        Value::Bool(flag) => Ok(flag.to_string()),
        other => Err(format!("{other:?} is not a string")),
    }
}

/// CloudFormation's intrinsic functions over the sample deployment.
struct Evaluator {
    resources: Mapping,
    conditions: Mapping,
    parameters: BTreeMap<String, String>,
}

impl Evaluator {
    /// The value with every intrinsic function resolved; `None` for `!Ref AWS::NoValue` (which
    /// also drops out of lists and mappings).
    fn resolve(&self, value: &Value) -> Result<Option<Value>, String> {
        if let Some((name, argument)) = intrinsic(value) {
            return self.function(&name, argument);
        }
        Ok(Some(match value {
            Value::Sequence(items) => {
                let mut resolved = Vec::new();
                for item in items {
                    resolved.extend(self.resolve(item)?);
                }
                Value::Sequence(resolved)
            }
            Value::Mapping(mapping) => {
                let mut resolved = Mapping::new();
                for (key, item) in mapping {
                    if let Some(item) = self.resolve(item)? {
                        resolved.insert(key.clone(), item);
                    }
                }
                Value::Mapping(resolved)
            }
            other => other.clone(),
        }))
    }

    fn resolved(&self, value: &Value) -> Result<Value, String> {
        self.resolve(value)?.ok_or_else(|| "AWS::NoValue where a value is needed".into())
    }

    fn function(&self, name: &str, argument: &Value) -> Result<Option<Value>, String> {
        let arguments = || argument.as_sequence().map(Vec::as_slice).unwrap_or_default();
        let string = |value: String| Ok(Some(Value::String(value)));
        match name {
            "Ref" => match argument.as_str() {
                Some("AWS::NoValue") => Ok(None),
                Some(id) => string(self.reference(id)?),
                None => Err(format!("!Ref {argument:?}")),
            },
            "GetAtt" => {
                let (id, attribute) = match argument {
                    Value::String(text) => text.split_once('.').ok_or_else(|| format!("!GetAtt {text}"))?,
                    _ => match arguments() {
                        [id, attribute] => (id.as_str().unwrap_or("?"), attribute.as_str().unwrap_or("?")),
                        _ => return Err(format!("!GetAtt {argument:?}")),
                    },
                };
                string(self.attribute(id, attribute)?)
            }
            "Sub" => {
                let (template, variables) = match argument {
                    Value::String(template) => (template.as_str(), Mapping::new()),
                    _ => match arguments() {
                        [Value::String(template), Value::Mapping(variables)] => {
                            (template.as_str(), variables.clone())
                        }
                        _ => return Err(format!("!Sub {argument:?}")),
                    },
                };
                string(self.substitute(template, &variables)?)
            }
            "Join" => match arguments() {
                [separator, list] => {
                    let parts =
                        one_or_many(&self.resolved(list)?).iter().map(text).collect::<Result<Vec<_>, _>>()?;
                    string(parts.join(&text(separator)?))
                }
                _ => Err(format!("!Join {argument:?}")),
            },
            "Select" => match arguments() {
                [index, list] => {
                    let index: usize =
                        text(&self.resolved(index)?)?.parse().map_err(|_| format!("!Select {index:?}"))?;
                    let list = one_or_many(&self.resolved(list)?);
                    list.get(index).cloned().map(Some).ok_or_else(|| format!("!Select {index} of {list:?}"))
                }
                _ => Err(format!("!Select {argument:?}")),
            },
            "Split" => match arguments() {
                [separator, source] => {
                    let source = text(&self.resolved(source)?)?;
                    let separator = text(separator)?;
                    Ok(Some(Value::Sequence(
                        source.split(separator.as_str()).map(|p| Value::String(p.to_owned())).collect(),
                    )))
                }
                _ => Err(format!("!Split {argument:?}")),
            },
            "If" => match arguments() {
                [Value::String(condition), then, otherwise] => {
                    self.resolve(if self.condition(condition)? { then } else { otherwise })
                }
                _ => Err(format!("!If {argument:?}")),
            },
            other => Err(format!("!{other} is not evaluated")),
        }
    }

    /// `!Ref id`: a pseudo parameter, a parameter, or a resource (named after its logical id).
    fn reference(&self, id: &str) -> Result<String, String> {
        Ok(match id {
            "AWS::Region" => REGION.into(),
            "AWS::AccountId" => ACCOUNT.into(),
            "AWS::Partition" => PARTITION.into(),
            "AWS::StackName" => STACK.into(),
            "AWS::StackId" => {
                format!("arn:{PARTITION}:cloudformation:{REGION}:{ACCOUNT}:stack/{STACK}/{STACK_UUID}")
            }
            "AWS::URLSuffix" => "amazonaws.com".into(),
            _ => match self.parameters.get(id) {
                Some(value) => value.clone(),
                None if self.resources.contains_key(id) => format!("{STACK}-{}", id.to_ascii_lowercase()),
                None => return Err(format!("!Ref {id}: no such parameter or resource")),
            },
        })
    }

    /// `!GetAtt id.attribute`; an `Arn` as the resource's type has it.
    fn attribute(&self, id: &str, attribute: &str) -> Result<String, String> {
        let resource = self.resources.get(id).ok_or_else(|| format!("!GetAtt {id}: no such resource"))?;
        let name = self.reference(id)?;
        if attribute != "Arn" {
            return Ok(format!("{name}-{}", attribute.to_ascii_lowercase()));
        }
        Ok(match literal(resource.get("Type")) {
            Some("AWS::DynamoDB::Table") => {
                format!("arn:{PARTITION}:dynamodb:{REGION}:{ACCOUNT}:table/{name}")
            }
            Some("AWS::S3::Bucket") => format!("arn:{PARTITION}:s3:::{name}"),
            Some(FUNCTION) => format!("arn:{PARTITION}:lambda:{REGION}:{ACCOUNT}:function:{name}"),
            _ => format!("arn:{PARTITION}:cloudformation:{REGION}:{ACCOUNT}:{name}"),
        })
    }

    /// A `!Sub` string: `${Name}` as `!Ref`, `${Name.Attribute}` as `!GetAtt`, `${!Literal}`.
    fn substitute(&self, template: &str, variables: &Mapping) -> Result<String, String> {
        let mut out = String::new();
        let mut rest = template;
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            let end = after.find('}').ok_or_else(|| format!("!Sub {template}: an unclosed ${{"))?;
            let name = &after[..end];
            if let Some(literal) = name.strip_prefix('!') {
                out.push_str(&format!("${{{literal}}}"));
            } else if let Some(value) = variables.get(name) {
                out.push_str(&text(&self.resolved(value)?)?);
            } else if let Some((id, attribute)) = name.split_once('.') {
                out.push_str(&self.attribute(id, attribute)?);
            } else {
                out.push_str(&self.reference(name)?);
            }
            rest = &after[end + 1..];
        }
        out.push_str(rest);
        Ok(out)
    }

    /// The named condition of the template's `Conditions`.
    fn condition(&self, name: &str) -> Result<bool, String> {
        let condition = self.conditions.get(name).ok_or_else(|| format!("no condition {name}"))?;
        self.truth(condition)
    }

    fn truth(&self, value: &Value) -> Result<bool, String> {
        let (name, argument) = intrinsic(value).ok_or_else(|| format!("condition {value:?}"))?;
        let arguments = argument.as_sequence().map(Vec::as_slice).unwrap_or_default();
        match (name.as_str(), arguments) {
            ("Equals", [left, right]) => Ok(self.resolve(left)? == self.resolve(right)?),
            ("Not", [inner]) => Ok(!self.truth(inner)?),
            ("And", all) => all.iter().try_fold(true, |so_far, c| Ok(so_far && self.truth(c)?)),
            ("Or", any) => any.iter().try_fold(false, |so_far, c| Ok(so_far || self.truth(c)?)),
            ("Condition", _) => {
                self.condition(argument.as_str().ok_or_else(|| format!("!Condition {argument:?}"))?)
            }
            _ => Err(format!("condition !{name} {argument:?}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accesses(list: &[(&str, &str, Resource)]) -> BTreeSet<Access> {
        list.iter()
            .map(|(function, action, resource)| Access::new(function, action, resource.clone()))
            .collect()
    }

    /// A template with one function shaped like chat-list-notes before its fix: Query on the
    /// table only.
    const NOTES_ON_THE_TABLE_ONLY: &str = r#"
Resources:
  Table:
    Type: AWS::DynamoDB::Table
  WebSocketApi:
    Type: AWS::ApiGatewayV2::Api
  NotesFunction:
    Type: AWS::Serverless::Function
    Metadata:
      BuildProperties:
        Binary: chat-list-notes
    Properties:
      Environment:
        Variables:
          TABLE_NAME: !Ref Table
      Policies:
        - Version: "2012-10-17"
          Statement:
            - Effect: Allow
              Action:
                - dynamodb:GetItem
                - dynamodb:Query
              Resource:
                - !GetAtt Table.Arn
"#;

    #[test]
    fn a_query_on_an_index_the_policy_grants_only_on_the_table_is_not_granted() {
        let performed = accesses(&[
            ("chat-list-notes", "dynamodb:GetItem", Resource::Table),
            ("chat-list-notes", "dynamodb:Query", Resource::Table),
            ("chat-list-notes", "dynamodb:Query", Resource::Index("gsi3".into())),
        ]);
        let comparison = compare(NOTES_ON_THE_TABLE_ONLY, &performed).unwrap();
        let missing: Vec<String> = comparison.not_granted.iter().map(ToString::to_string).collect();
        assert_eq!(
            missing,
            ["chat-list-notes dynamodb:Query arn:aws:dynamodb:us-east-1:123456789012:table/switchboard-table/index/gsi3"]
        );
        assert_eq!(comparison.not_performed, []);
    }

    #[test]
    fn a_grant_on_every_index_covers_a_named_one_and_unused_grants_are_listed() {
        let template = NOTES_ON_THE_TABLE_ONLY.replace(
            "                - !GetAtt Table.Arn\n",
            "                - !GetAtt Table.Arn\n                - !Sub \"${Table.Arn}/index/*\"\n",
        );
        let performed = accesses(&[("chat-list-notes", "dynamodb:Query", Resource::Index("gsi3".into()))]);
        let comparison = compare(&template, &performed).unwrap();
        assert_eq!(comparison.not_granted, []);
        let unused: Vec<String> = comparison.not_performed.iter().map(ToString::to_string).collect();
        let table = "arn:aws:dynamodb:us-east-1:123456789012:table/switchboard-table";
        assert_eq!(
            unused,
            [
                format!("chat-list-notes dynamodb:GetItem {table}"),
                format!("chat-list-notes dynamodb:GetItem {table}/index/*"),
                format!("chat-list-notes dynamodb:Query {table}"),
            ]
        );
    }

    #[test]
    fn a_statement_conditioned_on_what_the_records_do_not_carry_grants_nothing() {
        let template = NOTES_ON_THE_TABLE_ONLY.replace(
            "              Resource:\n                - !GetAtt Table.Arn\n",
            "              Resource:\n                - !GetAtt Table.Arn\n              Condition:\n                StringEquals:\n                  aws:SourceVpce: vpce-1\n",
        );
        let performed = accesses(&[("chat-list-notes", "dynamodb:GetItem", Resource::Table)]);
        let comparison = compare(&template, &performed).unwrap();
        assert_eq!(comparison.not_granted.len(), 1, "{:?}", comparison.not_granted);
        assert_eq!(comparison.not_performed, []);
    }

    #[test]
    fn a_function_missing_from_the_template_is_not_granted_anything() {
        let performed = accesses(&[("chat-ghost", "dynamodb:GetItem", Resource::Table)]);
        let comparison = compare(NOTES_ON_THE_TABLE_ONLY, &performed).unwrap();
        assert_eq!(comparison.not_granted.len(), 1);
        assert_eq!(comparison.not_granted[0].function, "chat-ghost");
    }

    #[test]
    fn iam_wildcards_match_runs_and_single_characters() {
        assert!(glob("arn:aws:s3:::bucket/daily/*", "arn:aws:s3:::bucket/daily/2026-12-01.pdf"));
        assert!(glob("dynamodb:*", "dynamodb:query"));
        assert!(glob("a?c*", "abcdef"));
        assert!(!glob("arn:aws:s3:::bucket/daily/*", "arn:aws:s3:::bucket/weekly/x"));
        assert!(!glob("arn:aws:dynamodb:r:a:table/t", "arn:aws:dynamodb:r:a:table/t/index/gsi1"));
        assert!(glob("*", ""));
    }

    #[test]
    fn intrinsics_and_conditions_resolve_as_cloudformation_does() {
        let template = r#"
Parameters:
  App:
    Type: String
    Default: "arn:aws:sns:us-east-1:1:app/GCM/phones"
  Off:
    Type: String
    Default: ""
Conditions:
  HasApp: !Not [!Equals [!Ref App, ""]]
  HasOff: !Not [!Equals [!Ref Off, ""]]
  Either: !Or [!Condition HasApp, !Condition HasOff]
Resources:
  Probe:
    Type: AWS::Serverless::Function
    Metadata:
      BuildProperties:
        Binary: probe
    Properties:
      Environment:
        Variables:
          ENDPOINTS: !Join ["", [!Select [0, !Split [":app/", !Ref App]], ":endpoint/", !Select [1, !Split [":app/", !Ref App]], "/*"]]
          OFF: !If [HasOff, !Ref Off, !Ref AWS::NoValue]
          EITHER: !If [Either, "yes", "no"]
          SUB: !Sub ["${AWS::Region}/${Name}/${!Literal}", {Name: !Select [1, [a, b]]}]
"#;
        let deployment = Deployment::of(template).unwrap();
        let environment = &deployment.functions["probe"].environment;
        assert_eq!(environment["ENDPOINTS"], "arn:aws:sns:us-east-1:1:endpoint/GCM/phones/*");
        assert!(!environment.contains_key("OFF"));
        assert_eq!(environment["EITHER"], "yes");
        assert_eq!(environment["SUB"], "us-east-1/b/${Literal}");
    }

    /// A template with one function that sends e-mail as its domain's SES identity, sender and
    /// domain parameters left empty by default.
    const SENDING_FROM_THE_DOMAIN: &str = r#"
Parameters:
  EmailFrom:
    Type: String
    Default: ""
  EmailDomain:
    Type: String
    Default: ""
Resources:
  SweepFunction:
    Type: AWS::Serverless::Function
    Metadata:
      BuildProperties:
        Binary: email-sweep
    Properties:
      Environment:
        Variables:
          EMAIL_FROM: !Ref EmailFrom
      Policies:
        - Statement:
            - Effect: Allow
              Action: ses:SendEmail
              Resource: !Sub "arn:${AWS::Partition}:ses:${AWS::Region}:${AWS::AccountId}:identity/${EmailDomain}"
"#;

    #[test]
    fn sending_e_mail_is_granted_on_the_identity_of_the_senders_domain() {
        let performed = accesses(&[("email-sweep", "ses:SendEmail", Resource::EmailIdentity)]);

        let comparison = compare(SENDING_FROM_THE_DOMAIN, &performed).unwrap();

        assert_eq!(comparison, Comparison::default());
    }

    #[test]
    fn sending_e_mail_from_another_domain_than_the_granted_identity_is_not_granted() {
        let template = SENDING_FROM_THE_DOMAIN.replace("!Ref EmailFrom", "support@example.net");
        let performed = accesses(&[("email-sweep", "ses:SendEmail", Resource::EmailIdentity)]);

        let comparison = compare(&template, &performed).unwrap();

        let missing: Vec<String> = comparison.not_granted.iter().map(ToString::to_string).collect();
        assert_eq!(
            missing,
            ["email-sweep ses:SendEmail arn:aws:ses:us-east-1:123456789012:identity/example.net"]
        );
        let unused: Vec<String> = comparison.not_performed.iter().map(ToString::to_string).collect();
        assert_eq!(
            unused,
            ["email-sweep ses:SendEmail arn:aws:ses:us-east-1:123456789012:identity/mail.example.com"]
        );
    }

    #[test]
    fn the_template_lets_the_sweep_send_e_mail_as_its_senders_domain() {
        let performed = accesses(&[
            ("email-sweep", "ses:SendEmail", Resource::EmailIdentity),
            ("email-sweep", "ses:SendEmail", Resource::EmailConfigurationSet),
        ]);

        let comparison = compare(crate::template::TEMPLATE, &performed).unwrap();

        assert_eq!(comparison.not_granted, []);
        assert!(
            !comparison.not_performed.iter().any(|unused| unused.action == "ses:SendEmail"),
            "{:?}",
            comparison.not_performed
        );
    }

    #[test]
    fn the_template_lets_the_inbound_function_read_stored_mail_and_store_attachments_only() {
        let key = "inbound/a3k1m5v9c2q8r7t6p0n4b3x2z1y5w8e7d6f9g0h1";
        let file = "attachments/01JD000000000000000000000E/01JD000000000000000000000G";
        let performed = accesses(&[
            ("email-inbound", "s3:GetObject", Resource::InboundMail(key.into())),
            ("email-inbound", "s3:ListBucket", Resource::InboundMailBucket),
            ("email-inbound", "s3:PutObject", Resource::AttachmentObject(file.into())),
            ("email-inbound", "s3:GetObject", Resource::InboundMail("attachments/a/b".into())),
            ("email-inbound", "s3:PutObject", Resource::InboundMail(key.into())),
            ("email-inbound", "s3:GetObject", Resource::AttachmentObject(file.into())),
        ]);

        let comparison = compare(crate::template::TEMPLATE, &performed).unwrap();

        let denied: Vec<(&str, &str)> =
            comparison.not_granted.iter().map(|f| (f.action.as_str(), f.resource.as_str())).collect();
        let (bucket, attachments) =
            ("arn:aws:s3:::switchboard-emailinboundbucket", "arn:aws:s3:::switchboard-attachmentsbucket");
        assert_eq!(
            denied,
            [
                ("s3:GetObject", format!("{attachments}/{file}").as_str()),
                ("s3:GetObject", format!("{bucket}/attachments/a/b").as_str()),
                ("s3:PutObject", format!("{bucket}/{key}").as_str())
            ]
        );
    }

    #[test]
    fn the_template_grants_sns_only_on_the_platform_applications_and_their_endpoints() {
        let deployment = Deployment::of(crate::template::TEMPLATE).unwrap();
        let applications: Vec<&String> = deployment.applications.values().collect();
        let mut checked = 0;
        for (binary, function) in &deployment.functions {
            for grant in function.grants.iter().filter(|g| g.action.starts_with("sns:")) {
                checked += 1;
                let under_an_application = applications.iter().any(|application| {
                    grant.resource == **application
                        || grant.resource == format!("{}/*", application.replacen(":app/", ":endpoint/", 1))
                });
                assert!(under_an_application, "{binary}: {} on {}", grant.action, grant.resource);
            }
        }
        assert!(checked > 0, "the template grants SNS actions");
    }

    #[test]
    fn the_template_lets_the_functions_reading_a_waiting_session_query_the_queue_indexes() {
        // Reading a waiting session annotates its queue position: agents on duty by status
        // (gsi2) and the waiting queue (gsi3).
        let mut performed = BTreeSet::new();
        for function in ["chat-list-notes", "chat-edit-note", "agent-render-canned-response"] {
            for index in ["gsi2", "gsi3"] {
                performed.insert(Access::new(function, "dynamodb:Query", Resource::Index(index.into())));
            }
        }
        let comparison = compare(crate::template::TEMPLATE, &performed).unwrap();
        assert_eq!(comparison.not_granted, []);
    }
}
