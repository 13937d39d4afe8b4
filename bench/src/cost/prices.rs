//! The list prices the benchmark charges, all in one place: AWS us-east-1, on-demand, the first
//! pricing tier of each service, as published on the services' pricing pages (the URLs below).
//! Change a price here and every table follows.

/// When the prices below were taken from the pricing pages.
pub const PRICES_DATE: &str = "2026-12-06";
/// The region they are for.
pub const REGION: &str = "us-east-1";

/// One price: US dollars for one `unit` of a service's meter.
#[derive(Debug, Clone, Copy)]
pub struct Price {
    /// The service.
    pub service: &'static str,
    /// What is counted.
    pub unit: &'static str,
    /// Dollars per one unit.
    pub usd: f64,
    /// Where it is published.
    pub source: &'static str,
}

const MILLION: f64 = 1_000_000.0;
const GIB: f64 = 1024.0 * 1024.0 * 1024.0;

/// API Gateway REST API: a request (first 333 million a month).
pub const REST_REQUEST: Price = Price {
    service: "API Gateway REST",
    unit: "request",
    usd: 3.50 / MILLION,
    source: "https://aws.amazon.com/api-gateway/pricing/",
};
/// API Gateway WebSocket API: a message sent or received, per 32 KB (first billion a month).
pub const WS_MESSAGE: Price = Price {
    service: "API Gateway WebSocket",
    unit: "message (32 KB)",
    usd: 1.00 / MILLION,
    source: "https://aws.amazon.com/api-gateway/pricing/",
};
/// API Gateway WebSocket API: a connection minute.
pub const WS_CONNECTION_MINUTE: Price = Price {
    service: "API Gateway WebSocket",
    unit: "connection minute",
    usd: 0.25 / MILLION,
    source: "https://aws.amazon.com/api-gateway/pricing/",
};
/// Lambda: an invocation.
pub const LAMBDA_REQUEST: Price = Price {
    service: "Lambda",
    unit: "invocation",
    usd: 0.20 / MILLION,
    source: "https://aws.amazon.com/lambda/pricing/",
};
/// Lambda on arm64 at 128 MB: a billed millisecond ($0.0000133334 per GB-second × 0.125 GB).
pub const LAMBDA_MS_128MB_ARM: Price = Price {
    service: "Lambda",
    unit: "ms at 128 MB arm64",
    usd: 0.000_013_333_4 * 0.125 / 1000.0,
    source: "https://aws.amazon.com/lambda/pricing/",
};
/// DynamoDB on demand: a write request unit.
pub const DYNAMODB_WRITE_UNIT: Price = Price {
    service: "DynamoDB",
    unit: "write request unit",
    usd: 0.625 / MILLION,
    source: "https://aws.amazon.com/dynamodb/pricing/on-demand/",
};
/// DynamoDB on demand: a read request unit.
pub const DYNAMODB_READ_UNIT: Price = Price {
    service: "DynamoDB",
    unit: "read request unit",
    usd: 0.125 / MILLION,
    source: "https://aws.amazon.com/dynamodb/pricing/on-demand/",
};
/// DynamoDB provisioned capacity (standard table class): a write capacity unit for an hour. Not
/// charged in the profiles' totals; the report prices their write units with it as the other
/// billing mode a steady floor could choose (see [`provisioned_unit_usd`]).
pub const DYNAMODB_WCU_HOUR: Price = Price {
    service: "DynamoDB provisioned",
    unit: "write capacity unit-hour",
    usd: 0.00065,
    source: "https://aws.amazon.com/dynamodb/pricing/provisioned/",
};
/// DynamoDB provisioned capacity (standard table class): a read capacity unit for an hour.
pub const DYNAMODB_RCU_HOUR: Price = Price {
    service: "DynamoDB provisioned",
    unit: "read capacity unit-hour",
    usd: 0.00013,
    source: "https://aws.amazon.com/dynamodb/pricing/provisioned/",
};
/// The utilization auto scaling holds provisioned capacity at (its default target): capacity
/// paid for but not used is the rest.
pub const PROVISIONED_UTILIZATION: f64 = 0.70;

/// What one request unit costs on provisioned capacity bought by the hour (`unit_hour`: a
/// capacity unit serves one request unit a second) and used at [`PROVISIONED_UTILIZATION`].
pub fn provisioned_unit_usd(unit_hour: Price) -> f64 {
    unit_hour.usd / 3600.0 / PROVISIONED_UTILIZATION
}
/// DynamoDB Streams read by a Lambda trigger: free ("GetRecords API calls invoked by AWS Lambda
/// as part of DynamoDB triggers are free").
pub const STREAM_READ: Price = Price {
    service: "DynamoDB Streams",
    unit: "stream record read by Lambda",
    usd: 0.0,
    source: "https://aws.amazon.com/dynamodb/pricing/on-demand/",
};
/// SNS: a publish request and its mobile push delivery ($0.50 + $0.50 per million).
pub const SNS_MOBILE_PUSH: Price = Price {
    service: "SNS",
    unit: "publish + mobile push",
    usd: 1.00 / MILLION,
    source: "https://aws.amazon.com/sns/pricing/",
};
/// S3 Standard: a PUT, COPY, POST or LIST request.
pub const S3_REQUEST: Price = Price {
    service: "S3",
    unit: "PUT/POST request",
    usd: 0.005 / 1000.0,
    source: "https://aws.amazon.com/s3/pricing/",
};
/// SES: an outbound e-mail.
pub const SES_EMAIL: Price = Price {
    service: "SES",
    unit: "e-mail sent",
    usd: 0.10 / 1000.0,
    source: "https://aws.amazon.com/ses/pricing/",
};
/// CloudWatch Logs: a byte ingested (standard class, $0.50 per GB).
pub const LOG_BYTE: Price = Price {
    service: "CloudWatch Logs",
    unit: "byte ingested",
    usd: 0.50 / GIB,
    source: "https://aws.amazon.com/cloudwatch/pricing/",
};

/// Every price, in the order the tables list them.
pub const ALL: [Price; 12] = [
    REST_REQUEST,
    WS_MESSAGE,
    WS_CONNECTION_MINUTE,
    LAMBDA_REQUEST,
    LAMBDA_MS_128MB_ARM,
    DYNAMODB_WRITE_UNIT,
    DYNAMODB_READ_UNIT,
    STREAM_READ,
    SNS_MOBILE_PUSH,
    S3_REQUEST,
    SES_EMAIL,
    LOG_BYTE,
];
