//! The benchmark's Markdown: per profile, a table per action, one per service and the total with
//! DynamoDB's units billed on provisioned capacity and not at all; the prices; and as the last line
//! `usd_per_1000_conversations=X.XXXX` for the main profile.

use std::fmt::Write;

use super::prices::{self, ALL};
use super::Measured;

fn micro(usd: f64) -> String {
    format!("{:.3}", usd * 1e6)
}

/// The report of `measured` (the main profile first).
pub fn markdown(measured: &[Measured]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# Cost per conversation\n\nAWS list prices of {} (on demand, first tier), taken {}. \
         µ$ = millionths of a dollar; $/1k = dollars per 1,000 conversations.\n",
        prices::REGION,
        prices::PRICES_DATE
    );
    for profile in measured {
        let per = profile.per_conversation();
        let _ = writeln!(
            out,
            "## Profile `{}` ({} conversations; figures per conversation)\n",
            profile.profile.name(),
            profile.conversations
        );
        let _ = writeln!(
            out,
            "| action | times | WS msgs in/out | REST | Lambda | DynamoDB calls | WCU | RCU | stream records | pushes | log bytes | µ$ each | µ$ per conversation |"
        );
        let _ = writeln!(out, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        let n = profile.conversations as f64;
        for (name, tally) in &profile.actions {
            let each = tally.usage.per(tally.count as f64);
            let _ = writeln!(
                out,
                "| {name} | {:.1} | {:.1} / {:.1} | {:.1} | {:.1} | {:.1} | {:.1} | {:.1} | {:.1} | {:.1} | {:.0} | {} | {} |",
                tally.count as f64 / n,
                each.ws_in,
                each.ws_out,
                each.rest_requests,
                each.invocations,
                each.dynamodb_calls,
                each.write_units,
                each.read_units,
                each.stream_records,
                each.pushes,
                each.log_bytes,
                micro(each.usd()),
                micro(tally.usage.per(n).usd()),
            );
        }
        let _ = writeln!(
            out,
            "| **conversation** | 1 | {:.1} / {:.1} | {:.1} | {:.1} | {:.1} | {:.1} | {:.1} | {:.1} | {:.1} | {:.0} | | **{}** |\n",
            per.ws_in,
            per.ws_out,
            per.rest_requests,
            per.invocations,
            per.dynamodb_calls,
            per.write_units,
            per.read_units,
            per.stream_records,
            per.pushes,
            per.log_bytes,
            micro(per.usd()),
        );
        let _ = writeln!(out, "| meter | quantity per conversation | µ$ per conversation | $/1k |");
        let _ = writeln!(out, "|---|---:|---:|---:|");
        for (price, quantity) in per.metered() {
            let _ = writeln!(
                out,
                "| {} — {} | {:.2} | {} | {:.4} |",
                price.service,
                price.unit,
                quantity,
                micro(price.usd * quantity),
                price.usd * quantity * 1000.0
            );
        }
        let _ = writeln!(out, "\n| service | $/1k | share |");
        let _ = writeln!(out, "|---|---:|---:|");
        let total = per.usd();
        for (service, usd) in per.by_service() {
            let share = if total > 0.0 { usd / total * 100.0 } else { 0.0 };
            let _ = writeln!(out, "| {service} | {:.4} | {share:.0}% |", usd * 1000.0);
        }
        let _ = writeln!(out, "| **total** | **{:.4}** | |\n", total * 1000.0);
        let _ = writeln!(
            out,
            "| DynamoDB's request units billed another way | DynamoDB $/1k | total $/1k |\n|---|---:|---:|"
        );
        let _ = writeln!(
            out,
            "| on demand (the tables above) | {:.4} | {:.4} |",
            per.dynamodb_usd() * 1000.0,
            total * 1000.0
        );
        let _ = writeln!(
            out,
            "| provisioned capacity used at {:.0}% | {:.4} | {:.4} |",
            prices::PROVISIONED_UTILIZATION * 100.0,
            per.dynamodb_provisioned_usd() * 1000.0,
            per.usd_with_provisioned_dynamodb() * 1000.0
        );
        let _ = writeln!(
            out,
            "| without DynamoDB (every other meter alone) | 0 | {:.4} |\n",
            (total - per.dynamodb_usd()) * 1000.0
        );
        let _ = writeln!(out, "billed Lambda ms per conversation (estimated): {:.0}\n", per.billed_ms);
    }
    let _ = writeln!(out, "## Prices ({}, {})\n", prices::REGION, prices::PRICES_DATE);
    let _ = writeln!(out, "| service | unit | $ per million units | source |");
    let _ = writeln!(out, "|---|---|---:|---|");
    for price in ALL {
        let _ = writeln!(
            out,
            "| {} | {} | {:.4} | {} |",
            price.service,
            price.unit,
            price.usd * 1e6,
            price.source
        );
    }
    let _ = writeln!(
        out,
        "\nNot in the totals: DynamoDB provisioned capacity, ${} per write and ${} per read capacity unit-hour \
         ({}); used at {:.0}% that is ${:.4} per million write and ${:.4} per million read request units.\n",
        prices::DYNAMODB_WCU_HOUR.usd,
        prices::DYNAMODB_RCU_HOUR.usd,
        prices::DYNAMODB_WCU_HOUR.source,
        prices::PROVISIONED_UTILIZATION * 100.0,
        prices::provisioned_unit_usd(prices::DYNAMODB_WCU_HOUR) * 1e6,
        prices::provisioned_unit_usd(prices::DYNAMODB_RCU_HOUR) * 1e6,
    );
    if let Some(main) = measured.first() {
        let _ = writeln!(out, "{}", detail(main));
        let _ = writeln!(out, "\nusd_per_1000_conversations={:.4}", main.usd_per_1000());
    }
    out
}

/// Per action of `measured`, the DynamoDB units per index and key pattern, per occurrence.
fn detail(measured: &Measured) -> String {
    let mut out = format!("## Where `{}`'s DynamoDB units go (per occurrence)\n\n", measured.profile.name());
    out.push_str("| action | index | key | WCU | RCU |\n|---|---|---|---:|---:|\n");
    for (name, tally) in &measured.actions {
        let Some(patterns) = measured.patterns.get(name) else { continue };
        let times = tally.count.max(1) as f64;
        for ((index, key), units) in patterns {
            let _ = writeln!(
                out,
                "| {name} | {index} | `{key}` | {:.2} | {:.2} |",
                units.write / times,
                units.read / times
            );
        }
    }
    out.push_str(&format!(
        "\n## What `{}`'s actions send and run (per occurrence)\n\n",
        measured.profile.name()
    ));
    out.push_str("| action | frames and functions |\n|---|---|\n");
    for (name, tally) in &measured.actions {
        let Some(counts) = measured.counts.get(name) else { continue };
        let times = tally.count.max(1) as f64;
        let listed: Vec<String> =
            counts.iter().map(|(what, n)| format!("{what} ×{:.2}", n / times)).collect();
        let _ = writeln!(out, "| {name} | {} |", listed.join("; "));
    }
    out
}
