//! The cost benchmark meters what a client can count itself: run one conversation of the main
//! profile and check the billed quantities it reports against the script.

use switchboard_bench::cost::profiles::{Profile, MESSAGES_PER_SIDE};
use switchboard_bench::cost::{self, report};

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(1)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_websocket_conversation_is_metered_as_api_gateway_bills_it() {
    let measured = cost::measure(&[Profile::WebSocket], 1, now_ms()).await.expect("the profile runs");
    let main = &measured[0];
    let per = main.per_conversation();
    let action = |name: &str| {
        main.actions.iter().find(|(action, _)| *action == name).map(|(_, tally)| *tally).expect(name)
    };

    // Every frame the client sent is one message in: 20 typing starts (all but the first carrying
    // the read of the message before), 20 sends, the last message's read, each side's subscribe.
    let messages = (2 * MESSAGES_PER_SIDE) as f64;
    assert_eq!(per.ws_in, 2.0 * messages + 1.0 + 2.0);
    let send = action("send a message (WebSocket)");
    assert_eq!(send.count, 2 * MESSAGES_PER_SIDE as u64);
    // A send reaches the other side and answers the sender at least: two messages out.
    assert!(send.usage.ws_out / send.count as f64 >= 2.0, "{send:?}");
    // Its write is a DynamoDB write, priced from the items' real sizes.
    assert!(send.usage.write_units / send.count as f64 >= 1.0, "{send:?}");
    // Both sides were connected for the conversation's ten minutes.
    assert!(per.connection_minutes >= 20.0, "{per:?}");
    // The report's last line is the main profile's total.
    let text = report::markdown(&measured);
    let last = text.lines().last().unwrap_or_default();
    assert_eq!(last, format!("usd_per_1000_conversations={:.4}", main.usd_per_1000()));
    assert!(main.usd_per_1000() > 0.0);
    // The same units on provisioned capacity cost less, and the total says so beside on demand.
    let provisioned = per.usd_with_provisioned_dynamodb();
    assert!(provisioned < per.usd() && per.dynamodb_usd() > 0.0, "{per:?}");
    let row = format!(
        "| provisioned capacity used at 70% | {:.4} | {:.4} |",
        per.dynamodb_provisioned_usd() * 1000.0,
        provisioned * 1000.0
    );
    assert!(text.contains(&row), "{row} missing from the report");
}
