//! What one action (or one conversation) used of each billed meter, and its price.

use std::ops::{Add, Sub};

use super::prices::{self, Price};

/// Billed quantities. Fractions arise from averages over several conversations.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Usage {
    /// REST API requests.
    pub rest_requests: f64,
    /// WebSocket messages from clients, in 32 KB units.
    pub ws_in: f64,
    /// WebSocket messages to clients (replies and posts), in 32 KB units.
    pub ws_out: f64,
    /// WebSocket connection minutes (each connection's minutes rounded up).
    pub connection_minutes: f64,
    /// Lambda invocations: route functions, authorizers, the change feed's batches.
    pub invocations: f64,
    /// Lambda milliseconds billed (see [`super::ports`] for how they are estimated).
    pub billed_ms: f64,
    /// DynamoDB write request units, from the items' real sizes.
    pub write_units: f64,
    /// DynamoDB read request units, from the items' real sizes.
    pub read_units: f64,
    /// DynamoDB calls (not billed as such; the handler time counts them).
    pub dynamodb_calls: f64,
    /// Stream records the change feed read.
    pub stream_records: f64,
    /// Push notifications published through SNS.
    pub pushes: f64,
    /// S3 requests made by the functions.
    pub s3_requests: f64,
    /// E-mails sent through SES.
    pub emails: f64,
    /// CloudWatch Logs bytes ingested (log lines, Lambda's own lines, per-event overhead).
    pub log_bytes: f64,
}

macro_rules! each_field {
    ($mac:ident, $a:expr, $b:expr) => {
        Usage {
            rest_requests: $mac($a.rest_requests, $b.rest_requests),
            ws_in: $mac($a.ws_in, $b.ws_in),
            ws_out: $mac($a.ws_out, $b.ws_out),
            connection_minutes: $mac($a.connection_minutes, $b.connection_minutes),
            invocations: $mac($a.invocations, $b.invocations),
            billed_ms: $mac($a.billed_ms, $b.billed_ms),
            write_units: $mac($a.write_units, $b.write_units),
            read_units: $mac($a.read_units, $b.read_units),
            dynamodb_calls: $mac($a.dynamodb_calls, $b.dynamodb_calls),
            stream_records: $mac($a.stream_records, $b.stream_records),
            pushes: $mac($a.pushes, $b.pushes),
            s3_requests: $mac($a.s3_requests, $b.s3_requests),
            emails: $mac($a.emails, $b.emails),
            log_bytes: $mac($a.log_bytes, $b.log_bytes),
        }
    };
}

fn plus(a: f64, b: f64) -> f64 {
    a + b
}

fn minus(a: f64, b: f64) -> f64 {
    a - b
}

impl Add for Usage {
    type Output = Usage;
    fn add(self, other: Usage) -> Usage {
        each_field!(plus, self, other)
    }
}

impl Sub for Usage {
    type Output = Usage;
    fn sub(self, other: Usage) -> Usage {
        each_field!(minus, self, other)
    }
}

impl Usage {
    /// Every quantity divided by `by` (an average over `by` occurrences).
    pub fn per(self, by: f64) -> Usage {
        let divide = |a: f64, _: f64| if by > 0.0 { a / by } else { 0.0 };
        each_field!(divide, self, self)
    }

    /// Each billed meter with its quantity, in the order of [`prices::ALL`].
    pub fn metered(&self) -> [(Price, f64); 12] {
        [
            (prices::REST_REQUEST, self.rest_requests),
            (prices::WS_MESSAGE, self.ws_in + self.ws_out),
            (prices::WS_CONNECTION_MINUTE, self.connection_minutes),
            (prices::LAMBDA_REQUEST, self.invocations),
            (prices::LAMBDA_MS_128MB_ARM, self.billed_ms),
            (prices::DYNAMODB_WRITE_UNIT, self.write_units),
            (prices::DYNAMODB_READ_UNIT, self.read_units),
            (prices::STREAM_READ, self.stream_records),
            (prices::SNS_MOBILE_PUSH, self.pushes),
            (prices::S3_REQUEST, self.s3_requests),
            (prices::SES_EMAIL, self.emails),
            (prices::LOG_BYTE, self.log_bytes),
        ]
    }

    /// Dollars per service, services in the order of [`prices::ALL`].
    pub fn by_service(&self) -> Vec<(&'static str, f64)> {
        let mut out: Vec<(&'static str, f64)> = Vec::new();
        for (price, quantity) in self.metered() {
            match out.iter_mut().find(|(service, _)| *service == price.service) {
                Some((_, usd)) => *usd += price.usd * quantity,
                None => out.push((price.service, price.usd * quantity)),
            }
        }
        out
    }

    /// Dollars in all.
    pub fn usd(&self) -> f64 {
        self.metered().iter().map(|(price, quantity)| price.usd * quantity).sum()
    }

    /// Dollars for DynamoDB's request units on demand (as [`Usage::usd`] counts them).
    pub fn dynamodb_usd(&self) -> f64 {
        self.write_units * prices::DYNAMODB_WRITE_UNIT.usd + self.read_units * prices::DYNAMODB_READ_UNIT.usd
    }

    /// Dollars for the same request units on provisioned capacity held at
    /// [`prices::PROVISIONED_UTILIZATION`].
    pub fn dynamodb_provisioned_usd(&self) -> f64 {
        self.write_units * prices::provisioned_unit_usd(prices::DYNAMODB_WCU_HOUR)
            + self.read_units * prices::provisioned_unit_usd(prices::DYNAMODB_RCU_HOUR)
    }

    /// Dollars in all, DynamoDB's request units on provisioned capacity.
    pub fn usd_with_provisioned_dynamodb(&self) -> f64 {
        self.usd() - self.dynamodb_usd() + self.dynamodb_provisioned_usd()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_websocket_message_and_a_write_unit_are_priced_at_list() {
        let usage = Usage { ws_in: 1.0, ws_out: 1.0, write_units: 2.0, ..Usage::default() };

        let usd = usage.usd();

        assert!((usd - (2.0 * 1.00 + 2.0 * 0.625) / 1_000_000.0).abs() < 1e-15, "{usd}");
    }

    #[test]
    fn provisioned_units_cost_the_hour_over_the_seconds_used() {
        let usage = Usage { write_units: 3600.0 * 0.7, read_units: 3600.0 * 0.7, ..Usage::default() };

        let usd = usage.dynamodb_provisioned_usd();

        // A capacity unit used at 70% for an hour serves 0.7 × 3,600 request units.
        assert!((usd - (0.00065 + 0.00013)).abs() < 1e-12, "{usd}");
        assert!(usd < usage.dynamodb_usd());
    }

    #[test]
    fn services_add_their_meters() {
        let usage = Usage { ws_in: 3.0, connection_minutes: 4.0, ..Usage::default() };

        let services = usage.by_service();

        let websocket = services.iter().find(|(s, _)| *s == "API Gateway WebSocket").map(|(_, usd)| *usd);
        assert_eq!(websocket, Some(3.0 * 1.00 / 1e6 + 4.0 * 0.25 / 1e6));
    }
}
